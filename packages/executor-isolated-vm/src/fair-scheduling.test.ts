/**
 * Fairness between tenants: one tenant's flood may delay another tenant by at most the execution
 * running on each worker, never by the flood's queue (first in, first out on a worker made a
 * trivial run wait behind every queued flood run).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionOutcome } from '@beddel/contracts';
import { WorkerProcessPool } from './worker-process-pool.js';
import { busy, calibrate, sleep, trivial } from './test-support/flood.js';

let pools: WorkerProcessPool[] = [];
afterEach(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
  pools = [];
});

async function floodThenVictim(
  workers: number | { minWorkers: number; maxWorkers: number },
  floodRuns: number,
  flooders = 1,
): Promise<{ victimMs: number; longestFloodRunMs: number; flood: ExecutionOutcome[]; pool: WorkerProcessPool }> {
  const pool = new WorkerProcessPool(typeof workers === 'number' ? { workers } : workers);
  pools.push(pool);
  await pool.start();
  const n = await calibrate(pool, 400);
  // Warm the victim's isolate so its latency is only its wait plus ~1 ms of work.
  expect(await pool.execute(trivial('victim', 0))).toMatchObject({ ok: true, outputJson: '0' });
  const flood = Array.from({ length: floodRuns }, (_, i) => pool.execute(busy(`flooder-${i % flooders}`, n)));
  await sleep(50);
  const started = performance.now();
  const victim = await pool.execute(trivial('victim', 1));
  const victimMs = performance.now() - started;
  expect(victim).toMatchObject({ ok: true, outputJson: '1' });
  const floodOutcomes = await Promise.all(flood);
  for (const outcome of floodOutcomes) expect(outcome.ok).toBe(true);
  const longestFloodRunMs = Math.max(...floodOutcomes.map((outcome) => outcome.metrics.durationMs));
  return { victimMs, longestFloodRunMs, flood: floodOutcomes, pool };
}

describe('fair scheduling across tenants', () => {
  it('on one worker, a victim started after an 8-run flood waits at most about one flood run', async () => {
    const { victimMs, longestFloodRunMs } = await floodThenVictim(1, 8);
    // FIFO made it wait for the whole flood (~8 runs); the bound is one running execution.
    expect(victimMs).toBeLessThan(longestFloodRunMs * 1.5 + 300);
  }, 60_000);

  it('on two workers, a victim started after a 16-run flood of two tenants waits at most about one flood run', async () => {
    // Two flooders fill both workers' queues (one flooder alone leaves a worker lightly loaded).
    const { victimMs, longestFloodRunMs } = await floodThenVictim(2, 16, 2);
    expect(victimMs).toBeLessThan(longestFloodRunMs * 1.5 + 300);
  }, 60_000);

  it('on a pool that grows (1 to 2 workers) under the flood, the victim still waits at most about one flood run', async () => {
    const { victimMs, longestFloodRunMs, pool } = await floodThenVictim({ minWorkers: 1, maxWorkers: 2 }, 12);
    expect(pool.size).toBe(2);
    expect(victimMs).toBeLessThan(longestFloodRunMs * 1.5 + 300);
  }, 60_000);

  it('several victims each get served between flood runs, not after the flood', async () => {
    const pool = new WorkerProcessPool({ workers: 1 });
    pools.push(pool);
    await pool.start();
    const n = await calibrate(pool, 300);
    const flood = Array.from({ length: 8 }, () => pool.execute(busy('flooder', n)));
    await sleep(50);
    const started = performance.now();
    const victims = await Promise.all(Array.from({ length: 4 }, (_, i) => pool.execute(trivial(`victim-${i}`, i))));
    const victimsMs = performance.now() - started;
    expect(victims.map((outcome) => (outcome.ok ? outcome.outputJson : outcome.error.code))).toEqual(['0', '1', '2', '3']);
    const floodOutcomes = await Promise.all(flood);
    const longestFloodRunMs = Math.max(...floodOutcomes.map((outcome) => outcome.metrics.durationMs));
    // Four tenants with nothing in flight: all of them run before the next flood run.
    expect(victimsMs).toBeLessThan(longestFloodRunMs * 1.5 + 500);
  }, 60_000);

  it('a tenant past its own queue cap gets BEDDEL_OVERLOADED naming the cap; other tenants are still admitted', async () => {
    const pool = new WorkerProcessPool({ workers: 1, maxQueuePerTenant: 3 });
    pools.push(pool);
    await pool.start();
    const n = await calibrate(pool, 150);
    const runs = Array.from({ length: 12 }, () => pool.execute(busy('greedy', n)));
    const other = pool.execute(trivial('polite', 7));
    const outcomes = await Promise.all(runs);
    const refused = outcomes.filter((outcome) => !outcome.ok);
    expect(refused.length).toBeGreaterThan(0);
    for (const outcome of refused) {
      expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_OVERLOADED' } });
      if (!outcome.ok) expect(outcome.error.message).toMatch(/tenant "greedy".*3.*maxQueuePerTenant/);
    }
    expect(await other).toMatchObject({ ok: true, outputJson: '7' });
  }, 60_000);
});
