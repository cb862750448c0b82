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
    expect(pool.stats().recycles).toEqual({ executions: 1, heap: 1, limit: 1 });
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

  it('clear() disposes everything', () => {
    const { pool, disposed } = ledger();
    pool.add('a', 'iso-a', 100, 1);
    pool.add('b', 'iso-b', 100, 1);
    pool.clear();
    expect(disposed.sort()).toEqual(['iso-a', 'iso-b']);
    expect(pool.size).toBe(0);
  });
});
