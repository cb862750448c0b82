import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '@beddel/engine';
import type { Engine } from '@beddel/engine';
import { isolatedVmExecutor } from '@beddel/executor-isolated-vm';
import { ATTACKS, transformation } from './attacks.js';
import type { Attack } from './attacks.js';
import { runSelftest } from './run-selftest.js';

let engine: Engine;
beforeAll(async () => {
  engine = await createEngine({ plugins: [isolatedVmExecutor({ workers: 2 })] });
});
afterAll(() => engine.close());

describe('selftest', () => {
  it('blocks every built-in attack on the default engine: score 10', async () => {
    const report = await runSelftest(engine);
    const failed = report.results.filter((result) => !result.blocked).map((result) => `${result.id}: ${result.observed}`);
    expect(failed).toEqual([]);
    expect(report).toMatchObject({ score: 10, blocked: ATTACKS.length, total: ATTACKS.length });
    expect(new Set(report.results.map((result) => result.id)).size).toBe(ATTACKS.length);
  }, 120_000);

  it('blocks every built-in attack with the frozen-realm executor too', async () => {
    const frozen = await createEngine({ plugins: [isolatedVmExecutor({ workers: 1, realm: 'frozen' })] });
    try {
      const report = await runSelftest(frozen);
      expect(report.results.filter((result) => !result.blocked).map((result) => `${result.id}: ${result.observed}`)).toEqual([]);
      expect(report.score).toBe(10);
    } finally {
      await frozen.close();
    }
  }, 120_000);

  it('scores below 10 when an attack gets through, and counts a throwing attack as not blocked', async () => {
    const leaky: Attack = {
      id: 'leaky',
      category: 'escape',
      checks: 'A deliberately failing check: expects a value the sandbox really returns.',
      async run({ engine: target, tenant }) {
        const result = await target.tenant(tenant('a')).run(transformation('return typeof JSON;'), {});
        return { blocked: result.ok && result.output === 'undefined', observed: JSON.stringify(result.ok ? result.output : result.error.code) };
      },
    };
    const throwing: Attack = { id: 'throwing', category: 'payload', checks: 'throws', run: () => Promise.reject(new Error('boom')) };
    const report = await runSelftest(engine, { attacks: [ATTACKS[0] as Attack, leaky, throwing] });
    expect(report).toMatchObject({ score: 3.3, blocked: 1, total: 3 });
    expect(report.results[2]?.observed).toBe('the attack threw: boom');
  });
});
