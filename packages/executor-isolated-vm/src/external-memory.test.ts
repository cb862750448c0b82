/**
 * `heapBytes` counts memory outside the V8 heap too: ArrayBuffer backing stores are external
 * memory, which isolated-vm counts against `memoryLimit` but `used_heap_size` leaves out.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ExecutionOutcome } from '@beddel/contracts';
import { IsolateSandbox } from './isolate-sandbox.js';
import { planOf, testLimits } from './test-support/plans.js';

const MiB = 1024 * 1024;
const limits = { ...testLimits, memoryLimitMb: 64, timeoutMs: 5000 };
const sandbox = new IsolateSandbox();
afterAll(() => sandbox.close());

function run(tenantId: string, ...bodies: string[]): ExecutionOutcome {
  return sandbox.run({ tenantId, plan: planOf(...bodies), inputJson: '{}', limits });
}

describe('heapBytes counts external memory', () => {
  it.each([
    ['ArrayBuffers', 'new ArrayBuffer(1024 * 1024)'],
    ['typed arrays', 'new Float64Array(128 * 1024)'],
    ['DataViews over fresh buffers', 'new DataView(new ArrayBuffer(1024 * 1024))'],
  ])('a step that retains 40 MiB of %s reports at least 40 MiB', (_what, allocation) => {
    const outcome = run(`t-${_what.replace(/[^a-z]/gi, '')}`, `const keep = []; for (let i = 0; i < 40; i++) keep.push(${allocation}); return keep.length;`);
    expect(outcome).toMatchObject({ ok: true, outputJson: '40' });
    expect(outcome.metrics.heapBytes).toBeGreaterThanOrEqual(40 * MiB);
  });

  it('memory allocated in one step and kept by a later one is counted once, in full', () => {
    const outcome = run(
      't-two-steps',
      'globalThis.kept = Array.from({ length: 12 }, () => new Uint8Array(1024 * 1024)); return 12;',
      'globalThis.kept.push(...Array.from({ length: 12 }, () => new Uint8Array(1024 * 1024))); return globalThis.kept.length;',
    );
    expect(outcome).toMatchObject({ ok: true, outputJson: '24' });
    expect(outcome.metrics.heapBytes).toBeGreaterThanOrEqual(24 * MiB);
    // The whole isolate is below its limit, so the report is a measurement, not a guess.
    expect(outcome.metrics.heapBytes).toBeLessThan(limits.memoryLimitMb * MiB);
  });

  it('the pool accounts for external memory of a warm isolate', () => {
    const isolated = new IsolateSandbox();
    isolated.run({ tenantId: 'heavy', plan: planOf('globalThis.kept = Array.from({ length: 20 }, () => new Uint8Array(1024 * 1024)); return 1;'), inputJson: '{}', limits });
    const [entry] = isolated.stats().perTenant;
    expect(entry?.tenantId).toBe('heavy');
    expect(entry?.heapBytes).toBeGreaterThanOrEqual(20 * MiB);
    expect(isolated.stats().accountedHeapBytes).toBeGreaterThanOrEqual(20 * MiB);
    isolated.close();
  });
});
