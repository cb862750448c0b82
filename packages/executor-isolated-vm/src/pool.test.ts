/** The isolate pool inside a sandbox process: recycling, budget eviction and statistics. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { IsolateSandbox } from './isolate-sandbox.js';
import { WorkerProcessPool } from './worker-process-pool.js';
import { planOf, testLimits } from './test-support/plans.js';

const plan = planOf('globalThis.count = (globalThis.count ?? 0) + 1; return input.n;');

function runIn(sandbox: IsolateSandbox, tenantId: string, n = 1) {
  return sandbox.run({ tenantId, plan, inputJson: JSON.stringify({ n }), limits: testLimits });
}

describe('isolate pool', () => {
  it('recycles an isolate after N executions', () => {
    const sandbox = new IsolateSandbox({ pool: { maxExecutions: 3 } });
    for (let i = 0; i < 7; i++) expect(runIn(sandbox, 'a', i)).toMatchObject({ ok: true, outputJson: String(i) });
    expect(sandbox.stats().recycles.executions).toBe(2);
    sandbox.close();
  });

  it('recycles after a limit was hit, and the tenant is served by a fresh isolate', () => {
    const sandbox = new IsolateSandbox();
    const loop = sandbox.run({ tenantId: 'a', plan: planOf('while (true) {}'), inputJson: '{}', limits: testLimits });
    expect(loop).toMatchObject({ ok: false, error: { code: 'BEDDEL_TIMEOUT' } });
    expect(sandbox.stats()).toMatchObject({ tenants: 0, recycles: { limit: 1 } });
    expect(runIn(sandbox, 'a')).toMatchObject({ ok: true });
    expect(sandbox.tenantCount).toBe(1);
    sandbox.close();
  });

  it('evicts least-recently-used tenants to stay inside the memory budget', () => {
    // A warm isolate accounts for about 0.8 MB of used heap here: a 2 MB budget holds two at most.
    const sandbox = new IsolateSandbox({ pool: { memoryBudgetBytes: 2 * 1024 * 1024 } });
    for (const tenant of ['t1', 't2', 't3', 't4', 't5']) expect(runIn(sandbox, tenant)).toMatchObject({ ok: true });
    const stats = sandbox.stats();
    expect(stats.evictions.budget).toBeGreaterThanOrEqual(3);
    expect(stats.tenants).toBeLessThanOrEqual(2);
    expect(stats.perTenant.map((entry) => entry.tenantId)).toContain('t5');
    sandbox.close();
  });

  it('reports per-tenant heap and executions', () => {
    const sandbox = new IsolateSandbox();
    runIn(sandbox, 'a');
    runIn(sandbox, 'a');
    const [entry] = sandbox.stats().perTenant;
    expect(entry).toMatchObject({ tenantId: 'a', executions: 2 });
    expect(entry?.heapBytes).toBeGreaterThan(100_000);
    sandbox.close();
  });
});

describe('bounded waiting', () => {
  it('an execution that cannot get a worker in time fails with BEDDEL_OVERLOADED', async () => {
    const pool = new WorkerProcessPool({
      workers: 1,
      pipelineDepth: 1,
      maxQueueWaitMs: 100,
      workerEntry: fileURLToPath(new URL('../test/fixtures/silent-worker.mjs', import.meta.url)),
    });
    await pool.start();
    const limits = { ...testLimits, timeoutMs: 5000 };
    const first = pool.execute({ executionId: 'e1', tenantId: 't', plan, inputJson: '{}', limits });
    const second = await pool.execute({ executionId: 'e2', tenantId: 't', plan, inputJson: '{}', limits });
    expect(second).toMatchObject({ ok: false, error: { code: 'BEDDEL_OVERLOADED' } });
    const full = new WorkerProcessPool({ workers: 1, maxQueuePerWorker: 0, workerEntry: fileURLToPath(new URL('../test/fixtures/silent-worker.mjs', import.meta.url)) });
    await full.start();
    void full.execute({ executionId: 'e3', tenantId: 't', plan, inputJson: '{}', limits });
    void full.execute({ executionId: 'e4', tenantId: 't', plan, inputJson: '{}', limits });
    expect(await full.execute({ executionId: 'e5', tenantId: 't', plan, inputJson: '{}', limits })).toMatchObject({ ok: false, error: { code: 'BEDDEL_OVERLOADED' } });
    await full.close();
    await pool.close();
    expect(await first).toMatchObject({ ok: false, error: { code: 'BEDDEL_ENGINE_CLOSED' } });
  });

  it('workers report pool statistics to the supervisor', async () => {
    const pool = new WorkerProcessPool({ workers: 1 });
    await pool.start();
    await pool.execute({ executionId: 'e1', tenantId: 'stats-tenant', plan, inputJson: '{"n":1}', limits: testLimits });
    await new Promise((resolve) => setTimeout(resolve, 2300));
    const [worker] = pool.poolStats();
    expect(worker?.stats?.perTenant.map((entry) => entry.tenantId)).toEqual(['stats-tenant']);
    await pool.close();
  });
});

describe('worker autoscaling', () => {
  it('grows under load, keeps tenants on their worker, and shrinks when idle', async () => {
    const pool = new WorkerProcessPool({ minWorkers: 1, maxWorkers: 2, scaleDownIdleMs: 400 });
    await pool.start();
    expect(pool.size).toBe(1);
    const slow = { ...testLimits, timeoutMs: 300 };
    const loop = planOf('while (true) {}');
    // Two executions keep the first worker busy (its pipeline is full), so a new tenant gets a new worker.
    const first = [pool.execute({ executionId: 'a1', tenantId: 'a', plan: loop, inputJson: '{}', limits: slow }), pool.execute({ executionId: 'a2', tenantId: 'a', plan: loop, inputJson: '{}', limits: slow })];
    const second = pool.execute({ executionId: 'b1', tenantId: 'b', plan, inputJson: '{"n":2}', limits: testLimits });
    expect(pool.size).toBe(2);
    expect(pool.workerFor('a')).not.toBe(pool.workerFor('b'));
    expect(await second).toMatchObject({ ok: true, outputJson: '2' });
    for (const outcome of await Promise.all(first)) expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_TIMEOUT' } });
    // Sticky: tenant b stays where its isolate is warm.
    const bWorker = pool.workerFor('b');
    await pool.execute({ executionId: 'b2', tenantId: 'b', plan, inputJson: '{"n":3}', limits: testLimits });
    expect(pool.workerFor('b')).toBe(bWorker);
    // Idle: back down to one worker.
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect(pool.size).toBe(1);
    expect(await pool.execute({ executionId: 'c1', tenantId: 'c', plan, inputJson: '{"n":4}', limits: testLimits })).toMatchObject({ ok: true, outputJson: '4' });
    await pool.close();
  });
});

describe('heap snapshots (debugging)', () => {
  it('writes a snapshot Chrome DevTools can open, from a throw-away isolate, leaving the pool alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'beddel-snapshot-'));
    const path = join(dir, 'tenant.heapsnapshot');
    const sandbox = new IsolateSandbox();
    const outcome = await sandbox.runWithHeapSnapshot({
      tenantId: 'debug-me',
      plan: planOf('globalThis.kept = Array.from({ length: 100 }, (_, i) => ({ i })); return kept.length;'),
      inputJson: '{}',
      limits: { ...testLimits, timeoutMs: 5000 },
    }, path);
    expect(outcome).toMatchObject({ ok: true, outputJson: '100', heapSnapshot: { path } });
    const snapshot = JSON.parse(readFileSync(path, 'utf8')) as { snapshot: { meta: unknown; node_count: number }; nodes: number[]; strings: string[] };
    expect(snapshot.snapshot.node_count).toBeGreaterThan(1000);
    expect(snapshot.nodes.length).toBeGreaterThan(0);
    expect(snapshot.strings).toContain('kept');
    expect(outcome.heapSnapshot?.bytes).toBe(readFileSync(path).length);
    expect(sandbox.tenantCount).toBe(0);
    sandbox.close();
  });
});

describe('a hot tenant', () => {
  it('spreads over the workers when its own worker is busy, warm on each', async () => {
    const pool = new WorkerProcessPool({ minWorkers: 1, maxWorkers: 2 });
    await pool.start();
    const limits = { ...testLimits, timeoutMs: 200 };
    const loop = planOf('while (true) {}');
    const runs = Array.from({ length: 4 }, (_, i) => pool.execute({ executionId: `h${i}`, tenantId: 'hot', plan: loop, inputJson: '{}', limits }));
    expect(pool.size).toBe(2);
    for (const outcome of await Promise.all(runs)) expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_TIMEOUT' } });
    await pool.execute({ executionId: 'h5', tenantId: 'hot', plan, inputJson: '{"n":5}', limits: testLimits });
    await new Promise((resolve) => setTimeout(resolve, 2300));
    const withHot = pool.poolStats().filter((worker) => worker.stats?.recycles.limit !== undefined && worker.stats.recycles.limit > 0);
    expect(withHot.length).toBe(2);
    await pool.close();
  });
});
