import type { AdmissionControl, SecurityProfile } from '@beddel/contracts';
import { ConcurrencyGate } from './concurrency-gate.js';
import { RateLimiter } from './rate-limiter.js';

export interface TenantAdmissionControlOptions {
  /** Executions of one tenant that may wait for a slot. Default 64. */
  readonly maxQueue?: number;
  /** How long an execution may wait for a slot, in ms. Default 5000. */
  readonly maxWaitMs?: number;
  /** Monotonic milliseconds for the rate limiter; tests pass a fake. */
  readonly now?: () => number;
}

/**
 * The engine's ADMISSION provider: the profile's `ratePerSecond` (token bucket per tenant), then
 * its `maxConcurrency` (slots per tenant, bounded wait). The rate is checked first so that a
 * rate-limited execution never takes a place in the queue.
 */
export class TenantAdmissionControl implements AdmissionControl {
  private readonly limiter: RateLimiter;
  private readonly gate = new ConcurrencyGate();
  private readonly maxQueue: number;
  private readonly maxWaitMs: number;

  constructor(options: TenantAdmissionControlOptions = {}) {
    this.limiter = new RateLimiter(options.now === undefined ? {} : { now: options.now });
    this.maxQueue = options.maxQueue ?? 64;
    this.maxWaitMs = options.maxWaitMs ?? 5_000;
  }

  async admit(tenantId: string, profile: SecurityProfile): Promise<() => void> {
    this.limiter.acquire(tenantId, profile.ratePerSecond);
    return this.gate.acquire(tenantId, profile.maxConcurrency, { maxQueue: this.maxQueue, maxWaitMs: this.maxWaitMs });
  }
}
