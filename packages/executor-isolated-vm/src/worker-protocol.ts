import type { ExecutablePlan, ExecutionLimits, ExecutionOutcome, GuestCapabilities } from '@beddel/contracts';
import type { PoolPolicy, TenantPoolStats } from '@beddel/memory-pool';
import type { RealmMode } from './isolate-sandbox.js';

/** What a sandbox worker needs to know, resolved by the supervisor (no defaults in the worker). */
export interface WorkerSettings {
  /** The isolate pool policy, complete (maxTenants included). */
  readonly pool: PoolPolicy;
  readonly realm: RealmMode;
}

/**
 * Host -> worker. `configure` is the first message; the worker answers `ready` once configured.
 * The plan body is sent only when the worker may not know it yet.
 */
export type HostMessage =
  | { readonly type: 'configure'; readonly settings: WorkerSettings }
  | {
      readonly type: 'run';
      readonly id: number;
      readonly tenantId: string;
      readonly planId: string;
      readonly plan?: ExecutablePlan;
      readonly inputJson: string;
      readonly limits: Pick<ExecutionLimits, 'timeoutMs' | 'memoryLimitMb' | 'maxOutputBytes'>;
      readonly capabilities?: GuestCapabilities;
      readonly heapSnapshotPath?: string;
    }
  | { readonly type: 'evict'; readonly tenantId: string };

/** Worker -> host. */
export type WorkerMessage =
  | { readonly type: 'ready' }
  /** The worker picked this execution and runs it now (it may run them in another order than sent). */
  | { readonly type: 'started'; readonly id: number }
  | { readonly type: 'result'; readonly id: number; readonly outcome: ExecutionOutcome }
  | { readonly type: 'unknown-plan'; readonly id: number }
  | { readonly type: 'stats'; readonly stats: TenantPoolStats };
