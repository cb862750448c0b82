export { DEFAULT_POOL_POLICY, TenantPoolLedger } from './tenant-pool-ledger.js';
export type { EvictionReason, ExecutionReport, PoolPolicy, RecycleReason, TenantPoolStats } from './tenant-pool-ledger.js';
