export { DEFAULT_POOL_POLICY, TenantPoolLedger } from './tenant-pool-ledger.js';
export type { EvictionReason, ExecutionReport, PoolPolicy, RecycleReason, RetainedMemoryProbe, TenantPoolStats } from './tenant-pool-ledger.js';
