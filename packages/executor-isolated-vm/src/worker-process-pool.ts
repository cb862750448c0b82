import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, MetricNames, noopMetrics, silentLogger } from '@beddel/contracts';
import type { ExecutionFailure, ExecutionOutcome, ExecutionRequest, Logger, MetricsSink } from '@beddel/contracts';
import type { PoolPolicy, TenantPoolStats } from '@beddel/memory-pool';
import type { RealmMode } from './isolate-sandbox.js';
import type { HostMessage, WorkerMessage } from './worker-protocol.js';

export interface WorkerProcessPoolOptions {
  /** A fixed number of sandbox processes (sets both minWorkers and maxWorkers). */
  readonly workers?: number;
  /** Fewest sandbox processes kept running. Default 1. */
  readonly minWorkers?: number;
  /** Most sandbox processes under load. Default: the number of CPUs, at most 4. */
  readonly maxWorkers?: number;
  /** A worker idle this long is retired (down to minWorkers). Default 30 s. */
  readonly scaleDownIdleMs?: number;
  /** Extra time past the execution timeout before the supervisor kills a silent worker. */
  readonly deadlineGraceMs?: number;
  /** Isolates one worker keeps warm before evicting the least recently used tenant. */
  readonly maxTenantsPerWorker?: number;
  /** Executions waiting for one worker before new ones fail with BEDDEL_OVERLOADED. */
  readonly maxQueuePerWorker?: number;
  /**
   * Executions sent to a worker ahead of its answers (default 2), so the worker never idles
   * during an IPC round trip. The worker still runs them one at a time, in order.
   */
  readonly pipelineDepth?: number;
  /** Longest an execution may wait for its worker before failing with BEDDEL_OVERLOADED. */
  readonly maxQueueWaitMs?: number;
  /** Isolate pool policy of each worker: recycling, idle eviction, memory budget. */
  readonly pool?: Partial<PoolPolicy>;
  /** `fresh` (default) or `frozen` realm per execution; see IsolateSandboxOptions.realm. */
  readonly realm?: RealmMode;
  readonly logger?: Logger;
  readonly metrics?: MetricsSink;
  /** Path of the worker entry script; defaults to the compiled `worker-main.js` of this package. */
  readonly workerEntry?: string;
}

interface Pending {
  readonly request: ExecutionRequest;
  readonly resolve: (outcome: ExecutionOutcome) => void;
  readonly enqueuedAt: number;
  waitTimer: NodeJS.Timeout | undefined;
  sentAt: number;
  startedAt: number;
  messageId: number;
}

type KillReason = 'deadline' | 'out-of-memory' | 'closing';

/** Lines V8 prints when a heap is exhausted. After them the process may hang instead of exiting. */
const V8_OOM_MARKERS = ['<--- Last few GCs --->', 'JavaScript heap out of memory', 'Fatal JavaScript invalid size error', 'Fatal process out of memory'];
const STDERR_TAIL_CHARS = 4096;
const MAX_START_FAILURES = 3;

/**
 * One supervised sandbox process: a host-side queue of executions, `pipelineDepth` of them sent
 * ahead (the worker runs them one at a time, in order), a deadline on the running one enforced
 * from outside, and a replacement when the process dies.
 */
class SupervisedWorker {
  private child: ChildProcess | undefined;
  private ready = false;
  private readonly queue: Pending[] = [];
  /** Sent, not yet answered, in the order the worker will run them; the first is running. */
  private readonly inFlight: Pending[] = [];
  private deadlineTimer: NodeJS.Timeout | undefined;
  private killReason: KillReason | undefined;
  private stderrTail = '';
  private knownPlans = new Set<string>();
  private startFailures = 0;
  private nextMessageId = 1;
  private closed = false;
  private readyWaiters: Array<() => void> = [];
  restarts = 0;

