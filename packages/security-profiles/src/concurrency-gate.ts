import { BeddelError, ErrorCodes } from '@beddel/contracts';

/** Gives the slot back. Calling it more than once does nothing. */
export type Release = () => void;

export interface ConcurrencyGateWaitOptions {
  /** Executions of the tenant that may wait for a slot; one more is rejected at once. 0: never wait. */
  readonly maxQueue: number;
  /** How long one execution may wait for a slot before it is rejected; `Infinity` waits as long as it takes. */
  readonly maxWaitMs: number;
}

interface Waiter {
  readonly max: number;
  readonly resolve: (release: Release) => void;
  readonly reject: (error: BeddelError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface TenantSlots {
  inFlight: number;
  readonly queue: Waiter[];
}

const MAX_TIMER_MS = 2_147_483_647;

/**
 * At most `max` executions of one tenant at once; the next ones wait in a bounded FIFO queue for a
 * bounded time, then fail with BEDDEL_OVERLOADED. A released slot goes straight to the first
 * waiter, so a newcomer cannot overtake the queue. `max` is passed on every call, so a changed
 * profile applies at once (a waiter is admitted under the `max` it came with).
 */
export class ConcurrencyGate {
  private readonly tenants = new Map<string, TenantSlots>();

  acquire(tenantId: string, max: number, options: ConcurrencyGateWaitOptions): Promise<Release> {
    checkCount('max', max, 1);
    checkCount('maxQueue', options.maxQueue, 0);
    if (!(options.maxWaitMs >= 0) || (Number.isFinite(options.maxWaitMs) && options.maxWaitMs > MAX_TIMER_MS)) {
      throw new RangeError(`maxWaitMs must be between 0 and ${MAX_TIMER_MS}, or Infinity, got ${options.maxWaitMs}`);
    }
    let slots = this.tenants.get(tenantId);
    if (slots === undefined) {
      slots = { inFlight: 0, queue: [] };
      this.tenants.set(tenantId, slots);
    }
    if (slots.inFlight < max && slots.queue.length === 0) {
      slots.inFlight++;
      return Promise.resolve(this.releaser(tenantId, slots));
    }
    if (options.maxQueue === 0 || options.maxWaitMs === 0 || slots.queue.length >= options.maxQueue) {
      return Promise.reject(
        new BeddelError(
          ErrorCodes.OVERLOADED,
          `Tenant ${tenantId} has ${slots.inFlight} executions running (at most ${max}) and ${slots.queue.length} waiting (at most ${options.maxQueue}).`,
        ),
      );
    }
    const queue = slots.queue;
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = { max, resolve, reject, timer: undefined };
      if (Number.isFinite(options.maxWaitMs)) {
        waiter.timer = setTimeout(() => {
          queue.splice(queue.indexOf(waiter), 1);
          this.dropIfIdle(tenantId);
          reject(new BeddelError(ErrorCodes.OVERLOADED, `Tenant ${tenantId} waited ${options.maxWaitMs} ms for one of its ${max} execution slots.`));
        }, options.maxWaitMs);
      }
      queue.push(waiter);
    });
  }

  /** Executions of the tenant holding a slot. */
  inFlight(tenantId: string): number {
    return this.tenants.get(tenantId)?.inFlight ?? 0;
  }

  /** Executions of the tenant waiting for a slot. */
  waiting(tenantId: string): number {
    return this.tenants.get(tenantId)?.queue.length ?? 0;
  }

  private releaser(tenantId: string, slots: TenantSlots): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      slots.inFlight--;
      this.admit(tenantId, slots);
    };
  }

  private admit(tenantId: string, slots: TenantSlots): void {
    for (let next = slots.queue[0]; next !== undefined && slots.inFlight < next.max; next = slots.queue[0]) {
      slots.queue.shift();
      clearTimeout(next.timer);
      slots.inFlight++;
      next.resolve(this.releaser(tenantId, slots));
    }
    this.dropIfIdle(tenantId);
  }

  private dropIfIdle(tenantId: string): void {
    const slots = this.tenants.get(tenantId);
    if (slots !== undefined && slots.inFlight === 0 && slots.queue.length === 0) this.tenants.delete(tenantId);
  }
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer of at least ${min}, got ${value}`);
}
