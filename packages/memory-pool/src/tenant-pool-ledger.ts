/**
 * Bookkeeping and policy for per-tenant sandbox resources (isolates) in one process. It owns no
 * V8 objects: the executor hands it resources and a `dispose` hook, and asks it what to keep.
 *
 * - Recycling: a resource is disposed after `maxExecutions` executions, when its measured heap
 *   passes `recycleHeapRatio` of its limit, after it hit a limit (timeout, memory), or when the
 *   memory it retains once an execution is over grew more than `maxRetainedBytes` over its
 *   baseline (see `checkRetained`).
 * - Eviction: tenants idle for `idleEvictionMs` are evicted; when adding a resource would exceed
 *   `memoryBudgetBytes` (or `maxTenants`), least-recently-used tenants are evicted first.
 * - Statistics: tenants, accounted heap, evictions and recycles by reason, per-tenant heap.
 */

export interface PoolPolicy {
  /** Recycle an isolate after this many executions. */
  readonly maxExecutions: number;
  /** Recycle an isolate whose used heap passes this share of its memory limit (0-1). */
  readonly recycleHeapRatio: number;
  /** Evict a tenant idle for longer than this. */
  readonly idleEvictionMs: number;
  /** Heap all pooled resources of this process may account for together. */
  readonly memoryBudgetBytes: number;
  /** Tenants kept at once, whatever their size. */
  readonly maxTenants: number;
  /**
   * Recycle a resource whose retained memory (what is left once an execution is over and its
   * garbage collected) exceeds its baseline by more than this, before the tenant's next run:
   * memory an execution leaves behind is a channel to the next execution, which can measure it
   * by how large an allocation still succeeds.
   */
  readonly maxRetainedBytes: number;
}

export const DEFAULT_POOL_POLICY: PoolPolicy = Object.freeze({
  maxExecutions: 10_000,
  recycleHeapRatio: 0.75,
  idleEvictionMs: 5 * 60_000,
  memoryBudgetBytes: 512 * 1024 * 1024,
  maxTenants: 256,
  maxRetainedBytes: 1024 * 1024,
});

export type EvictionReason = 'lru' | 'budget' | 'idle' | 'requested';
export type RecycleReason = 'executions' | 'heap' | 'limit' | 'retained';

export interface ExecutionReport {
  /** Used heap of the resource after the execution, in bytes. */
  readonly heapBytes: number;
  /** The execution hit a limit (timeout, memory); the resource should not be trusted further. */
  readonly hitLimit: boolean;
}

/**
 * How to measure what a resource retains. `inUse` is cheap and, garbage included, never below
 * the retained memory; `afterCollection` collects garbage first, so it is exact but costs a full
 * garbage collection. The ledger asks for the second only when the first is over the threshold.
 */
export interface RetainedMemoryProbe {
  readonly inUse: () => number;
  readonly afterCollection: () => number;
}

export interface TenantPoolStats {
  readonly tenants: number;
  readonly accountedHeapBytes: number;
  readonly memoryBudgetBytes: number;
  readonly evictions: Readonly<Record<EvictionReason, number>>;
  readonly recycles: Readonly<Record<RecycleReason, number>>;
  /** Retained-memory checks, and how many of them needed a garbage collection. */
  readonly retainedChecks: { readonly total: number; readonly collected: number };
  readonly perTenant: ReadonlyArray<{ readonly tenantId: string; readonly heapBytes: number; readonly executions: number; readonly idleMs: number }>;
}

interface Entry<R> {
  readonly resource: R;
  readonly limitBytes: number;
  heapBytes: number;
  /** Retained memory the resource legitimately holds; unknown until `setBaseline`. */
  baselineBytes: number | undefined;
  executions: number;
  lastUsedAt: number;
}

export class TenantPoolLedger<R> {
  private readonly entries = new Map<string, Entry<R>>();
  private readonly evictions: Record<EvictionReason, number> = { lru: 0, budget: 0, idle: 0, requested: 0 };
  private readonly recycles: Record<RecycleReason, number> = { executions: 0, heap: 0, limit: 0, retained: 0 };
  private readonly retainedChecks = { total: 0, collected: 0 };
  readonly policy: PoolPolicy;

  constructor(
    policy: Partial<PoolPolicy>,
    private readonly dispose: (resource: R, tenantId: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.policy = { ...DEFAULT_POOL_POLICY, ...policy };
  }

  get size(): number {
    return this.entries.size;
  }

  /** The tenant's resource, marked as most recently used. */
  get(tenantId: string): R | undefined {
    const entry = this.entries.get(tenantId);
    if (entry === undefined) return undefined;
    this.entries.delete(tenantId);
    this.entries.set(tenantId, entry);
    entry.lastUsedAt = this.now();
    return entry.resource;
  }

  /**
   * Makes room for a new resource of `initialHeapBytes`, evicting least-recently-used tenants
   * while the budget or `maxTenants` would be exceeded. The newest tenant is always admitted,
   * even alone over the budget, so one large tenant still runs.
   */
  add(tenantId: string, resource: R, limitBytes: number, initialHeapBytes: number): void {
    this.evict(tenantId, 'requested', false);
    while (this.entries.size > 0 && (this.entries.size >= this.policy.maxTenants || this.accountedHeap() + initialHeapBytes > this.policy.memoryBudgetBytes)) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.evict(oldest, this.entries.size >= this.policy.maxTenants ? 'lru' : 'budget');
    }
    this.entries.set(tenantId, { resource, limitBytes, heapBytes: initialHeapBytes, baselineBytes: undefined, executions: 0, lastUsedAt: this.now() });
  }

