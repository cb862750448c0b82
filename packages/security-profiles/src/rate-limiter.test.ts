import { describe, expect, it } from 'vitest';
import { BeddelError, ErrorCodes } from '@beddel/contracts';
import { RateLimiter } from './rate-limiter.js';

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let time = 1_000;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

function takeAll(limiter: RateLimiter, tenantId: string, rate: number | null, attempts: number): number {
  let granted = 0;
  for (let attempt = 0; attempt < attempts; attempt++) if (limiter.tryAcquire(tenantId, rate)) granted++;
  return granted;
}

describe('RateLimiter', () => {
  it('allows a burst of one second of rate, then refills at the rate', () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ now: clock.now });
    expect(takeAll(limiter, 'acme', 5, 10)).toBe(5);
    clock.advance(200);
    expect(takeAll(limiter, 'acme', 5, 10)).toBe(1);
    clock.advance(399);
    expect(takeAll(limiter, 'acme', 5, 10)).toBe(1);
    clock.advance(10_000);
    expect(takeAll(limiter, 'acme', 5, 10)).toBe(5);
  });

  it('keeps tenants apart', () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ now: clock.now });
    expect(takeAll(limiter, 'acme', 2, 5)).toBe(2);
    expect(takeAll(limiter, 'globex', 2, 5)).toBe(2);
    expect(limiter.size).toBe(2);
  });

  it('lets a rate under one per second through once per period', () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ now: clock.now });
    expect(takeAll(limiter, 'acme', 0.5, 3)).toBe(1);
    clock.advance(1_999);
    expect(limiter.tryAcquire('acme', 0.5)).toBe(false);
    clock.advance(1);
    expect(limiter.tryAcquire('acme', 0.5)).toBe(true);
  });

  it('does not limit a null rate', () => {
    const limiter = new RateLimiter({ now: fakeClock().now });
    expect(takeAll(limiter, 'acme', null, 1_000)).toBe(1_000);
    expect(limiter.size).toBe(0);
  });

  it('acquire throws BEDDEL_RATE_LIMITED', () => {
    const limiter = new RateLimiter({ now: fakeClock().now });
    limiter.acquire('acme', 1);
    expect(() => limiter.acquire('acme', 1)).toThrow(BeddelError);
    try {
      limiter.acquire('acme', 1);
    } catch (error) {
      expect((error as BeddelError).code).toBe(ErrorCodes.RATE_LIMITED);
      expect((error as BeddelError).message).toBe('Tenant acme is over its rate of 1 executions per second.');
    }
  });

  it('forget gives a tenant a full bucket again', () => {
    const limiter = new RateLimiter({ now: fakeClock().now });
    expect(takeAll(limiter, 'acme', 1, 2)).toBe(1);
    limiter.forget('acme');
    expect(limiter.tryAcquire('acme', 1)).toBe(true);
  });

  it('sweeps buckets that have refilled once it holds many, and keeps the others', () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ now: clock.now, sweepAbove: 3 });
    limiter.tryAcquire('a', 10);
    limiter.tryAcquire('slow', 0.25);
    clock.advance(1_000);
    limiter.tryAcquire('b', 10);
    expect(limiter.size).toBe(3);
    limiter.tryAcquire('c', 10);
    // `a` refilled within its second; `slow` needs 4 s and `b` was just used: both stay.
    expect(limiter.size).toBe(3);
    expect(limiter.tryAcquire('slow', 0.25)).toBe(false);
  });

  it('refuses a rate that is not a positive number', () => {
    const limiter = new RateLimiter();
    expect(() => limiter.tryAcquire('acme', 0)).toThrow(RangeError);
    expect(() => limiter.tryAcquire('acme', Number.NaN)).toThrow(RangeError);
  });
});
