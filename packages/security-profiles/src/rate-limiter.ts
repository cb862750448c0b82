import { BeddelError, ErrorCodes } from '@beddel/contracts';

export interface RateLimiterOptions {
  /** Milliseconds from a monotonic clock. Default `performance.now()`; tests pass a fake. */
  readonly now?: () => number;
  /**
   * Buckets kept before full (idle) ones are swept; a full bucket is the same as no bucket, so
   * sweeping only bounds memory when many tenants pass through. Default 10 000.
   */
  readonly sweepAbove?: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
  /** The rate of the last call, to know when the bucket is certainly full again. */
  ratePerSecond: number;
}

/**
 * Executions per second per tenant, as a token bucket: it refills at `ratePerSecond` tokens a
 * second and holds at most one second's worth (at least 1), so a tenant may burst that many at
 * once. The rate is passed on every call, so a changed profile applies at once.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private readonly sweepAbove: number;

  constructor(options: RateLimiterOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.sweepAbove = options.sweepAbove ?? 10_000;
  }

  /** Takes one token for `tenantId`; false when the tenant is over its rate. `null` means no limit. */
  tryAcquire(tenantId: string, ratePerSecond: number | null): boolean {
    if (ratePerSecond === null) return true;
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`ratePerSecond must be a positive number or null, got ${ratePerSecond}`);
    const now = this.now();
    const capacity = Math.max(1, ratePerSecond);
    let bucket = this.buckets.get(tenantId);
    if (bucket === undefined) {
      if (this.buckets.size >= this.sweepAbove) this.sweep(now);
      bucket = { tokens: capacity, updatedAt: now, ratePerSecond };
      this.buckets.set(tenantId, bucket);
    } else {
      bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.updatedAt) * ratePerSecond) / 1000);
      bucket.updatedAt = now;
      bucket.ratePerSecond = ratePerSecond;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** `tryAcquire`, throwing BEDDEL_RATE_LIMITED when the tenant is over its rate. */
  acquire(tenantId: string, ratePerSecond: number | null): void {
    if (this.tryAcquire(tenantId, ratePerSecond)) return;
    throw new BeddelError(ErrorCodes.RATE_LIMITED, `Tenant ${tenantId} is over its rate of ${ratePerSecond} executions per second.`);
  }

  /** Drops a tenant's bucket (when the tenant is evicted). */
  forget(tenantId: string): void {
    this.buckets.delete(tenantId);
  }

  /** Number of tenants with a bucket. */
  get size(): number {
    return this.buckets.size;
  }

  /** Drops buckets that have had time to refill from empty: a full bucket behaves exactly like a new one. */
  private sweep(now: number): void {
    for (const [tenantId, bucket] of this.buckets) {
      const refillMs = (Math.max(1, bucket.ratePerSecond) / bucket.ratePerSecond) * 1000;
      if (now - bucket.updatedAt >= refillMs) this.buckets.delete(tenantId);
    }
  }
}
