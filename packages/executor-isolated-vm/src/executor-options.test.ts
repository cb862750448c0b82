/**
 * Settings are resolved once, with every default in one place, and reach the worker as one typed
 * `configure` message. `pool.maxTenants` used to be overridden by `maxTenantsPerWorker`'s default.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_POOL_POLICY } from '@beddel/memory-pool';
import { IsolatedVmExecutor } from './isolated-vm-executor.js';
import { resolveExecutorOptions } from './worker-process-pool.js';
import { planOf, testLimits } from './test-support/plans.js';

const plan = planOf('return input.n;');

async function runTenants(executor: IsolatedVmExecutor, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const outcome = await executor.execute({ executionId: `o${i}`, tenantId: `tenant-${i}`, plan, inputJson: JSON.stringify({ n: i }), limits: testLimits });
    expect(outcome).toMatchObject({ ok: true, outputJson: String(i) });
  }
}

describe('resolveExecutorOptions', () => {
  it('holds every default', () => {
    const resolved = resolveExecutorOptions({});
    expect(resolved).toMatchObject({
      minWorkers: 1,
      scaleDownIdleMs: 30_000,
      burstWorkers: 1,
      burstMaxRunMs: 50,
      deadlineGraceMs: 1000,
      pipelineDepth: 2,
      maxQueuePerWorker: 10_000,
      maxQueuePerTenant: 1000,
      maxQueueWaitMs: 30_000,
      worker: { pool: DEFAULT_POOL_POLICY, realm: 'fresh' },
      memoryCeiling: { maxRssBytes: DEFAULT_POOL_POLICY.memoryBudgetBytes + 768 * 1024 * 1024, maxGrowthBytes: undefined, recycleRssBytes: DEFAULT_POOL_POLICY.memoryBudgetBytes + 256 * 1024 * 1024, pollIntervalMs: 25 },
    });
    expect(resolved.maxWorkers).toBeGreaterThanOrEqual(1);
    expect(resolved.maxWorkers).toBeLessThanOrEqual(4);
  });

  it('pool.maxTenants is kept; maxTenantsPerWorker, when given, wins', () => {
    expect(resolveExecutorOptions({ pool: { maxTenants: 3 } }).worker.pool.maxTenants).toBe(3);
    expect(resolveExecutorOptions({ maxTenantsPerWorker: 5, pool: { maxTenants: 3 } }).worker.pool.maxTenants).toBe(5);
    expect(resolveExecutorOptions({ workers: 3 })).toMatchObject({ minWorkers: 3, maxWorkers: 3 });
  });
});

describe('pool.maxTenants reaches the isolate pool', () => {
  it('in a supervised worker', async () => {
    const executor = new IsolatedVmExecutor({ workers: 1, pool: { maxTenants: 2 } });
    await executor.start();
    await runTenants(executor, 5);
    // Workers report pool statistics every 2 s.
    await new Promise((resolve) => setTimeout(resolve, 2300));
    const [worker] = executor.poolStats();
    expect(worker?.stats?.tenants).toBe(2);
    expect(worker?.stats?.evictions.lru).toBe(3);
    await executor.close();
  }, 20_000);

  it('in process', async () => {
    const executor = new IsolatedVmExecutor({ mode: 'in-process', pool: { maxTenants: 2 } });
    await runTenants(executor, 5);
    const [stats] = executor.poolStats();
    expect(stats?.stats?.tenants).toBe(2);
    expect(stats?.stats?.evictions.lru).toBe(3);
    await executor.close();
  });
});
