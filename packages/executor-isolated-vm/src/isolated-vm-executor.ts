import { ErrorCodes, noopMetrics, silentLogger } from '@beddel/contracts';
import type { ExecutionOutcome, ExecutionRequest, Executor, Logger, MetricsSink } from '@beddel/contracts';
import { InProcessBackend } from './in-process-backend.js';
import type { SandboxBackend, SandboxPoolStats } from './sandbox-backend.js';
import { WorkerProcessPool, resolveExecutorOptions } from './worker-process-pool.js';
import type { WorkerProcessPoolOptions } from './worker-process-pool.js';

export type ExecutorMode = 'supervised' | 'in-process';

export interface IsolatedVmExecutorOptions extends Omit<WorkerProcessPoolOptions, 'logger' | 'metrics'> {
  /**
   * `supervised` (default): isolates live in child processes that the host kills and replaces
   * when guest code crashes V8, exhausts memory or misses its deadline.
   * `in-process`: isolates live in this process. Faster, but one out-of-memory abort in any
   * tenant's code ends the host process, and guest code blocks the host's event loop while it
   * runs. Needs Node started with --no-node-snapshot. Only for hosts that accept that risk.
   */
  readonly mode?: ExecutorMode;
  readonly logger?: Logger;
  readonly metrics?: MetricsSink;
}

/** The Executor contract on isolated-vm, over one `SandboxBackend` chosen by `mode`. */
export class IsolatedVmExecutor implements Executor {
  readonly mode: ExecutorMode;
  private readonly backend: SandboxBackend;
  /** The supervised backend, for its process ids and restarts (undefined in-process). */
  private readonly pool: WorkerProcessPool | undefined;
  private started: Promise<void> | undefined;
  private closed = false;

  constructor(options: IsolatedVmExecutorOptions = {}) {
    this.mode = options.mode ?? 'supervised';
    if (this.mode === 'in-process') {
      this.backend = new InProcessBackend(resolveExecutorOptions(options).worker);
    } else {
      this.pool = new WorkerProcessPool({ ...options, logger: options.logger ?? silentLogger, metrics: options.metrics ?? noopMetrics });
      this.backend = this.pool;
    }
  }

  /** Starts the worker processes; `execute` also starts them on first use. */
  start(): Promise<void> {
    this.started ??= this.backend.start();
    return this.started;
  }

  /** Live shared worker process ids (supervised mode): regular workers, then burst workers, so memory totals count every process. */
  get workerPids(): readonly (number | undefined)[] {
    return this.pool === undefined ? [] : [...this.pool.pids, ...this.pool.burstPids];
  }

  get workerRestarts(): number {
    return this.pool?.restarts ?? 0;
  }

  async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
    if (this.closed) {
      return { ok: false, error: { code: ErrorCodes.ENGINE_CLOSED, message: 'The executor is closed.' }, metrics: { durationMs: 0, cpuMs: 0, heapBytes: 0 } };
    }
    await this.start();
    return this.backend.execute(request);
  }

  evictTenant(tenantId: string): Promise<void> {
    return this.backend.evictTenant(tenantId);
  }

  /** Isolate pool statistics: per worker in supervised mode, of this process in-process. */
  poolStats(): readonly SandboxPoolStats[] {
    return this.backend.poolStats();
  }

  /** Process ids of dedicated workers, by tenant (supervised mode). */
  get dedicatedWorkerPids(): ReadonlyMap<string, number | undefined> {
    return this.pool?.dedicatedPids ?? new Map<string, number | undefined>();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.backend.close();
  }
}
