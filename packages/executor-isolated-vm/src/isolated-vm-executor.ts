import { BeddelError, ErrorCodes, noopMetrics, silentLogger } from '@beddel/contracts';
import type { ExecutionOutcome, ExecutionRequest, Executor, Logger, MetricsSink } from '@beddel/contracts';
import type { TenantPoolStats } from '@beddel/memory-pool';
import { IsolateSandbox } from './isolate-sandbox.js';
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

/** The Executor contract on isolated-vm. */
export class IsolatedVmExecutor implements Executor {
  readonly mode: ExecutorMode;
  private readonly pool: WorkerProcessPool | undefined;
  private readonly sandbox: IsolateSandbox | undefined;
  private started: Promise<void> | undefined;
  private closed = false;

  constructor(options: IsolatedVmExecutorOptions = {}) {
    this.mode = options.mode ?? 'supervised';
    const logger = options.logger ?? silentLogger;
    if (this.mode === 'in-process') {
      assertNoNodeSnapshot();
      const { worker } = resolveExecutorOptions(options);
      this.sandbox = new IsolateSandbox({ pool: worker.pool, realm: worker.realm });
    } else {
      this.pool = new WorkerProcessPool({ ...options, logger, metrics: options.metrics ?? noopMetrics });
    }
  }

  /** Starts the worker processes; `execute` also starts them on first use. */
  start(): Promise<void> {
    this.started ??= this.pool?.start() ?? Promise.resolve();
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
    const sandbox = this.sandbox;
    if (sandbox !== undefined) {
      if (request.heapSnapshotPath !== undefined) return sandbox.runWithHeapSnapshot(request, request.heapSnapshotPath);
      const outcome = sandbox.run(request);
      setImmediate(() => sandbox.prepare(request.tenantId));
      return outcome;
    }
    await this.start();
    // `pool` is always set when `sandbox` is not.
    return (this.pool as WorkerProcessPool).execute(request);
  }

  async evictTenant(tenantId: string): Promise<void> {
    this.sandbox?.evict(tenantId);
    await this.pool?.evictTenant(tenantId);
  }

  /** Isolate pool statistics: per worker in supervised mode, of this process in-process. */
  poolStats(): ReadonlyArray<{ readonly worker: string; readonly pid: number | undefined; readonly stats: TenantPoolStats | undefined }> {
    if (this.sandbox !== undefined) return [{ worker: 'in-process', pid: process.pid, stats: this.sandbox.stats() }];
    return this.pool?.poolStats() ?? [];
  }

  /** Process ids of dedicated workers, by tenant (supervised mode). */
  get dedicatedWorkerPids(): ReadonlyMap<string, number | undefined> {
    return this.pool?.dedicatedPids ?? new Map<string, number | undefined>();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sandbox?.close();
    await this.pool?.close();
  }
}

function assertNoNodeSnapshot(): void {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (!flags.includes('--no-node-snapshot')) {
    throw new BeddelError(
      ErrorCodes.CONFIGURATION,
      'The in-process executor needs Node started with --no-node-snapshot (isolated-vm crashes without it). Start node with that flag or use mode: "supervised".',
    );
  }
}
