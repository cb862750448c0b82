export { IsolatedVmExecutor } from './isolated-vm-executor.js';
export type { ExecutorMode, IsolatedVmExecutorOptions } from './isolated-vm-executor.js';
export { IsolateSandbox } from './isolate-sandbox.js';
export type { IsolateSandboxOptions, RealmMode, SandboxRequest } from './isolate-sandbox.js';
export { isolatedVmExecutor } from './plugin.js';
export { WorkerProcessPool } from './worker-process-pool.js';
export type { WorkerProcessPoolOptions } from './worker-process-pool.js';
export { DEFAULT_POOL_POLICY } from '@beddel/memory-pool';
export type { PoolPolicy, TenantPoolStats } from '@beddel/memory-pool';
