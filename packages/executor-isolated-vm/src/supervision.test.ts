/**
 * Attacks that can end a whole process (V8 fatal out-of-memory, hangs) and crash containment of
 * the supervised worker processes: one tenant's code must never take other executions down.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionOutcome, ExecutionRequest } from '@beddel/contracts';
import { IsolatedVmExecutor } from './isolated-vm-executor.js';
import { WorkerProcessPool } from './worker-process-pool.js';
import { planOf, testLimits } from './test-support/plans.js';

let sequence = 0;
function request(tenantId: string, body: string, input: unknown = {}, timeoutMs = testLimits.timeoutMs): ExecutionRequest {
  sequence += 1;
  return { executionId: `e${sequence}`, tenantId, plan: planOf(body), inputJson: JSON.stringify(input), limits: { ...testLimits, timeoutMs } };
}

function expectCode(outcome: ExecutionOutcome, code: string): void {
  expect(outcome.ok ? 'ok' : outcome.error.code).toBe(code);
}

function fixture(name: string): string {
  return fileURLToPath(new URL(`../test/fixtures/${name}`, import.meta.url));
}

describe('supervised executor', () => {
  const executor = new IsolatedVmExecutor({ workers: 2, deadlineGraceMs: 500 });
  beforeAll(() => executor.start());
  afterAll(() => executor.close());

  it('runs tenant code in worker processes, not in the host', async () => {
    const outcome = await executor.execute(request('acme', 'return input.a + input.b;', { a: 2, b: 3 }));
    expect(outcome).toMatchObject({ ok: true, outputJson: '5' });
    expect(executor.workerPids.every((pid) => typeof pid === 'number' && pid !== process.pid)).toBe(true);
  });

  it.each([
    ['one huge array', 'return new Array(2 ** 28).fill(1.5).length;'],
    ['millions of object keys', 'const o = {}; for (let i = 0; ; i++) o["k" + i] = i;'],
  ])('%s kills only its worker, reports BEDDEL_MEMORY_LIMIT, and service goes on', async (_name, body) => {
    const restartsBefore = executor.workerRestarts;
    const outcome = await executor.execute(request('bomber', body, {}, 4000));
    expectCode(outcome, 'BEDDEL_MEMORY_LIMIT');
    expect(executor.workerRestarts).toBe(restartsBefore + 1);
    const after = await executor.execute(request('bomber', 'return "still here";'));
    expect(after).toMatchObject({ ok: true, outputJson: '"still here"' });
  });

  it('a worker killed from outside fails only its in-flight execution; queued work still runs', async () => {
    const tenant = 'victim';
    const hung = executor.execute(request(tenant, 'while (true) {}', {}, 10_000));
    const queued = executor.execute(request(tenant, 'return "queued ran";'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const pool = (executor as unknown as { pool: WorkerProcessPool }).pool;
    const pid = pool.pids[pool.workerFor(tenant)];
    expect(pid).toBeTypeOf('number');
    process.kill(pid as number, 'SIGKILL');
    expectCode(await hung, 'BEDDEL_WORKER_CRASHED');
    expect(await queued).toMatchObject({ ok: true, outputJson: '"queued ran"' });
  });

  it('other tenants keep being served while one tenant loops', async () => {
    const loops = Array.from({ length: 3 }, () => executor.execute(request('looper', 'while (true) {}')));
    const others = Array.from({ length: 10 }, (_, i) => executor.execute(request(`tenant-${i}`, 'return input.i;', { i })));
    const results = await Promise.all(others);
    expect(results.map((outcome) => (outcome.ok ? Number(outcome.outputJson) : outcome.error.code))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const outcome of await Promise.all(loops)) expectCode(outcome, 'BEDDEL_TIMEOUT');
  });
});

describe('dedicated workers', () => {
  it('a tenant whose profile demands it runs in a process of its own; its crash restarts no shared worker', async () => {
    const executor = new IsolatedVmExecutor({ workers: 1 });
    await executor.start();
    const shared = await executor.execute(request('shared-tenant', 'return 1;'));
    expect(shared.ok).toBe(true);
    const dedicated = await executor.execute({ ...request('vip', 'return 2;'), dedicatedWorker: true });
    expect(dedicated).toMatchObject({ ok: true, outputJson: '2' });
    const vipPid = executor.dedicatedWorkerPids.get('vip');
    expect(vipPid).toBeTypeOf('number');
    expect(executor.workerPids).not.toContain(vipPid);
    const restartsBefore = executor.workerRestarts;
    const bomb = await executor.execute({ ...request('vip', 'return new Array(2 ** 28).fill(1.5).length;', {}, 4000), dedicatedWorker: true });
    expectCode(bomb, 'BEDDEL_MEMORY_LIMIT');
    expect(executor.workerRestarts).toBe(restartsBefore);
    await executor.evictTenant('vip');
    expect(executor.dedicatedWorkerPids.has('vip')).toBe(false);
    await executor.close();
  });
});

describe('the supervisor enforces deadlines and replaces dead workers on its own', () => {
  it('a worker that never answers is killed at the deadline: BEDDEL_TIMEOUT', async () => {
    const pool = new WorkerProcessPool({ workers: 1, deadlineGraceMs: 100, workerEntry: fixture('silent-worker.mjs') });
    await pool.start();
    const started = performance.now();
    const outcome = await pool.execute(request('t', 'return 1;', {}, 200));
    expectCode(outcome, 'BEDDEL_TIMEOUT');
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(pool.restarts).toBe(1);
    await pool.close();
  });

  it('a worker that dies mid-execution: BEDDEL_WORKER_CRASHED, then a replacement', async () => {
    const pool = new WorkerProcessPool({ workers: 1, workerEntry: fixture('exiting-worker.mjs') });
    await pool.start();
    const firstPid = pool.pids[0];
    expectCode(await pool.execute(request('t', 'return 1;')), 'BEDDEL_WORKER_CRASHED');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(pool.pids[0]).not.toBe(firstPid);
    expect(pool.restarts).toBe(1);
    await pool.close();
  });

  it('a worker that cannot start fails queued executions instead of spinning', async () => {
    const pool = new WorkerProcessPool({ workers: 1, workerEntry: fixture('does-not-exist.mjs') });
    void pool.start();
    expectCode(await pool.execute(request('t', 'return 1;')), 'BEDDEL_WORKER_CRASHED');
    await pool.close();
  });

  it('closing fails what is still queued with BEDDEL_ENGINE_CLOSED', async () => {
    const pool = new WorkerProcessPool({ workers: 1, workerEntry: fixture('silent-worker.mjs') });
    await pool.start();
    const inFlight = pool.execute(request('t', 'return 1;', {}, 5000));
    const queued = pool.execute(request('t', 'return 2;', {}, 5000));
    await pool.close();
    expectCode(await inFlight, 'BEDDEL_ENGINE_CLOSED');
    expectCode(await queued, 'BEDDEL_ENGINE_CLOSED');
  });
});