  constructor(
    /** Metrics label: the worker's index, or `tenant:<id>` for a dedicated worker. */
    readonly label: string,
    private readonly entry: string,
    private readonly options: Required<Pick<WorkerProcessPoolOptions, 'deadlineGraceMs' | 'maxTenantsPerWorker' | 'maxQueuePerWorker' | 'pipelineDepth' | 'maxQueueWaitMs' | 'pool' | 'realm'>>,
    private readonly logger: Logger,
    private readonly metrics: MetricsSink,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get pending(): number {
    return this.queue.length + this.inFlight.length;
  }

  /** How long the worker has had nothing to do (0 while busy). */
  get idleMs(): number {
    return this.pending > 0 ? 0 : performance.now() - this.lastActiveAt;
  }

  private lastActiveAt = performance.now();

  start(): Promise<void> {
    this.spawn();
    return new Promise((resolve) => {
      if (this.ready) resolve();
      else this.readyWaiters.push(resolve);
    });
  }

  submit(request: ExecutionRequest): Promise<ExecutionOutcome> {
    this.lastActiveAt = performance.now();
    if (this.closed) return Promise.resolve(failed(ErrorCodes.ENGINE_CLOSED, 'The executor is closed.'));
    if (this.queue.length >= this.options.maxQueuePerWorker) {
      return Promise.resolve(failed(ErrorCodes.OVERLOADED, `The sandbox worker queue is full (${this.options.maxQueuePerWorker} waiting).`));
    }
    return new Promise((resolve) => {
      const pending: Pending = { request, resolve, enqueuedAt: performance.now(), sentAt: 0, startedAt: 0, messageId: 0, waitTimer: undefined };
      this.queue.push(pending);
      this.pump();
      if (this.queue.includes(pending)) {
        pending.waitTimer = setTimeout(() => this.expire(pending), this.options.maxQueueWaitMs);
      }
    });
  }

  evict(tenantId: string): void {
    if (this.ready) this.post({ type: 'evict', tenantId });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) {
      if (pending.waitTimer !== undefined) clearTimeout(pending.waitTimer);
      pending.resolve(failed(ErrorCodes.ENGINE_CLOSED, 'The executor was closed before this execution started.'));
    }
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    this.killReason = 'closing';
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  private spawn(): void {
    if (this.closed) return;
    this.ready = false;
    this.knownPlans = new Set();
    this.stderrTail = '';
    this.killReason = undefined;
    const child = fork(this.entry, [`--max-tenants=${this.options.maxTenantsPerWorker}`, `--pool=${JSON.stringify(this.options.pool)}`, `--realm=${this.options.realm}`], {
      execArgv: ['--no-node-snapshot'],
      serialization: 'json',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.onStderr(child, chunk));
    child.on('message', (message: WorkerMessage) => this.onMessage(child, message));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    child.on('error', (error) => this.logger.error('sandbox worker error', { worker: this.label, error: error.message }));
  }

  private onStderr(child: ChildProcess, chunk: string): void {
    this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
    if (child === this.child && this.killReason === undefined && V8_OOM_MARKERS.some((marker) => this.stderrTail.includes(marker))) {
      // V8 gave up on a heap; the process may now hang rather than exit. Do not wait for it.
      this.killReason = 'out-of-memory';
      child.kill('SIGKILL');
    }
  }

  private onMessage(child: ChildProcess, message: WorkerMessage): void {
    if (child !== this.child) return;
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.startFailures = 0;
        for (const waiter of this.readyWaiters.splice(0)) waiter();
        this.pump();
        return;
      case 'stats':
        this.recordStats(message.stats);
        return;
      case 'unknown-plan': {
        const pending = this.takeInFlight(message.id);
        if (pending === undefined) return;
        // The worker dropped this plan from its cache: send it again, with the plan, at the back.
        this.knownPlans.delete(pending.request.plan.id);
        this.inFlight.push(pending);
        this.send(pending);
        this.armDeadline();
        return;
      }
      case 'result': {
        const pending = this.takeInFlight(message.id);
        if (pending === undefined) return;
        this.lastActiveAt = performance.now();
        pending.resolve(message.outcome);
        this.armDeadline();
        this.pump();
        return;
      }
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.clearDeadline();
    const wasReady = this.ready;
    this.ready = false;
    const reason = this.killReason;
    // The worker runs what it was sent in order, so only the first was running: it fails, and
    // the rest, which never started, go back to the front of the queue for the replacement.
    const [running, ...notStarted] = this.inFlight.splice(0);
    if (running !== undefined) running.resolve(this.failureFor(reason, running, code, signal));
    if (this.closed) {
      for (const pending of notStarted) pending.resolve(failed(ErrorCodes.ENGINE_CLOSED, 'The executor was closed before this execution started.'));
      return;
    }
    this.queue.unshift(...notStarted);
    this.restarts += 1;
    this.metrics.increment(MetricNames.workerRestarts, { worker: this.label, reason: reason ?? 'crashed' });
    if (!wasReady) this.startFailures += 1;
    this.logger.warn('sandbox worker exited; starting a replacement', {
      worker: this.label,
      code,
      signal,
      reason: reason ?? 'crashed',
      stderr: this.stderrTail.slice(-500),
    });
    if (this.startFailures >= MAX_START_FAILURES) {
      // The worker cannot even start (bad flags, missing build): fail what waits rather than spin.
      const message = `The sandbox worker cannot start: ${this.stderrTail.trim().slice(-300) || `exit code ${String(code)}`}`;
      for (const waiting of this.queue.splice(0)) waiting.resolve(failed(ErrorCodes.WORKER_CRASHED, message));
      for (const waiter of this.readyWaiters.splice(0)) waiter();
      setTimeout(() => this.spawn(), 1000).unref();
      return;
    }
    this.spawn();
  }

  private failureFor(reason: KillReason | undefined, pending: Pending, code: number | null, signal: NodeJS.Signals | null): ExecutionOutcome {
    const durationMs = performance.now() - Math.max(pending.sentAt, pending.startedAt);
    switch (reason) {
      case 'deadline':
        return failed(ErrorCodes.TIMEOUT, 'The transformation did not finish within its time limit; its sandbox process was stopped and replaced.', durationMs);
      case 'out-of-memory':
        return failed(ErrorCodes.MEMORY_LIMIT, 'The transformation exhausted the sandbox memory; its sandbox process was stopped and replaced.', durationMs);
      case 'closing':
        return failed(ErrorCodes.ENGINE_CLOSED, 'The executor was closed during this execution.', durationMs);
      default:
        return failed(
          ErrorCodes.WORKER_CRASHED,
          `The sandbox process died during this execution (${signal ?? `exit code ${String(code)}`}); a replacement was started.`,
          durationMs,
        );
    }
  }

  private pump(): void {
    if (!this.ready || this.closed) return;
    while (this.inFlight.length < this.options.pipelineDepth) {
      const next = this.queue.shift();
      if (next === undefined) break;
      if (next.waitTimer !== undefined) clearTimeout(next.waitTimer);
      this.inFlight.push(next);
      this.metrics.observe(MetricNames.queueWait, (performance.now() - next.enqueuedAt) / 1000, { worker: this.label });
      this.send(next);
    }
    this.metrics.set(MetricNames.workerQueueDepth, this.queue.length, { worker: this.label });
    this.armDeadline();
  }

  /** Pool statistics the worker reported last. */
  stats: TenantPoolStats | undefined;

  private recordStats(stats: TenantPoolStats): void {
    const previous = this.stats;
    this.stats = stats;
    const labels = { worker: this.label };
    this.metrics.set(MetricNames.poolTenants, stats.tenants, labels);
    this.metrics.set(MetricNames.poolHeapBytes, stats.accountedHeapBytes, labels);
    for (const [reason, count] of Object.entries(stats.evictions)) {
      const delta = count - (previous?.evictions[reason as keyof TenantPoolStats['evictions']] ?? 0);
      if (delta > 0) this.metrics.increment(MetricNames.tenantEvictions, { reason }, delta);
    }
    for (const [reason, count] of Object.entries(stats.recycles)) {
      const delta = count - (previous?.recycles[reason as keyof TenantPoolStats['recycles']] ?? 0);
      if (delta > 0) this.metrics.increment(MetricNames.isolateRecycles, { reason }, delta);
    }
  }

  /** An execution that waited too long for its worker fails instead of waiting forever. */
  private expire(pending: Pending): void {
    const index = this.queue.indexOf(pending);
    if (index < 0) return;
    this.queue.splice(index, 1);
    pending.resolve(failed(ErrorCodes.OVERLOADED, `No sandbox capacity within ${this.options.maxQueueWaitMs} ms; the execution did not run.`));
  }

  private takeInFlight(messageId: number): Pending | undefined {
    const index = this.inFlight.findIndex((pending) => pending.messageId === messageId);
    if (index < 0) return undefined;
    const [pending] = this.inFlight.splice(index, 1);
    if (index === 0) this.clearDeadline();
    return pending;
  }

  /**
   * The first in-flight execution is the one running; its deadline counts from when it started
   * (sent to an idle worker, or the previous one answered).
   */
  private armDeadline(): void {
    const running = this.inFlight[0];
    if (running === undefined || this.deadlineTimer !== undefined) return;
    running.startedAt = Math.max(running.sentAt, performance.now());
    this.deadlineTimer = setTimeout(() => this.onDeadline(), running.request.limits.timeoutMs + this.options.deadlineGraceMs);
  }

  private send(pending: Pending): void {
    const { request } = pending;
    const known = this.knownPlans.has(request.plan.id);
    pending.sentAt = performance.now();
    pending.messageId = this.nextMessageId++;
    this.post({
      type: 'run',
      id: pending.messageId,
      tenantId: request.tenantId,
      planId: request.plan.id,
      ...(known ? {} : { plan: request.plan }),
      inputJson: request.inputJson,
      limits: { timeoutMs: request.limits.timeoutMs, memoryLimitMb: request.limits.memoryLimitMb, maxOutputBytes: request.limits.maxOutputBytes },
      ...(request.capabilities === undefined ? {} : { capabilities: request.capabilities }),
      ...(request.heapSnapshotPath === undefined ? {} : { heapSnapshotPath: request.heapSnapshotPath }),
    });
    this.knownPlans.add(request.plan.id);
  }

  private onDeadline(): void {
    const child = this.child;
    if (child === undefined || this.inFlight.length === 0) return;
    // The isolate's own timeout did not fire (code parked outside it, or the worker hung).
    this.killReason = 'deadline';
    child.kill('SIGKILL');
  }

  private clearDeadline(): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
  }

  private post(message: HostMessage): void {
    this.child?.send(message);
  }
}

function failed(code: ExecutionFailure['code'], message: string, durationMs = 0): ExecutionOutcome {
  return { ok: false, error: { code, message }, metrics: { durationMs, cpuMs: 0, heapBytes: 0 } };
}

function defaultWorkerEntry(): string {
  const sibling = fileURLToPath(new URL('./worker-main.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  // Running from TypeScript sources (tests): use the compiled worker of this package.
  return fileURLToPath(new URL('../dist/worker-main.js', import.meta.url));
}

/**
 * Supervised sandbox processes, autoscaled between `minWorkers` and `maxWorkers`.
 *
 * - A tenant sticks to the worker it was assigned (its isolate stays warm there). New tenants go
 *   to the least busy worker; when every worker is busy and the pool may grow, a new worker starts.
 * - A tenant whose worker is busy moves to an idle worker (or a new one); it stays warm on both.
 * - Workers idle past `scaleDownIdleMs` are retired, down to `minWorkers`.
 * - A worker that crashes, runs out of memory or misses a deadline is killed and replaced; only
 *   its running execution fails.
 */
export class WorkerProcessPool {
  private readonly workers: SupervisedWorker[] = [];
  /** tenant -> the worker holding its warm isolate. */
  private readonly assignments = new Map<string, SupervisedWorker>();
  /** Workers of tenants whose profile demands a process of their own, started on first use. */
  private readonly dedicated = new Map<string, SupervisedWorker>();
  private readonly newWorker: (label: string) => SupervisedWorker;
  private readonly minWorkers: number;
  private readonly maxWorkers: number;
  private readonly busyDepth: number;
  private readonly scaleDownIdleMs: number;
  private readonly metrics: MetricsSink;
  private scaleTimer: NodeJS.Timeout | undefined;
  private nextLabel = 0;
  private retiredRestarts = 0;

  constructor(options: WorkerProcessPoolOptions = {}) {
    const cpus = Math.min(4, availableParallelism());
    this.minWorkers = Math.max(1, Math.floor(options.workers ?? options.minWorkers ?? 1));
    this.maxWorkers = Math.max(this.minWorkers, Math.floor(options.workers ?? options.maxWorkers ?? cpus));
    this.scaleDownIdleMs = options.scaleDownIdleMs ?? 30_000;
    const entry = options.workerEntry ?? defaultWorkerEntry();
    const settings = {
      deadlineGraceMs: options.deadlineGraceMs ?? 1000,
      maxTenantsPerWorker: options.maxTenantsPerWorker ?? 256,
      maxQueuePerWorker: options.maxQueuePerWorker ?? 10_000,
      pipelineDepth: Math.max(1, options.pipelineDepth ?? 2),
      maxQueueWaitMs: options.maxQueueWaitMs ?? 30_000,
      pool: options.pool ?? {},
      realm: options.realm ?? 'fresh',
    };
    this.busyDepth = settings.pipelineDepth;
    const logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? noopMetrics;
    this.newWorker = (label) => new SupervisedWorker(label, entry, settings, logger, this.metrics);
    for (let i = 0; i < this.minWorkers; i++) this.workers.push(this.newWorker(String(this.nextLabel++)));
  }

  get size(): number {
    return this.workers.length;
  }

  /** Process ids of the live shared workers, for diagnostics and crash tests. */
  get pids(): readonly (number | undefined)[] {
    return this.workers.map((worker) => worker.pid);
  }

  get restarts(): number {
    return this.retiredRestarts + this.workers.reduce((sum, worker) => sum + worker.restarts, 0);
  }

  /** Index (in `pids`) of the worker that serves this tenant, assigning one if needed. */
  workerFor(tenantId: string): number {
    return this.workers.indexOf(this.assignments.get(tenantId) ?? this.assign(tenantId));
  }

  async start(): Promise<void> {
    this.scaleTimer ??= setInterval(() => this.scaleDown(), Math.min(1000, this.scaleDownIdleMs)).unref();
    this.metrics.set(MetricNames.workers, this.workers.length);
    await Promise.all(this.workers.map((worker) => worker.start()));
  }

  /** The latest pool statistics of each worker (reported every 2 s). */
  poolStats(): ReadonlyArray<{ readonly worker: string; readonly pid: number | undefined; readonly stats: TenantPoolStats | undefined }> {
    return [...this.workers, ...this.dedicated.values()].map((worker) => ({ worker: worker.label, pid: worker.pid, stats: worker.stats }));
  }

  /** Process ids of dedicated workers, by tenant. */
  get dedicatedPids(): ReadonlyMap<string, number | undefined> {
    return new Map([...this.dedicated].map(([tenantId, worker]) => [tenantId, worker.pid]));
  }

  execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
    if (request.dedicatedWorker === true) return this.dedicatedWorker(request.tenantId).submit(request);
    return this.assign(request.tenantId).submit(request);
  }

  async evictTenant(tenantId: string): Promise<void> {
    this.assignments.get(tenantId)?.evict(tenantId);
    this.assignments.delete(tenantId);
    const dedicated = this.dedicated.get(tenantId);
    this.dedicated.delete(tenantId);
    await dedicated?.close();
  }

  async close(): Promise<void> {
    if (this.scaleTimer !== undefined) clearInterval(this.scaleTimer);
    await Promise.all([...this.workers, ...this.dedicated.values()].map((worker) => worker.close()));
    this.dedicated.clear();
    this.assignments.clear();
  }

  private assign(tenantId: string): SupervisedWorker {
    const current = this.assignments.get(tenantId);
    if (current !== undefined && current.pending < this.busyDepth) return current;
    let chosen: SupervisedWorker | undefined;
    if (current !== undefined) {
      // Its worker is busy: use an idle worker (or a new one, if the pool may grow). The isolate
      // left on the old worker stays warm in its pool, so a hot tenant ends up warm on several.
      chosen = this.workers.find((worker) => worker !== current && worker.pending === 0) ?? this.grow() ?? current;
    } else {
      const leastBusy = this.leastBusy();
      chosen = leastBusy !== undefined && leastBusy.pending < this.busyDepth ? leastBusy : (this.grow() ?? leastBusy);
    }
    if (chosen === undefined) throw new Error('WorkerProcessPool has no workers');
    this.assignments.set(tenantId, chosen);
    return chosen;
  }

  private leastBusy(): SupervisedWorker | undefined {
    let best: SupervisedWorker | undefined;
    for (const worker of this.workers) if (best === undefined || worker.pending < best.pending) best = worker;
    return best;
  }

  private grow(): SupervisedWorker | undefined {
    if (this.workers.length >= this.maxWorkers) return undefined;
    const worker = this.newWorker(String(this.nextLabel++));
    this.workers.push(worker);
    this.metrics.set(MetricNames.workers, this.workers.length);
    // Submissions queue until the worker reports ready.
    void worker.start();
    return worker;
  }

  /** Retires one worker idle past `scaleDownIdleMs`, while above `minWorkers`. */
  private scaleDown(): void {
    if (this.workers.length <= this.minWorkers) return;
    const retiring = [...this.workers].reverse().find((worker) => worker.idleMs >= this.scaleDownIdleMs);
    if (retiring === undefined) return;
    this.workers.splice(this.workers.indexOf(retiring), 1);
    for (const [tenantId, worker] of this.assignments) if (worker === retiring) this.assignments.delete(tenantId);
    this.retiredRestarts += retiring.restarts;
    this.metrics.set(MetricNames.workers, this.workers.length);
    void retiring.close();
  }

  private dedicatedWorker(tenantId: string): SupervisedWorker {
    let worker = this.dedicated.get(tenantId);
    if (worker === undefined) {
      worker = this.newWorker(`tenant:${tenantId}`);
      this.dedicated.set(tenantId, worker);
      // Submissions queue until the worker reports ready.
      void worker.start();
    }
    return worker;
  }
}
