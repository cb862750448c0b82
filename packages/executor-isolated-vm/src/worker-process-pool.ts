import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, MetricNames, noopMetrics, silentLogger } from '@beddel/contracts';
import type { ExecutionFailure, ExecutionOutcome, ExecutionRequest, Logger, MetricsSink } from '@beddel/contracts';
import { DEFAULT_POOL_POLICY } from '@beddel/memory-pool';
import type { PoolPolicy, TenantPoolStats } from '@beddel/memory-pool';
import type { RealmMode } from './isolate-sandbox.js';
import type { SandboxBackend } from './sandbox-backend.js';
import type { HostMessage, WorkerMessage, WorkerSettings } from './worker-protocol.js';

export interface WorkerProcessPoolOptions {
  /** A fixed number of sandbox processes (sets both minWorkers and maxWorkers). */
  readonly workers?: number;
  /** Fewest sandbox processes kept running. Default 1. */
  readonly minWorkers?: number;
  /** Most sandbox processes under load. Default: the number of CPUs, at most 4. */
  readonly maxWorkers?: number;
  /** A worker idle this long is retired (down to minWorkers). Default 30 s. */
  readonly scaleDownIdleMs?: number;
  /**
   * Extra sandbox processes beyond `maxWorkers` for light tenants (default 1; 0 turns them off).
   * Scheduling is non-preemptive: when every worker is running other tenants' executions, a
   * tenant with nothing in flight whose recent runs were short (`burstMaxRunMs`) runs on a burst
   * worker, where the OS time-slices the cores, instead of waiting for a running execution to end.
   * A tenant with work in flight (a flooder) is never sent there. One is started, as a warm spare,
   * as soon as every worker is busy; they retire when idle like the others.
   */
  readonly burstWorkers?: number;
  /**
   * Longest recent run (wall time, ms) of a tenant that may still use a burst worker. Default 50.
   * A long run is remembered for a few short ones: each later run halves it (or replaces it, if longer).
   */
  readonly burstMaxRunMs?: number;
  /** Extra time past the execution timeout before the supervisor kills a silent worker. */
  readonly deadlineGraceMs?: number;
  /**
   * Isolates one worker keeps warm before evicting the least recently used tenant; the same as
   * `pool.maxTenants` (this one wins when both are set). Default 256.
   */
  readonly maxTenantsPerWorker?: number;
  /**
   * Executions waiting in the pool, per worker the pool may have (`maxWorkers`), before new ones
   * fail with BEDDEL_OVERLOADED. Default 10,000.
   */
  readonly maxQueuePerWorker?: number;
  /** Executions one tenant may have waiting before its new ones fail with BEDDEL_OVERLOADED. Default 1,000. */
  readonly maxQueuePerTenant?: number;
  /**
   * Executions sent to a worker ahead of its answers (default 2), so the worker never idles
   * during an IPC round trip. A tenant with nothing in flight may be sent past this depth (up to
   * twice it), and the worker runs what it holds least-recently-served tenant first, so such a
   * tenant never waits behind another tenant's pipelined executions.
   */
  readonly pipelineDepth?: number;
  /** Longest an execution may wait for its worker before failing with BEDDEL_OVERLOADED. */
  readonly maxQueueWaitMs?: number;
  /** Isolate pool policy of each worker: recycling, idle eviction, memory budget. */
  readonly pool?: Partial<PoolPolicy>;
  /** `fresh` (default) or `frozen` realm per execution; see IsolateSandboxOptions.realm. */
  readonly realm?: RealmMode;
  /** Resident-memory ceiling of each sandbox process, watched in /proc (see MemoryCeilingOptions). */
  readonly memoryCeiling?: MemoryCeilingOptions;
  readonly logger?: Logger;
  readonly metrics?: MetricsSink;
  /** Path of the worker entry script; defaults to the compiled `worker-main.js` of this package. */
  readonly workerEntry?: string;
}

/**
 * Memory that `memoryLimit` does not count (ICU objects, parser zones, flattened strings, buffers
 * V8 places outside its heap) grows the worker process, not the isolate. The supervisor reads each
 * busy worker's resident memory (VmRSS) from /proc every `pollIntervalMs`, and after each result.
 */
export interface MemoryCeilingOptions {
  /**
   * Resident memory past which the running execution fails with BEDDEL_MEMORY_LIMIT and the worker
   * is replaced (the other executions it held are requeued). Default: the pool's
   * `memoryBudgetBytes` (warm isolates) + 768 MiB, so 1.25 GiB with the default budget.
   */
  readonly maxRssBytes?: number;
  /**
   * Growth of resident memory during one execution past which it fails with BEDDEL_MEMORY_LIMIT
   * (while it runs, or when its result shows it) and the worker is replaced. Default: twice the
   * execution's `memoryLimitMb` + 64 MiB (192 MiB for a 64 MB isolate).
   */
  readonly maxGrowthBytes?: number;
  /**
   * Resident memory past which a worker is recycled after a result: nothing more is sent to it,
   * it finishes what it holds and is replaced, failing nothing (memory that stays after a run).
   * Default: the pool's `memoryBudgetBytes` + 256 MiB (768 MiB with the default budget; 256 warm
   * tenants measured 411 MiB).
   */
  readonly recycleRssBytes?: number;
  /** How often a busy worker's resident memory is read. Default 25 ms. */
  readonly pollIntervalMs?: number;
}

export interface ResolvedMemoryCeiling {
  readonly maxRssBytes: number;
  /** undefined: derived from each execution's memoryLimitMb. */
  readonly maxGrowthBytes: number | undefined;
  readonly recycleRssBytes: number;
  readonly pollIntervalMs: number;
}

const MIB = 1024 * 1024;

function resolveMemoryCeiling(options: MemoryCeilingOptions | undefined, memoryBudgetBytes: number): ResolvedMemoryCeiling {
  return {
    maxRssBytes: options?.maxRssBytes ?? memoryBudgetBytes + 768 * MIB,
    maxGrowthBytes: options?.maxGrowthBytes,
    recycleRssBytes: options?.recycleRssBytes ?? memoryBudgetBytes + 256 * MIB,
    pollIntervalMs: Math.max(5, options?.pollIntervalMs ?? 25),
  };
}