  /**
   * The retained memory of a resource before any tenant code ran in it, measured after a garbage
   * collection. Until it is set, `checkRetained` has nothing to compare against.
   */
  setBaseline(tenantId: string, retainedBytes: number): void {
    const entry = this.entries.get(tenantId);
    if (entry !== undefined) entry.baselineBytes = retainedBytes;
  }

  /**
   * The host added (positive) or dropped (negative) something the resource legitimately keeps, such as
   * a compiled script: `deltaBytes` measured around that change, after garbage collections. Re-measuring the
   * whole baseline instead would absorb whatever an earlier execution left behind into it.
   */
  adjustBaseline(tenantId: string, deltaBytes: number): void {
    const entry = this.entries.get(tenantId);
    if (entry?.baselineBytes !== undefined) entry.baselineBytes = Math.max(0, entry.baselineBytes + deltaBytes);
  }

  /**
   * Call once an execution is over (its context released), before the tenant's next run: disposes
   * the resource and returns 'retained' when it retains more than `maxRetainedBytes` over its
   * baseline. The cheap reading decides alone when it is under the threshold; only above it is a
   * garbage collection paid for, so garbage alone never recycles a resource.
   */
  checkRetained(tenantId: string, probe: RetainedMemoryProbe): RecycleReason | null {
    const entry = this.entries.get(tenantId);
    if (entry?.baselineBytes === undefined) return null;
    const allowed = entry.baselineBytes + this.policy.maxRetainedBytes;
    this.retainedChecks.total += 1;
    if (probe.inUse() <= allowed) return null;
    this.retainedChecks.collected += 1;
    const retained = probe.afterCollection();
    entry.heapBytes = retained;
    if (retained <= allowed) return null;
    this.recycles.retained += 1;
    this.remove(tenantId, entry);
    return 'retained';
  }

  /** Records one execution; disposes the resource and returns the reason when it must be recycled. */
  recordExecution(tenantId: string, report: ExecutionReport): RecycleReason | null {
    const entry = this.entries.get(tenantId);
    if (entry === undefined) return null;
    entry.executions += 1;
    entry.heapBytes = report.heapBytes;
    entry.lastUsedAt = this.now();
    const reason: RecycleReason | null = report.hitLimit
      ? 'limit'
      : entry.executions >= this.policy.maxExecutions
        ? 'executions'
        : report.heapBytes > entry.limitBytes * this.policy.recycleHeapRatio
          ? 'heap'
          : null;
    if (reason !== null) {
      this.recycles[reason] += 1;
      this.remove(tenantId, entry);
    }
    return reason;
  }

  /** Evicts tenants idle for longer than the policy allows; returns how many. */
  evictIdle(): number {
    const cutoff = this.now() - this.policy.idleEvictionMs;
    let evicted = 0;
    for (const [tenantId, entry] of [...this.entries]) {
      if (entry.lastUsedAt <= cutoff) {
        this.evict(tenantId, 'idle');
        evicted += 1;
      }
    }
    return evicted;
  }

  /** Disposes a tenant's resource. `count: false` for replacements that are not evictions. */
  evict(tenantId: string, reason: EvictionReason, count = true): boolean {
    const entry = this.entries.get(tenantId);
    if (entry === undefined) return false;
    if (count) this.evictions[reason] += 1;
    this.remove(tenantId, entry);
    return true;
  }

  /** Disposes everything (process shutdown); not counted as evictions. */
  clear(): void {
    for (const [tenantId, entry] of [...this.entries]) this.remove(tenantId, entry);
  }

  stats(): TenantPoolStats {
    const now = this.now();
    return {
      tenants: this.entries.size,
      accountedHeapBytes: this.accountedHeap(),
      memoryBudgetBytes: this.policy.memoryBudgetBytes,
      evictions: { ...this.evictions },
      recycles: { ...this.recycles },
      retainedChecks: { ...this.retainedChecks },
      perTenant: [...this.entries].map(([tenantId, entry]) => ({
        tenantId,
        heapBytes: entry.heapBytes,
        executions: entry.executions,
        idleMs: now - entry.lastUsedAt,
      })),
    };
  }

  private accountedHeap(): number {
    let total = 0;
    for (const entry of this.entries.values()) total += entry.heapBytes;
    return total;
  }

  private remove(tenantId: string, entry: Entry<R>): void {
    this.entries.delete(tenantId);
    this.dispose(entry.resource, tenantId);
  }
}
