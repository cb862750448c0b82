/**
 * Memory that `memoryLimit` does not count (ICU objects, parser zones, flattened strings) grows the
 * sandbox process, not the isolate: the supervisor watches each worker's resident memory in /proc.
 * Worker RSS is measured here from /proc, never trusted from `heapBytes`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionOutcome, ExecutionRequest } from '@beddel/contracts';
import { WorkerProcessPool } from './worker-process-pool.js';
import type { WorkerProcessPoolOptions } from './worker-process-pool.js';
import { planOf, testLimits } from './test-support/plans.js';

const MB = 1024 * 1024;

function residentBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

let sequence = 0;
function request(tenantId: string, body: string, input: unknown = {}, limits: Partial<ExecutionRequest['limits']> = {}): ExecutionRequest {
  sequence += 1;
  return { executionId: `m${sequence}`, tenantId, plan: planOf(body), inputJson: JSON.stringify(input), limits: { ...testLimits, memoryLimitMb: 64, timeoutMs: 20_000, ...limits } };
}

function codeOf(outcome: ExecutionOutcome): string {
  return outcome.ok ? 'ok' : outcome.error.code;
}

function fixture(name: string): string {
  return fileURLToPath(new URL(`../test/fixtures/${name}`, import.meta.url));
}

let pools: WorkerProcessPool[] = [];
afterEach(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
  pools = [];
});

async function startedPool(options: WorkerProcessPoolOptions = {}): Promise<WorkerProcessPool> {
  const pool = new WorkerProcessPool({ workers: 1, ...options });
  pools.push(pool);
  await pool.start();
  return pool;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** RSS of the pool's only worker once it is up (after a replacement, the new process). */
async function workerRss(pool: WorkerProcessPool): Promise<number> {
  expect(await pool.execute(request('probe', 'return 1;'))).toMatchObject({ ok: true });
  return residentBytes(pool.pids[0] as number);
}

/** Memory outside the V8 heap, each measured at 0.4-7 GB of worker RSS from a 64 MB isolate before the ceiling. */
const outsideTheHeap: Array<[string, string]> = [
  ['Intl.Segmenter segments of a big string, into an array', `const s = 'ab cd '.repeat(1_000_000); return Array.from(new Intl.Segmenter('en', { granularity: 'word' }).segment(s)).length;`],
  [
    'thousands of Intl.DateTimeFormat with varied options',
    `const zones = Intl.supportedValuesOf('timeZone'); const locales = ['en-US', 'de-DE', 'fr-FR', 'ja-JP', 'ar-EG', 'zh-CN', 'ru-RU', 'hi-IN'];
     const styles = ['full', 'long', 'medium', 'short']; const kept = [];
     for (let i = 0; i < 40000; i++) kept.push(new Intl.DateTimeFormat(locales[i % 8], { timeZone: zones[i % zones.length], dateStyle: styles[i % 4], timeStyle: styles[(i >> 2) % 4] }));
     return kept.length;`,
  ],
  ['one huge flattened string', `let s = 'ab'; for (let i = 0; i < 27; i++) s = s + s; return s.indexOf('z');`],
];

