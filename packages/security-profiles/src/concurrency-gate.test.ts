import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BeddelError, ErrorCodes } from '@beddel/contracts';
import { ConcurrencyGate } from './concurrency-gate.js';

const WAIT = { maxQueue: 2, maxWaitMs: 1_000 };

async function settled<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown; pending: boolean }> {
  let state: { value?: T; error?: unknown; pending: boolean } = { pending: true };
  promise.then(
    (value) => void (state = { value, pending: false }),
    (error: unknown) => void (state = { error, pending: false }),
  );
  await vi.advanceTimersByTimeAsync(0);
  return state;
}

describe('ConcurrencyGate', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('admits up to max at once, then queues, handing slots over in order', async () => {
    const gate = new ConcurrencyGate();
    const first = await gate.acquire('acme', 2, WAIT);
    const second = await gate.acquire('acme', 2, WAIT);
    const order: string[] = [];
    const third = gate.acquire('acme', 2, WAIT).then((release) => (order.push('third'), release));
    const fourth = gate.acquire('acme', 2, WAIT).then((release) => (order.push('fourth'), release));
    expect(gate.inFlight('acme')).toBe(2);
    expect(gate.waiting('acme')).toBe(2);
    expect((await settled(third)).pending).toBe(true);

    first();
    first(); // a second call gives nothing back twice
    expect((await settled(third)).pending).toBe(false);
    expect((await settled(fourth)).pending).toBe(true);
    expect(gate.inFlight('acme')).toBe(2);

    second();
    const releases = [await third, await fourth];
    expect(order).toEqual(['third', 'fourth']);
    releases.forEach((release) => release());
    expect(gate.inFlight('acme')).toBe(0);
    expect(gate.waiting('acme')).toBe(0);
  });

  it('rejects with BEDDEL_OVERLOADED when the queue is full', async () => {
    const gate = new ConcurrencyGate();
    await gate.acquire('acme', 1, WAIT);
    void gate.acquire('acme', 1, WAIT).catch(() => undefined);
    void gate.acquire('acme', 1, WAIT).catch(() => undefined);
    const error = (await settled(gate.acquire('acme', 1, WAIT))).error as BeddelError;
    expect(error).toBeInstanceOf(BeddelError);
    expect(error.code).toBe(ErrorCodes.OVERLOADED);
    expect(error.message).toBe('Tenant acme has 1 executions running (at most 1) and 2 waiting (at most 2).');
  });

  it('rejects a waiter after maxWaitMs and forgets it', async () => {
    const gate = new ConcurrencyGate();
    const held = await gate.acquire('acme', 1, WAIT);
    const waiting = gate.acquire('acme', 1, WAIT);
    await vi.advanceTimersByTimeAsync(999);
    expect((await settled(waiting)).pending).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    const error = (await settled(waiting)).error as BeddelError;
    expect(error.code).toBe(ErrorCodes.OVERLOADED);
    expect(error.message).toBe('Tenant acme waited 1000 ms for one of its 1 execution slots.');
    expect(gate.waiting('acme')).toBe(0);
    held();
    expect(gate.inFlight('acme')).toBe(0);
  });

  it('never queues with maxQueue 0 or maxWaitMs 0', async () => {
    const gate = new ConcurrencyGate();
    await gate.acquire('acme', 1, WAIT);
    await expect(gate.acquire('acme', 1, { maxQueue: 0, maxWaitMs: 1_000 })).rejects.toMatchObject({ code: ErrorCodes.OVERLOADED });
    await expect(gate.acquire('acme', 1, { maxQueue: 5, maxWaitMs: 0 })).rejects.toMatchObject({ code: ErrorCodes.OVERLOADED });
  });

  it('keeps tenants apart', async () => {
    const gate = new ConcurrencyGate();
    await gate.acquire('acme', 1, WAIT);
    const other = await settled(gate.acquire('globex', 1, WAIT));
    expect(other.pending).toBe(false);
    expect(typeof other.value).toBe('function');
  });

  it('a newcomer does not overtake the queue, and waiters keep the max they came with', async () => {
    const gate = new ConcurrencyGate();
    const held = await gate.acquire('acme', 1, WAIT);
    const queued = gate.acquire('acme', 1, WAIT);
    // The profile now allows 3, but one execution is already waiting: the newcomer queues behind it.
    const newcomer = gate.acquire('acme', 3, WAIT);
    expect(gate.waiting('acme')).toBe(2);
    held();
    const [first, second] = await Promise.all([queued, newcomer]);
    expect(gate.inFlight('acme')).toBe(2);
    first();
    second();
  });

  it('checks its arguments', () => {
    const gate = new ConcurrencyGate();
    expect(() => gate.acquire('acme', 0, WAIT)).toThrow(RangeError);
    expect(() => gate.acquire('acme', 1, { maxQueue: -1, maxWaitMs: 1 })).toThrow(RangeError);
    expect(() => gate.acquire('acme', 1, { maxQueue: 1, maxWaitMs: 2 ** 31 })).toThrow(RangeError);
  });
});