function growthCeiling(ceiling: ResolvedMemoryCeiling, request: ExecutionRequest): number {
  return ceiling.maxGrowthBytes ?? (2 * request.limits.memoryLimitMb + 64) * MIB;
}

/** Resident memory of a process from /proc, or undefined where there is no /proc (or it exited). */
function residentBytes(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux architecture (`getconf CLK_TCK`). */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (user + system, all threads) a process has used, in ms, from /proc/<pid>/stat. */
function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces or parentheses: state is the first.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/** Signals a V8 fatal error ends a process with (abort, or a trap/illegal instruction in release builds). */
const V8_FATAL_SIGNALS: ReadonlySet<string> = new Set(['SIGABRT', 'SIGTRAP', 'SIGILL']);

interface Pending {
  readonly request: ExecutionRequest;
  readonly resolve: (outcome: ExecutionOutcome) => void;
  readonly enqueuedAt: number;
  waitTimer: NodeJS.Timeout | undefined;
  sentAt: number;
  /** When the worker started it (its `started` message), or when it was presumed to start. */
  startedAt: number;
  messageId: number;
  /** The worker's CPU time and resident memory when it started this execution (from /proc). */
  cpuMsAtStart: number | undefined;
  rssAtStart: number | undefined;
}

type KillReason = 'deadline' | 'out-of-memory' | 'memory-ceiling' | 'recycle' | 'closing';

/** Lines V8 prints when a heap is exhausted. After them the process may hang instead of exiting. */
const V8_OOM_MARKERS = ['<--- Last few GCs --->', 'JavaScript heap out of memory', 'Fatal JavaScript invalid size error', 'Fatal process out of memory'];
const STDERR_TAIL_CHARS = 4096;
const MAX_START_FAILURES = 3;

/** Every setting of the executor with its default applied: the one place defaults live. */
export interface ResolvedExecutorOptions {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly scaleDownIdleMs: number;
  readonly burstWorkers: number;
  readonly burstMaxRunMs: number;
  readonly deadlineGraceMs: number;
  readonly pipelineDepth: number;
  readonly maxQueuePerWorker: number;
  readonly maxQueuePerTenant: number;
  readonly maxQueueWaitMs: number;
  readonly memoryCeiling: ResolvedMemoryCeiling;
  /** Sent to each worker in its `configure` message; also what the in-process sandbox uses. */
  readonly worker: WorkerSettings;
  readonly workerEntry: string;
}

export function resolveExecutorOptions(options: Omit<WorkerProcessPoolOptions, 'logger' | 'metrics'>): ResolvedExecutorOptions {
  const minWorkers = Math.max(1, Math.floor(options.workers ?? options.minWorkers ?? 1));
  const pool: PoolPolicy = {
    ...DEFAULT_POOL_POLICY,
    ...options.pool,
    maxTenants: Math.max(1, Math.floor(options.maxTenantsPerWorker ?? options.pool?.maxTenants ?? DEFAULT_POOL_POLICY.maxTenants)),
  };
  return {
    minWorkers,
    maxWorkers: Math.max(minWorkers, Math.floor(options.workers ?? options.maxWorkers ?? Math.min(4, availableParallelism()))),
    scaleDownIdleMs: options.scaleDownIdleMs ?? 30_000,
    burstWorkers: Math.max(0, Math.floor(options.burstWorkers ?? 1)),
    burstMaxRunMs: Math.max(0, options.burstMaxRunMs ?? 50),
    deadlineGraceMs: options.deadlineGraceMs ?? 1000,
    pipelineDepth: Math.max(1, Math.floor(options.pipelineDepth ?? 2)),
    maxQueuePerWorker: Math.max(0, options.maxQueuePerWorker ?? 10_000),
    maxQueuePerTenant: Math.max(0, options.maxQueuePerTenant ?? 1000),
    maxQueueWaitMs: options.maxQueueWaitMs ?? 30_000,
    memoryCeiling: resolveMemoryCeiling(options.memoryCeiling, pool.memoryBudgetBytes),
    worker: { pool, realm: options.realm ?? 'fresh' },
    workerEntry: options.workerEntry ?? defaultWorkerEntry(),
  };
}

/** What a worker needs from the group that schedules onto it. */
interface WorkerHost {
  /** The worker has room again (ready, an answer, a replacement): send it what waits. */
  dispatch(): void;
  /** Executions the worker was sent but never started (it died): they run elsewhere, first. */
  requeue(pendings: readonly Pending[]): void;
  /** The worker cannot start at all: fail what waits for it rather than spin. */
  cannotStart(worker: SupervisedWorker, message: string): void;
}

/**
 * One supervised sandbox process: the executions sent to it (at most `2 * pipelineDepth`), a
 * deadline on the running one enforced from outside, and a replacement when the process dies.
 * It has no queue of its own: the group keeps the per-tenant queues and sends when it has room.
 */
class SupervisedWorker {
  private child: ChildProcess | undefined;
  private ready = false;
  /** Sent, not yet answered, by message id, in the order they were sent. */
  private readonly inFlight = new Map<number, Pending>();
  /** The execution the worker said it started (`started`); undefined between executions. */
  private running: Pending | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private deadlineFor: Pending | undefined;
  private killReason: KillReason | undefined;
  /** Why the memory ceiling was crossed, for the failure message. */
  private killDetail = '';
  /** The worker's CPU time just before the supervisor killed it, or as last read while busy. */
  private cpuMsAtKill: number | undefined;
  private lastCpuMs: number | undefined;
  private memoryTimer: NodeJS.Timeout | undefined;
  /** Over its soft memory ceiling: nothing more is sent; replaced once what it holds is done. */
  private draining = false;
  private stderrTail = '';
  private knownPlans = new Set<string>();
  private startFailures = 0;
  private nextMessageId = 1;
  private closed = false;
  private readyWaiters: Array<() => void> = [];
  private host: WorkerHost | undefined;
  restarts = 0;

  constructor(
    /** Metrics label: the worker's index, `burst-<n>` for a burst worker, or `tenant:<id>` for a dedicated worker. */
    readonly label: string,
    /** Beyond maxWorkers, for light tenants only (see `WorkerProcessPoolOptions.burstWorkers`). */
    readonly burst: boolean,
    private readonly options: ResolvedExecutorOptions,
    private readonly logger: Logger,
    private readonly metrics: MetricsSink,
  ) {}

  attach(host: WorkerHost): void {
    this.host = host;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Ready for executions: started, not closing. */
  get accepting(): boolean {
    return this.ready && !this.closed && !this.draining;
  }

  get starting(): boolean {
    return !this.ready && !this.closed;
  }

  /** Its last start failed (it exited before `ready`): waiting for it may mean waiting for nothing. */
  get failingToStart(): boolean {
    return this.startFailures > 0;
  }

  /** How long the worker has had nothing to do (0 while busy). */
  get idleMs(): number {
    return this.inFlight.size > 0 ? 0 : performance.now() - this.lastActiveAt;
  }

  private lastActiveAt = performance.now();

  /** Whether this tenant has anything sent to this worker and not yet answered. */
  holds(tenantId: string): boolean {
    for (const pending of this.inFlight.values()) if (pending.request.tenantId === tenantId) return true;
    return false;
  }

  /**
   * Room for one more execution: a pipeline slot, or, for a tenant with nothing in flight on any
   * worker (`mayOvertake`), one of the extra slots that let it overtake pipelined executions of
   * other tenants. A flooding tenant always has something in flight, so it never takes them.
   */
  canTake(mayOvertake: boolean): boolean {
    if (!this.accepting) return false;
    if (this.inFlight.size < this.options.pipelineDepth) return true;
    return mayOvertake && this.inFlight.size < 2 * this.options.pipelineDepth;
  }

  /** Room for at least a tenant with nothing in flight. */
  get hasRoom(): boolean {
    return this.accepting && this.inFlight.size < 2 * this.options.pipelineDepth;
  }

  hasPipelineSlot(): boolean {
    return this.accepting && this.inFlight.size < this.options.pipelineDepth;
  }

  start(): Promise<void> {
    this.spawn();
    return new Promise((resolve) => {
      if (this.ready) resolve();
      else this.readyWaiters.push(resolve);
    });
  }

  evict(tenantId: string): void {
    if (this.ready) this.post({ type: 'evict', tenantId });
  }

  async close(): Promise<void> {
    this.closed = true;
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
    this.killDetail = '';
    this.cpuMsAtKill = undefined;
    this.lastCpuMs = undefined;
    this.draining = false;
    this.running = undefined;
    const child = fork(this.options.workerEntry, [], {
      execArgv: ['--no-node-snapshot'],
      serialization: 'json',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child = child;
    // The first message; the worker answers `ready` once configured.
    this.post({ type: 'configure', settings: this.options.worker });
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
      this.kill('out-of-memory');
    }
  }

  private onMessage(child: ChildProcess, message: WorkerMessage): void {
    if (child !== this.child) return;
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.startFailures = 0;
        for (const waiter of this.readyWaiters.splice(0)) waiter();
        this.host?.dispatch();
        return;
      case 'stats':
        this.recordStats(message.stats);
        return;
      case 'started': {
        const pending = this.inFlight.get(message.id);
        if (pending === undefined) return;
        this.running = pending;
        this.markStarted(pending);
        this.armDeadline();
        return;
      }
      case 'unknown-plan': {
        const pending = this.inFlight.get(message.id);
        if (pending === undefined) return;
        // The worker dropped this plan from its cache: send it again, with the plan.
        this.inFlight.delete(message.id);
        this.knownPlans.delete(pending.request.plan.id);
        this.send(pending);
        return;
      }
      case 'result': {
        const pending = this.inFlight.get(message.id);
        if (pending === undefined) return;
        this.inFlight.delete(message.id);
        if (this.running === pending) this.running = undefined;
        this.lastActiveAt = performance.now();
        pending.resolve(this.checkMemoryAfter(pending, message.outcome));
        this.armDeadline();
        if (this.inFlight.size === 0) this.stopMemoryWatch();
        if (this.draining && this.inFlight.size === 0) this.kill('recycle');
        this.host?.dispatch();
        return;
      }
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.clearDeadline();
    this.stopMemoryWatch();
    const wasReady = this.ready;
    this.ready = false;
    const reason = this.killReason;
    // Only the execution that was running fails; the others never started and run elsewhere. A
    // worker that never said what it started is taken to have run the oldest it was sent, so
    // a request that kills its worker before it reports cannot crash replacements in a loop.
    const running = this.running ?? this.inFlight.values().next().value;
    this.running = undefined;
    const notStarted = [...this.inFlight.values()].filter((pending) => pending !== running);
    this.inFlight.clear();
    if (running !== undefined) running.resolve(this.failureFor(reason, running, code, signal));
    if (this.closed) {
      for (const pending of notStarted) pending.resolve(failed(ErrorCodes.ENGINE_CLOSED, 'The executor was closed before this execution started.'));
      return;
    }
    this.host?.requeue(notStarted);
    this.restarts += 1;
    this.metrics.increment(MetricNames.workerRestarts, { worker: this.label, reason: reason ?? 'crashed' });
    if (!wasReady && reason !== 'recycle') this.startFailures += 1;
    this.logger.warn('sandbox worker exited; starting a replacement', {
      worker: this.label,
      code,
      signal,
      reason: reason ?? 'crashed',
      stderr: this.stderrTail.slice(-500),
    });
    if (this.startFailures >= MAX_START_FAILURES) {
      // The worker cannot even start (bad flags, missing build): fail what waits rather than spin.
      this.host?.cannotStart(this, `The sandbox worker cannot start: ${this.stderrTail.trim().slice(-300) || `exit code ${String(code)}`}`);
      for (const waiter of this.readyWaiters.splice(0)) waiter();
      setTimeout(() => this.spawn(), 1000).unref();
      return;
    }
    this.spawn();
  }

  private failureFor(reason: KillReason | undefined, pending: Pending, code: number | null, signal: NodeJS.Signals | null): ExecutionOutcome {
    const durationMs = performance.now() - Math.max(pending.sentAt, pending.startedAt);
    // The CPU the process spent since this execution started: read just before the kill, or last
    // read while it ran when it died on its own.
    const cpuAtEnd = this.cpuMsAtKill ?? this.lastCpuMs;
    const cpuMs = cpuAtEnd === undefined || pending.cpuMsAtStart === undefined ? 0 : Math.max(0, cpuAtEnd - pending.cpuMsAtStart);
    switch (reason) {
      case 'deadline':
        return failed(ErrorCodes.TIMEOUT, 'The transformation did not finish within its time limit; its sandbox process was stopped and replaced.', durationMs, cpuMs);
      case 'out-of-memory':
        return failed(ErrorCodes.MEMORY_LIMIT, 'The transformation exhausted the sandbox memory; its sandbox process was stopped and replaced.', durationMs, cpuMs);
      case 'memory-ceiling':
        return failed(ErrorCodes.MEMORY_LIMIT, `The transformation grew its sandbox process past its resident-memory ceiling (${this.killDetail}); the process was stopped and replaced.`, durationMs, cpuMs);
      case 'closing':
        return failed(ErrorCodes.ENGINE_CLOSED, 'The executor was closed during this execution.', durationMs, cpuMs);
      default:
        if (signal !== null && V8_FATAL_SIGNALS.has(signal)) {
          // A V8 fatal error (heap exhausted, most often) aborts the process; this holds however
          // little of V8's banner reached stderr, or how late.
          return failed(ErrorCodes.MEMORY_LIMIT, `V8 aborted the sandbox process (${signal}) during this execution, as it does when a heap is exhausted; a replacement was started.`, durationMs, cpuMs);
        }
        return failed(
          ErrorCodes.WORKER_CRASHED,
          `The sandbox process died during this execution (${signal ?? `exit code ${String(code)}`}); a replacement was started.`,
          durationMs,
          cpuMs,
        );
    }
  }

  /** CPU time and resident memory at the start of an execution, for its metrics and growth ceiling. */
  private markStarted(pending: Pending): void {
    pending.startedAt = performance.now();
    const pid = this.child?.pid;
    pending.cpuMsAtStart = pid === undefined ? undefined : processCpuMs(pid);
    pending.rssAtStart = pid === undefined ? undefined : residentBytes(pid);
    this.memoryTimer ??= setInterval(() => this.pollMemory(), this.options.memoryCeiling.pollIntervalMs);
  }

  private stopMemoryWatch(): void {
    if (this.memoryTimer !== undefined) clearInterval(this.memoryTimer);
    this.memoryTimer = undefined;
  }

  /** While an execution runs: past the hard ceiling (absolute, or its growth), it fails now. */
  private pollMemory(): void {
    const pid = this.child?.pid;
    if (pid === undefined || this.killReason !== undefined) return;
    const rss = residentBytes(pid);
    this.lastCpuMs = processCpuMs(pid) ?? this.lastCpuMs;
    const target = this.running ?? this.deadlineFor;
    if (rss === undefined || target === undefined) return;
    const ceiling = this.options.memoryCeiling;
    if (rss > ceiling.maxRssBytes) {
      this.killDetail = `${mib(rss)} MiB resident, ceiling ${mib(ceiling.maxRssBytes)} MiB`;
      this.kill('memory-ceiling');
      return;
    }
    const growth = target.rssAtStart === undefined ? 0 : rss - target.rssAtStart;
    if (growth > growthCeiling(ceiling, target.request)) {
      this.killDetail = `grew ${mib(growth)} MiB during the execution, ceiling ${mib(growthCeiling(ceiling, target.request))} MiB`;
      this.kill('memory-ceiling');
    }
  }

  /**
   * After a result: an execution whose growth passed the hard ceiling between two reads still
   * fails, and the worker is recycled; a worker merely over the soft ceiling is recycled.
   */
  private checkMemoryAfter(pending: Pending, outcome: ExecutionOutcome): ExecutionOutcome {
    const pid = this.child?.pid;
    const rss = pid === undefined ? undefined : residentBytes(pid);
    if (rss === undefined) return outcome;
    const ceiling = this.options.memoryCeiling;
    const growth = pending.rssAtStart === undefined ? 0 : rss - pending.rssAtStart;
    const overGrowth = growth > growthCeiling(ceiling, pending.request);
    if (overGrowth || rss > ceiling.recycleRssBytes) {
      this.draining = true;
      this.logger.warn('sandbox worker over its memory ceiling; recycling it', { worker: this.label, residentMiB: mib(rss), growthMiB: mib(growth) });
    }
    if (!overGrowth || (!outcome.ok && outcome.error.code === ErrorCodes.MEMORY_LIMIT)) return outcome;
    return {
      ok: false,
      error: {
        code: ErrorCodes.MEMORY_LIMIT,
        message: `The transformation grew its sandbox process past its resident-memory ceiling (grew ${mib(growth)} MiB, ceiling ${mib(growthCeiling(ceiling, pending.request))} MiB); the process is being replaced.`,
      },
      metrics: outcome.metrics,
    };
  }

  /** Kills the process now, noting why and the CPU it had used. */
  private kill(reason: KillReason): void {
    const child = this.child;
    if (child === undefined) return;
    this.killReason = reason;
    if (child.pid !== undefined) this.cpuMsAtKill = processCpuMs(child.pid);
    child.kill('SIGKILL');
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

  /** Sends an execution (the group chose it, and checked `canTake`). */
  send(pending: Pending): void {
    const { request } = pending;
    const known = this.knownPlans.has(request.plan.id);
    pending.sentAt = performance.now();
    pending.messageId = this.nextMessageId++;
    this.inFlight.set(pending.messageId, pending);
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
    this.armDeadline();
  }

  /**
   * The deadline covers the execution the worker said it started; until it says, the oldest
   * execution sent is presumed running from when it was sent to an idle worker (or the previous
   * answer came), so a worker that never answers is still stopped.
   */
  private armDeadline(): void {
    const target = this.running ?? this.inFlight.values().next().value;
    if (target === this.deadlineFor && (target === undefined || this.deadlineTimer !== undefined)) return;
    this.clearDeadline();
    if (target === undefined) return;
    if (target.startedAt === 0) this.markStarted(target);
    this.deadlineFor = target;
    const remainingMs = target.startedAt + target.request.limits.timeoutMs + this.options.deadlineGraceMs - performance.now();
    this.deadlineTimer = setTimeout(() => this.onDeadline(), Math.max(0, remainingMs));
  }

  private onDeadline(): void {
    const child = this.child;
    if (child === undefined || this.inFlight.size === 0) return;
    // The isolate's own timeout did not fire (code parked outside it, or the worker hung).
    this.kill('deadline');
  }

  private clearDeadline(): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.deadlineFor = undefined;
  }

  private post(message: HostMessage): void {
    this.child?.send(message);
  }
}

function failed(code: ExecutionFailure['code'], message: string, durationMs = 0, cpuMs = 0): ExecutionOutcome {
  return { ok: false, error: { code, message }, metrics: { durationMs, cpuMs, heapBytes: 0 } };
}

function mib(bytes: number): number {
  return Math.round(bytes / MIB);
}

function defaultWorkerEntry(): string {
  const sibling = fileURLToPath(new URL('./worker-main.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  // Running from TypeScript sources (tests): use the compiled worker of this package.
  return fileURLToPath(new URL('../dist/worker-main.js', import.meta.url));
}

/**
 * Per-tenant FIFO queues served round-robin: the tenant served last goes to the back of the
 * turn, so a tenant with thousands waiting gets one turn like a tenant with one.
 */
class TenantQueues {
  /** Insertion order is the turn order; a tenant is here only while it has executions waiting. */
  private readonly queues = new Map<string, Pending[]>();
  private total = 0;

  get size(): number {
    return this.total;
  }

  lengthOf(tenantId: string): number {
    return this.queues.get(tenantId)?.length ?? 0;
  }

  push(pending: Pending): void {
    const queue = this.queues.get(pending.request.tenantId);
    if (queue === undefined) this.queues.set(pending.request.tenantId, [pending]);
    else queue.push(pending);
    this.total += 1;
  }

  /** Puts executions back at the front of their tenants' queues, those tenants first in turn. */
  requeue(pendings: readonly Pending[]): void {
    if (pendings.length === 0) return;
    const previous = [...this.queues];
    this.queues.clear();
    for (const pending of pendings) {
      const queue = this.queues.get(pending.request.tenantId);
      if (queue === undefined) this.queues.set(pending.request.tenantId, [pending]);
      else queue.push(pending);
    }
    for (const [tenantId, queue] of previous) {
      const front = this.queues.get(tenantId);
      if (front === undefined) this.queues.set(tenantId, queue);
      else front.push(...queue);
    }
    this.total += pendings.length;
  }

  /** Tenants with executions waiting, in turn order (do not `take` while iterating on). */
  tenantsInTurn(): IterableIterator<string> {
    return this.queues.keys();
  }

  firstInTurn(): string | undefined {
    return this.queues.keys().next().value;
  }

  /** The tenant's oldest execution; the tenant goes to the back of the turn. */
  take(tenantId: string): Pending | undefined {
    const queue = this.queues.get(tenantId);
    const pending = queue?.shift();
    if (queue === undefined || pending === undefined) return undefined;
    this.queues.delete(tenantId);
    if (queue.length > 0) this.queues.set(tenantId, queue);
    this.total -= 1;
    return pending;
  }

  remove(pending: Pending): boolean {
    const queue = this.queues.get(pending.request.tenantId);
    const index = queue?.indexOf(pending) ?? -1;
    if (queue === undefined || index < 0) return false;
    queue.splice(index, 1);
    if (queue.length === 0) this.queues.delete(pending.request.tenantId);
    this.total -= 1;
    return true;
  }

  drain(): Pending[] {
    const all = [...this.queues.values()].flat();
    this.queues.clear();
    this.total = 0;
    return all;
  }
}

interface GroupLimits {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  /** Workers beyond maxWorkers for light tenants; 0 for a dedicated tenant's group. */
  readonly burstWorkers: number;
  readonly burstMaxRunMs: number;
  readonly maxQueue: number;
  readonly maxQueuePerTenant: number;
  readonly maxQueueWaitMs: number;
}

/** Tenants whose run length the group remembers (the least recently run are forgotten first). */
const MAX_RUN_HISTORY = 4096;

/**
 * Workers scheduled from one set of per-tenant queues: the shared workers, or the one worker of a
 * dedicated tenant. Whenever a worker has room, the next tenant in round-robin turn is sent to it.
 * A tenant goes to the worker holding its warm isolate when that worker is idle, else to an idle
 * worker (work-conserving: a lone tenant gets every worker), else back to its own worker's
 * pipeline, else to a new one while the group may grow; a tenant with nothing in flight may
 * overtake a busy worker's pipelined executions (see `SupervisedWorker.canTake`).
 *
 * Burst capacity: scheduling is non-preemptive, so when every worker is running other tenants'
 * executions, a light tenant (nothing in flight, recent runs short) would still wait for a running
 * execution, however long. It runs on a burst worker instead, one of at most `burstWorkers`
 * processes beyond `maxWorkers`, and the OS time-slices the cores between it and the busy ones.
 */
class WorkerGroup implements WorkerHost {
  /** The regular workers, between minWorkers and maxWorkers. */
  readonly workers: SupervisedWorker[] = [];
  readonly burstWorkers: SupervisedWorker[] = [];
  /** tenant -> the worker holding its warm isolate. */
  readonly assignments = new Map<string, SupervisedWorker>();
  private readonly queues = new TenantQueues();
  /**
   * tenant -> how long its runs hold a worker (ms), for burst eligibility: its last run's wall
   * time, or half the previous value if that is more, so one long run is remembered for a few
   * short ones (a tenant alternating short and long runs cannot put each long one on a burst worker).
   */
  private readonly recentRunMs = new Map<string, number>();
  private closed = false;
  retiredRestarts = 0;

  constructor(
    private readonly limits: GroupLimits,
    private readonly newWorker: (burst: boolean) => SupervisedWorker,
    private readonly metrics: MetricsSink,
    private readonly label: string,
  ) {
    for (let i = 0; i < limits.minWorkers; i++) this.add(newWorker(false));
  }

  /** Regular and burst workers. */
  get allWorkers(): SupervisedWorker[] {
    return [...this.workers, ...this.burstWorkers];
  }

  get restarts(): number {
    return this.retiredRestarts + this.allWorkers.reduce((sum, worker) => sum + worker.restarts, 0);
  }

  start(): Promise<void> {
    return Promise.all(this.workers.map((worker) => worker.start())).then(() => undefined);
  }

  submit(request: ExecutionRequest): Promise<ExecutionOutcome> {
    if (this.closed) return Promise.resolve(failed(ErrorCodes.ENGINE_CLOSED, 'The executor is closed.'));
    return new Promise((resolve) => {
      const pending: Pending = {
        request,
        resolve: (outcome) => {
          // Only an execution that started says how long this tenant's runs hold a worker.
          if (pending.startedAt !== 0) this.noteRun(request.tenantId, outcome.metrics.durationMs);
          resolve(outcome);
        },
        enqueuedAt: performance.now(),
        sentAt: 0,
        startedAt: 0,
        messageId: 0,
        waitTimer: undefined,
        cpuMsAtStart: undefined,
        rssAtStart: undefined,
      };
      this.queues.push(pending);
      this.dispatch();
      if (pending.sentAt !== 0) return;
      // It has to wait: within the caps, and for a bounded time.
      if (this.queues.lengthOf(request.tenantId) > this.limits.maxQueuePerTenant) {
        this.queues.remove(pending);
        resolve(failed(ErrorCodes.OVERLOADED, `The queue of tenant "${request.tenantId}" is full (${this.limits.maxQueuePerTenant} waiting, maxQueuePerTenant); the execution did not run.`));
        return;
      }
      if (this.queues.size > this.limits.maxQueue) {
        this.queues.remove(pending);
        resolve(failed(ErrorCodes.OVERLOADED, `The sandbox queue is full (${this.limits.maxQueue} waiting); the execution did not run.`));
        return;
      }
      pending.waitTimer = setTimeout(() => this.expire(pending), this.limits.maxQueueWaitMs);
      this.metrics.set(MetricNames.workerQueueDepth, this.queues.size, { worker: this.label });
    });
  }

  /** Sends waiting executions, one tenant at a time in round-robin turn, while workers have room. */
  dispatch(): void {
    if (this.closed) return;
    let sent = true;
    while (sent && this.queues.size > 0) {
      sent = false;
      if (!this.allWorkers.some((worker) => worker.hasRoom)) {
        // Every worker is full: no tenant can be placed, but the pool may still grow for them.
        this.growForWaiting();
        break;
      }
      let chosen: { tenantId: string; worker: SupervisedWorker } | undefined;
      for (const tenantId of this.queues.tenantsInTurn()) {
        const worker = this.placeFor(tenantId);
        if (worker === undefined) continue;
        chosen = { tenantId, worker };
        break;
      }
      if (chosen === undefined) break;
      const pending = this.queues.take(chosen.tenantId);
      if (pending === undefined) break;
      if (pending.waitTimer !== undefined) clearTimeout(pending.waitTimer);
      this.metrics.observe(MetricNames.queueWait, (performance.now() - pending.enqueuedAt) / 1000, { worker: chosen.worker.label });
      chosen.worker.send(pending);
      // The turn starts again from the front: the tenant just served is now at the back.
      sent = true;
    }
    this.keepBurstSpare();
    this.metrics.set(MetricNames.workerQueueDepth, this.queues.size, { worker: this.label });
  }

  /** The worker this tenant's next execution goes to now, or undefined to wait. */
  private placeFor(tenantId: string): SupervisedWorker | undefined {
    const nothingInFlight = !this.allWorkers.some((worker) => worker.holds(tenantId));
    if (nothingInFlight && this.saturated && this.ranShort(tenantId)) {
      const placed = this.placeOnBurst(tenantId);
      if (placed !== 'no-burst-room') return placed;
    }
    // Burst workers are for light tenants only: a flooder never follows its assignment there.
    const assigned = this.assignments.get(tenantId);
    const own = assigned?.burst === true ? undefined : assigned;
    if (own !== undefined && own.accepting && own.inFlightCount === 0) return own;
    // An idle worker before a pipeline slot behind a running execution, even the tenant's own: a
    // tenant with two runs at a time gets two workers, not one worker and a wait.
    const idle = this.workers.find((worker) => worker.accepting && worker.inFlightCount === 0);
    if (idle !== undefined) return this.assign(tenantId, idle);
    if (own?.hasPipelineSlot() === true) return own;
    // Assigned to a worker still starting (grown for it, or being replaced): its isolate will be
    // warm there, and the wait is bounded by a process start.
    if (own?.starting === true) return undefined;
    if (!this.workers.some((worker) => worker.starting || worker.hasPipelineSlot())) {
      const grown = this.grow();
      // Its isolate will be warm there: it waits for the new worker unless room appears first.
      if (grown !== undefined) {
        this.assignments.set(tenantId, grown);
        return undefined;
      }
    }
    if (own?.canTake(nothingInFlight) === true) return own;
    let best: SupervisedWorker | undefined;
    for (const worker of this.workers) {
      if (worker.canTake(nothingInFlight) && (best === undefined || worker.inFlightCount < best.inFlightCount)) best = worker;
    }
    return best === undefined ? undefined : this.assign(tenantId, best);
  }

  /**
   * A light tenant while every regular worker is busy: an idle burst worker (its own first), else
   * the one starting (a process start, ~100-300 ms, is shorter than most runs it would wait for),
   * else a new one within `burstWorkers`, else the burst worker with the shortest pipeline (it
   * holds only light tenants' runs). `no-burst-room`: none can take it, use the regular workers.
   */
  private placeOnBurst(tenantId: string): SupervisedWorker | undefined | 'no-burst-room' {
    if (this.limits.burstWorkers === 0) return 'no-burst-room';
    const assigned = this.assignments.get(tenantId);
    const idle = assigned?.burst === true && assigned.accepting && assigned.inFlightCount === 0 ? assigned : this.burstWorkers.find((worker) => worker.accepting && worker.inFlightCount === 0);
    if (idle !== undefined) return this.assign(tenantId, idle);
    // Not one that failed to start: light tenants would wait for it until maxQueueWaitMs.
    const starting = this.burstWorkers.find((worker) => worker.starting && !worker.failingToStart) ?? this.growBurst();
    if (starting !== undefined) {
      this.assignments.set(tenantId, starting);
      return undefined;
    }
    let best: SupervisedWorker | undefined;
    for (const worker of this.burstWorkers) {
      if (worker.canTake(true) && (best === undefined || worker.inFlightCount < best.inFlightCount)) best = worker;
    }
    return best === undefined ? 'no-burst-room' : this.assign(tenantId, best);
  }

  /**
   * The group may not grow, something runs, and no regular worker is free now: a newcomer would
   * wait for a running execution, or for a worker being replaced (a tenant whose runs kill their
   * worker keeps one starting) or draining.
   */
  private get saturated(): boolean {
    return (
      this.workers.length >= this.limits.maxWorkers &&
      this.workers.some((worker) => worker.inFlightCount > 0) &&
      !this.workers.some((worker) => worker.accepting && worker.inFlightCount === 0)
    );
  }

  /** Whether this tenant's recent runs were short enough for a burst worker (unknown: yes). */
  private ranShort(tenantId: string): boolean {
    return (this.recentRunMs.get(tenantId) ?? 0) <= this.limits.burstMaxRunMs;
  }

  private noteRun(tenantId: string, durationMs: number): void {
    const previous = this.recentRunMs.get(tenantId) ?? 0;
    this.recentRunMs.delete(tenantId);
    this.recentRunMs.set(tenantId, Math.max(durationMs, previous / 2));
    if (this.recentRunMs.size > MAX_RUN_HISTORY) {
      const oldest = this.recentRunMs.keys().next().value;
      if (oldest !== undefined) this.recentRunMs.delete(oldest);
    }
  }

  /**
   * A burst worker is started as soon as the pool is saturated, not when a light tenant first
   * needs it: a start takes ~100-300 ms here (fork + isolated-vm load), which would otherwise be
   * added to that tenant's first run. Measured in burst-capacity.test.ts: the victim's first run
   * during a flood then waits for (part of) a start, and every later run takes a few ms.
   */
  private keepBurstSpare(): void {
    // Not while a regular worker starts: it will be free soon, and two process starts at once slow
    // each other down (a light tenant that finds no burst worker still starts one on demand).
    if (this.burstWorkers.length === 0 && this.saturated && !this.workers.some((worker) => worker.starting)) this.growBurst();
  }

  private growForWaiting(): void {
    if (this.workers.some((worker) => worker.starting)) return;
    const tenantId = this.queues.firstInTurn();
    const grown = tenantId === undefined ? undefined : this.grow();
    if (tenantId !== undefined && grown !== undefined) this.assignments.set(tenantId, grown);
  }

  private assign(tenantId: string, worker: SupervisedWorker): SupervisedWorker {
    this.assignments.set(tenantId, worker);
    return worker;
  }

  /** Index (in `workers`) of the regular worker that serves this tenant, assigning one if needed. */
  workerFor(tenantId: string): number {
    const assigned = this.assignments.get(tenantId);
    if (assigned !== undefined && !assigned.burst) return this.workers.indexOf(assigned);
    let best: SupervisedWorker | undefined;
    for (const worker of this.workers) if (best === undefined || worker.inFlightCount < best.inFlightCount) best = worker;
    if (best === undefined) return -1;
    this.assignments.set(tenantId, best);
    return this.workers.indexOf(best);
  }

  requeue(pendings: readonly Pending[]): void {
    for (const pending of pendings) {
      pending.sentAt = 0;
      pending.startedAt = 0;
    }
    this.queues.requeue(pendings);
    // dispatch() runs when the replacement (or another worker) has room.
    queueMicrotask(() => this.dispatch());
  }

  cannotStart(broken: SupervisedWorker, message: string): void {
    for (const [tenantId, worker] of this.assignments) if (worker === broken) this.assignments.delete(tenantId);
    if (this.allWorkers.some((worker) => worker.accepting)) {
      this.dispatch();
      return;
    }
    for (const pending of this.queues.drain()) {
      if (pending.waitTimer !== undefined) clearTimeout(pending.waitTimer);
      pending.resolve(failed(ErrorCodes.WORKER_CRASHED, message));
    }
  }

  /** An execution that waited too long for a worker fails instead of waiting forever. */
  private expire(pending: Pending): void {
    if (!this.queues.remove(pending)) return;
    pending.resolve(failed(ErrorCodes.OVERLOADED, `No sandbox capacity within ${this.limits.maxQueueWaitMs} ms; the execution did not run.`));
  }

  private add(worker: SupervisedWorker): void {
    worker.attach(this);
    (worker.burst ? this.burstWorkers : this.workers).push(worker);
    this.metrics.set(MetricNames.workers, this.workers.length + this.burstWorkers.length);
  }

  private grow(): SupervisedWorker | undefined {
    if (this.closed || this.workers.length >= this.limits.maxWorkers) return undefined;
    return this.started(this.newWorker(false));
  }

  private growBurst(): SupervisedWorker | undefined {
    if (this.closed || this.burstWorkers.length >= this.limits.burstWorkers) return undefined;
    return this.started(this.newWorker(true));
  }

  private started(worker: SupervisedWorker): SupervisedWorker {
    this.add(worker);
    // It asks for work (dispatch) once it reports ready.
    void worker.start();
    return worker;
  }

  /**
   * Retires one worker idle past `idleMs`: a burst worker (except the last one while the pool is
   * saturated: it is the warm spare), or a regular one while above `minWorkers`.
   */
  scaleDown(idleMs: number): void {
    const retiringBurst = this.burstWorkers.length === 1 && this.saturated ? undefined : idleIn(this.burstWorkers, idleMs);
    if (retiringBurst !== undefined) {
      this.retire(retiringBurst);
      return;
    }
    if (this.workers.length > this.limits.minWorkers) {
      const retiring = idleIn(this.workers, idleMs);
      if (retiring !== undefined) this.retire(retiring);
    }
  }

  private retire(retiring: SupervisedWorker): void {
    const list = retiring.burst ? this.burstWorkers : this.workers;
    list.splice(list.indexOf(retiring), 1);
    for (const [tenantId, worker] of this.assignments) if (worker === retiring) this.assignments.delete(tenantId);
    this.retiredRestarts += retiring.restarts;
    this.metrics.set(MetricNames.workers, this.workers.length + this.burstWorkers.length);
    void retiring.close();
  }

  evict(tenantId: string): void {
    // A tenant may be warm on several workers (it moved, or ran on a burst worker).
    for (const worker of this.allWorkers) worker.evict(tenantId);
    this.assignments.delete(tenantId);
    this.recentRunMs.delete(tenantId);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queues.drain()) {
      if (pending.waitTimer !== undefined) clearTimeout(pending.waitTimer);
      pending.resolve(failed(ErrorCodes.ENGINE_CLOSED, 'The executor was closed before this execution started.'));
    }
    await Promise.all(this.allWorkers.map((worker) => worker.close()));
    this.assignments.clear();
  }
}

/** The most recently added worker idle past `idleMs` (and not starting). */
function idleIn(workers: readonly SupervisedWorker[], idleMs: number): SupervisedWorker | undefined {
  return [...workers].reverse().find((worker) => worker.idleMs >= idleMs && !worker.starting);
}

/**
 * Supervised sandbox processes, autoscaled between `minWorkers` and `maxWorkers`, shared fairly
 * between tenants.
 *
 * - Executions wait in per-tenant queues, served round-robin (see `WorkerGroup`); inside a worker,
 *   the least recently served tenant runs next. A tenant's flood delays another tenant by at
 *   most the execution running on its worker, not by the flood's queue.
 * - A tenant goes to the worker holding its warm isolate when it is idle, else to an idle worker,
 *   else to its own worker's pipeline, or a new worker when every worker is busy and the pool may grow.
 * - When every worker is running something, a light tenant (nothing in flight, recent runs short)
 *   runs on a burst worker beyond `maxWorkers` (`burstWorkers`, default 1) instead of waiting
 *   for a running execution of another tenant; a flooder is never sent there.
 * - Workers idle past `scaleDownIdleMs` are retired, down to `minWorkers`.
 * - A worker that crashes, runs out of memory or misses a deadline is killed and replaced; only
 *   its running execution fails, the others it held are requeued.
 */
export class WorkerProcessPool implements SandboxBackend {
  private readonly shared: WorkerGroup;
  /** Groups of one worker for tenants whose profile demands a process of their own, started on first use. */
  private readonly dedicated = new Map<string, WorkerGroup>();
  private readonly newDedicated: (tenantId: string) => WorkerGroup;
  private readonly scaleDownIdleMs: number;
  private readonly metrics: MetricsSink;
  private scaleTimer: NodeJS.Timeout | undefined;

  constructor(options: WorkerProcessPoolOptions = {}) {
    const resolved = resolveExecutorOptions(options);
    this.scaleDownIdleMs = resolved.scaleDownIdleMs;
    const queueLimits = { maxQueuePerTenant: resolved.maxQueuePerTenant, maxQueueWaitMs: resolved.maxQueueWaitMs };
    const logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? noopMetrics;
    let nextLabel = 0;
    let nextBurstLabel = 0;
    this.shared = new WorkerGroup(
      {
        minWorkers: resolved.minWorkers,
        maxWorkers: resolved.maxWorkers,
        burstWorkers: resolved.burstWorkers,
        burstMaxRunMs: resolved.burstMaxRunMs,
        maxQueue: resolved.maxQueuePerWorker * resolved.maxWorkers,
        ...queueLimits,
      },
      (burst) => (burst ? new SupervisedWorker(`burst-${nextBurstLabel++}`, true, resolved, logger, this.metrics) : new SupervisedWorker(String(nextLabel++), false, resolved, logger, this.metrics)),
      this.metrics,
      'shared',
    );
    this.newDedicated = (tenantId) =>
      new WorkerGroup(
        // One tenant only: nobody for a burst worker to serve.
        { minWorkers: 1, maxWorkers: 1, burstWorkers: 0, burstMaxRunMs: 0, maxQueue: resolved.maxQueuePerWorker, ...queueLimits },
        () => new SupervisedWorker(`tenant:${tenantId}`, false, resolved, logger, this.metrics),
        this.metrics,
        `tenant:${tenantId}`,
      );
  }

  /** Regular shared workers (burst workers not counted; see `poolStats`). */
  get size(): number {
    return this.shared.workers.length;
  }

  /** Process ids of the live regular shared workers, for diagnostics and crash tests. */
  get pids(): readonly (number | undefined)[] {
    return this.shared.workers.map((worker) => worker.pid);
  }

  /** Process ids of the live burst workers (beyond maxWorkers, for light tenants). */
  get burstPids(): readonly (number | undefined)[] {
    return this.shared.burstWorkers.map((worker) => worker.pid);
  }

  get restarts(): number {
    return this.shared.restarts;
  }

  /** Index (in `pids`) of the worker that serves this tenant, assigning one if needed. */
  workerFor(tenantId: string): number {
    return this.shared.workerFor(tenantId);
  }

  async start(): Promise<void> {
    this.scaleTimer ??= setInterval(() => this.shared.scaleDown(this.scaleDownIdleMs), Math.min(1000, this.scaleDownIdleMs)).unref();
    this.metrics.set(MetricNames.workers, this.shared.allWorkers.length);
    await this.shared.start();
  }

  /** The latest pool statistics of each worker, burst workers (`burst-<n>`) included (reported every 2 s). */
  poolStats(): ReadonlyArray<{ readonly worker: string; readonly pid: number | undefined; readonly stats: TenantPoolStats | undefined }> {
    return [...this.shared.allWorkers, ...[...this.dedicated.values()].flatMap((group) => group.workers)].map((worker) => ({ worker: worker.label, pid: worker.pid, stats: worker.stats }));
  }

  /** Process ids of dedicated workers, by tenant. */
  get dedicatedPids(): ReadonlyMap<string, number | undefined> {
    return new Map([...this.dedicated].map(([tenantId, group]) => [tenantId, group.workers[0]?.pid]));
  }

  execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
    if (request.dedicatedWorker === true) return this.dedicatedGroup(request.tenantId).submit(request);
    return this.shared.submit(request);
  }

  async evictTenant(tenantId: string): Promise<void> {
    this.shared.evict(tenantId);
    const dedicated = this.dedicated.get(tenantId);
    this.dedicated.delete(tenantId);
    await dedicated?.close();
  }

  async close(): Promise<void> {
    if (this.scaleTimer !== undefined) clearInterval(this.scaleTimer);
    await Promise.all([this.shared, ...this.dedicated.values()].map((group) => group.close()));
    this.dedicated.clear();
  }

  private dedicatedGroup(tenantId: string): WorkerGroup {
    let group = this.dedicated.get(tenantId);
    if (group === undefined) {
      group = this.newDedicated(tenantId);
      this.dedicated.set(tenantId, group);
      // Submissions wait in the group until its worker reports ready.
      void group.start();
    }
    return group;
  }
}