describe('resident-memory ceiling per sandbox process', () => {
  it.each(outsideTheHeap)('%s: BEDDEL_MEMORY_LIMIT, the queued victim still runs, worker RSS back near its baseline', async (_name, body) => {
    const pool = await startedPool();
    const baseline = await workerRss(pool);
    const attack = pool.execute(request('attacker', body));
    // Queued behind the attack on the only worker: it must be requeued, not failed.
    await sleep(20);
    const victim = pool.execute(request('victim', 'return input.n * 2;', { n: 21 }));
    const outcome = await attack;
    expect(codeOf(outcome)).toBe('BEDDEL_MEMORY_LIMIT');
    if (!outcome.ok) expect(outcome.error.message).toMatch(/resident|memory/);
    expect(await victim).toMatchObject({ ok: true, outputJson: '42' });
    const after = await workerRss(pool);
    expect(after).toBeLessThan(baseline + 40 * MB);
  }, 60_000);

  it('a worker left over its soft ceiling after a result is recycled without failing anything', async () => {
    const probe = await startedPool();
    const baseline = await workerRss(probe);
    await probe.close();
    // Grows RSS ~150 MB (kept ICU memory), under the hard per-execution ceiling (64 MB limit: 192 MB).
    const pool = await startedPool({ memoryCeiling: { recycleRssBytes: baseline + 80 * MB } });
    const firstPid = pool.pids[0];
    const grow = `const zones = Intl.supportedValuesOf('timeZone'); const kept = [];
      for (let i = 0; i < 5000; i++) kept.push(new Intl.DateTimeFormat(['en-US', 'de-DE', 'ja-JP', 'ar-EG'][i % 4], { timeZone: zones[i % zones.length], dateStyle: 'full', timeStyle: ['full', 'long'][i % 2] }));
      return kept.length;`;
    const outcome = await pool.execute(request('grower', grow));
    expect(outcome).toMatchObject({ ok: true, outputJson: '5000' });
    const next = await pool.execute(request('next', 'return "served";'));
    expect(next).toMatchObject({ ok: true, outputJson: '"served"' });
    expect(pool.pids[0]).not.toBe(firstPid);
    expect(pool.restarts).toBe(1);
    expect(residentBytes(pool.pids[0] as number)).toBeLessThan(baseline + 40 * MB);
  }, 60_000);
});

describe('fatal out-of-memory is detected without V8 stderr text', () => {
  it.each([
    ['one huge array', 'return new Array(2 ** 28).fill(0).length;'],
    ['millions of object keys', 'const o = {}; for (let i = 0; ; i++) o["k" + i] = i;'],
  ])('%s with the worker stderr silenced: BEDDEL_MEMORY_LIMIT within 3 s, next run served', async (_name, body) => {
    const pool = await startedPool({ workerEntry: fixture('no-stderr-worker.mjs') });
    expect(await pool.execute(request('bomber', 'return 1;', {}, { memoryLimitMb: 16 }))).toMatchObject({ ok: true });
    const started = performance.now();
    const outcome = await pool.execute(request('bomber', body, {}, { memoryLimitMb: 16, timeoutMs: 10_000 }));
    const elapsed = performance.now() - started;
    expect(codeOf(outcome)).toBe('BEDDEL_MEMORY_LIMIT');
    expect(elapsed).toBeLessThan(3000);
    expect(await pool.execute(request('bomber', 'return "still here";', {}, { memoryLimitMb: 16 }))).toMatchObject({ ok: true, outputJson: '"still here"' });
  }, 30_000);

  it('a worker that aborts (SIGABRT, as a V8 fatal error does) is reported as BEDDEL_MEMORY_LIMIT', async () => {
    const pool = await startedPool({ workerEntry: fixture('aborting-worker.mjs') });
    const outcome = await pool.execute(request('t', 'return 1;'));
    expect(codeOf(outcome)).toBe('BEDDEL_MEMORY_LIMIT');
    if (!outcome.ok) expect(outcome.error.message).toMatch(/SIGABRT/);
  });
});

describe('CPU reported when the supervisor kills a worker', () => {
  it('a deadline kill reports the CPU the worker spent on the execution, not 0', async () => {
    // A short deadline grace and work isolated-vm's timeout cannot stop: one long built-in call
    // (String#normalize over ~16 M characters; ~0.75 s here). A huge JSON.parse did this before
    // the guest capped JSON.parse input (ADR 0005).
    const pool = await startedPool({ deadlineGraceMs: 50 });
    const body = `return '\\u1E9B\\u0323'.repeat(8_000_000).normalize('NFKC').length;`;
    const outcome = await pool.execute(request('spender', body, {}, { timeoutMs: 300, memoryLimitMb: 256 }));
    expect(codeOf(outcome)).toBe('BEDDEL_TIMEOUT');
    expect(outcome.metrics.cpuMs).toBeGreaterThan(100);
    expect(outcome.metrics.cpuMs).toBeLessThan(outcome.metrics.durationMs * 2.5 + 50);
  }, 30_000);
});
