import type { ExecutionOutcome, ExecutionRequest } from '@beddel/contracts';
import type { TenantPoolStats } from '@beddel/memory-pool';

/** Pool statistics of one process that holds isolates. */
export interface SandboxPoolStats {
  readonly worker: string;
  readonly pid: number | undefined;
  readonly stats: TenantPoolStats | undefined;
}

/**
 * Where isolates live, behind one contract: `InProcessBackend` (this process) and
 * `WorkerProcessPool` (supervised child processes, the default). `IsolatedVmExecutor` picks one by
 * `mode` and knows nothing else about it.
 */
export interface SandboxBackend {
  /** Gets the backend ready; `execute` works before it resolves too (it waits or starts lazily). */
  start(): Promise<void>;
  /** Runs one request; resolves with an outcome for every tenant behaviour, never rejects for it. */
  execute(request: ExecutionRequest): Promise<ExecutionOutcome>;
  /** Drops a tenant's isolates (eviction by the engine). */
  evictTenant(tenantId: string): Promise<void>;
  poolStats(): readonly SandboxPoolStats[];
  close(): Promise<void>;
}
