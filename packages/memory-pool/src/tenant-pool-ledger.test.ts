import { describe, expect, it } from 'vitest';
import { TenantPoolLedger } from './tenant-pool-ledger.js';

function ledger(policy: ConstructorParameters<typeof TenantPoolLedger<string>>[0] = {}) {
  let now = 1_000;
  const disposed: string[] = [];
  const pool = new TenantPoolLedger<string>(policy, (resource) => void disposed.push(resource), () => now);
  return { pool, disposed, advance: (ms: number) => void (now += ms) };
}

describe('TenantPoolLedger', () => {
  it('keeps one resource per tenant and returns it, most recently used last', () => {
    const { pool } = ledger();
    pool.add('a', 'iso-a', 64e6, 1e6);
    pool.add('b', 'iso-b', 64e6, 1e6);
    expect(pool.get('a')).toBe('iso-a');
    expect(pool.get('missing')).toBeUndefined();
    expect(pool.stats().perTenant.map((entry) => entry.tenantId)).toEqual(['b', 'a']);
  });

  it('replacing a tenant resource disposes the old one without counting an eviction', () => {
    const { pool, disposed } = ledger();
    pool.add('a', 'iso-a1', 64e6, 1e6);
    pool.add('a', 'iso-a2', 64e6, 1e6);
    expect(disposed).toEqual(['iso-a1']);
    expect(pool.stats().evictions.requested).toBe(0);
  });

  it('recycles after N executions, past the heap ratio, and after a limit was hit', () => {
    const { pool, disposed } = ledger({ maxExecutions: 3, recycleHeapRatio: 0.5 });
    pool.add('n', 'iso-n', 100, 10);
    expect(pool.recordExecution('n', { heapBytes: 10, hitLimit: false })).toBeNull();
    expect(pool.recordExecution('n', { heapBytes: 10, hitLimit: false })).toBeNull();
    expect(pool.recordExecution('n', { heapBytes: 10, hitLimit: false })).toBe('executions');
    pool.add('h', 'iso-h', 100, 10);
    expect(pool.recordExecution('h', { heapBytes: 51, hitLimit: false })).toBe('heap');
    pool.add('l', 'iso-l', 100, 10);
    expect(pool.recordExecution('l', { heapBytes: 10, hitLimit: true })).toBe('limit');
    expect(disposed).toEqual(['iso-n', 'iso-h', 'iso-l']);
    expect(pool.size).toBe(0);
    expect(pool.stats().recycles).toEqual({ executions: 1, heap: 1, limit: 1, retained: 0 });
  });

  it('evicts least-recently-used tenants to stay inside the memory budget', () => {
    const { pool, disposed } = ledger({ memoryBudgetBytes: 30 });
    pool.add('a', 'iso-a', 100, 10);
    pool.add('b', 'iso-b', 100, 10);
    pool.add('c', 'iso-c', 100, 10);
    pool.get('a');
    pool.add('d', 'iso-d', 100, 10);
    expect(disposed).toEqual(['iso-b']);
    expect(pool.stats()).toMatchObject({ tenants: 3, accountedHeapBytes: 30, evictions: { budget: 1 } });
  });

  it('measured heap growth counts against the budget', () => {
    const { pool, disposed } = ledger({ memoryBudgetBytes: 100, recycleHeapRatio: 1 });
    pool.add('a', 'iso-a', 1000, 10);
    pool.recordExecution('a', { heapBytes: 95, hitLimit: false });
    pool.add('b', 'iso-b', 1000, 10);
    expect(disposed).toEqual(['iso-a']);
  });

  it('always admits the newest tenant, even alone over the budget', () => {
    const { pool } = ledger({ memoryBudgetBytes: 5 });
    pool.add('big', 'iso-big', 100, 50);
    expect(pool.get('big')).toBe('iso-big');
  });

  it('evicts by count when maxTenants is reached', () => {
    const { pool, disposed } = ledger({ maxTenants: 2 });
    pool.add('a', 'iso-a', 100, 1);
    pool.add('b', 'iso-b', 100, 1);
    pool.add('c', 'iso-c', 100, 1);
    expect(disposed).toEqual(['iso-a']);
    expect(pool.stats().evictions.lru).toBe(1);
  });

  it('evicts idle tenants', () => {
    const { pool, disposed, advance } = ledger({ idleEvictionMs: 1000 });
    pool.add('old', 'iso-old', 100, 1);
    advance(600);
    pool.add('new', 'iso-new', 100, 1);
    advance(600);
    expect(pool.evictIdle()).toBe(1);
    expect(disposed).toEqual(['iso-old']);
    expect(pool.stats().evictions.idle).toBe(1);
  });

  describe('retained memory', () => {
    /** A probe whose readings are given, counting the (costly) collections asked for. */
    function probe(inUse: number, afterCollection: number) {
      const calls = { collections: 0 };
      return { calls, probe: { inUse: () => inUse, afterCollection: () => (calls.collections += 1, afterCollection) } };
    }

    it('recycles a resource that retains more than maxRetainedBytes over its baseline', () => {
      const { pool, disposed } = ledger({ maxRetainedBytes: 100 });
      pool.add('a', 'iso-a', 10_000, 500);
      pool.setBaseline('a', 500);
      const reading = probe(900, 601);
      expect(pool.checkRetained('a', reading.probe)).toBe('retained');
      expect(reading.calls.collections).toBe(1);
      expect(disposed).toEqual(['iso-a']);
      expect(pool.stats()).toMatchObject({ tenants: 0, recycles: { retained: 1 }, retainedChecks: { total: 1, collected: 1 } });
    });

    it('garbage alone never recycles: over the threshold in use, under it once collected', () => {
      const { pool, disposed } = ledger({ maxRetainedBytes: 100 });
      pool.add('a', 'iso-a', 10_000, 500);
      pool.setBaseline('a', 500);
      expect(pool.checkRetained('a', probe(5_000, 600).probe)).toBeNull();
      expect(disposed).toEqual([]);
      // The collected reading is the better account of the resource's heap.
      expect(pool.stats().perTenant[0]?.heapBytes).toBe(600);
    });

    it('pays for a collection only when the cheap reading is over the threshold', () => {
      const { pool } = ledger({ maxRetainedBytes: 100 });
      pool.add('a', 'iso-a', 10_000, 500);
      pool.setBaseline('a', 500);
      const reading = probe(600, 10_000);
      expect(pool.checkRetained('a', reading.probe)).toBeNull();
      expect(reading.calls.collections).toBe(0);
      expect(pool.stats().retainedChecks).toEqual({ total: 1, collected: 0 });
    });

    it('what the host adds to a resource moves its baseline; a re-measure never absorbs a plant', () => {
      const { pool } = ledger({ maxRetainedBytes: 100 });
      pool.add('a', 'iso-a', 10_000, 500);
      pool.setBaseline('a', 500);
      // A compiled script of 1,000 bytes, then its eviction.
      pool.adjustBaseline('a', 1_000);
      expect(pool.checkRetained('a', probe(1_550, 1_550).probe)).toBeNull();
      pool.adjustBaseline('a', -1_000);
      expect(pool.checkRetained('a', probe(1_550, 1_550).probe)).toBe('retained');
    });

    it('a resource without a baseline is not checked, and unknown tenants are ignored', () => {
      const { pool, disposed } = ledger({ maxRetainedBytes: 100 });
      pool.add('a', 'iso-a', 10_000, 500);
      pool.adjustBaseline('a', 50);
      expect(pool.checkRetained('a', probe(1e9, 1e9).probe)).toBeNull();
      expect(pool.checkRetained('missing', probe(1e9, 1e9).probe)).toBeNull();
      pool.setBaseline('missing', 1);
      expect(disposed).toEqual([]);
    });

    it('defaults to 1 MiB', () => {
      expect(ledger().pool.policy.maxRetainedBytes).toBe(1024 * 1024);
    });
  });

  it('clear() disposes everything', () => {
    const { pool, disposed } = ledger();
    pool.add('a', 'iso-a', 100, 1);
    pool.add('b', 'iso-b', 100, 1);
    pool.clear();
    expect(disposed.sort()).toEqual(['iso-a', 'iso-b']);
    expect(pool.size).toBe(0);
  });
});
