import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXECUTOR } from '@beddel/contracts';
import type { EnginePlugin, ExecutionOutcome, ExecutionRequest, Executor, RunResult } from '@beddel/contracts';
import { createEngine } from './engine.js';
import type { Engine } from './engine.js';

/*
 * The engine parses tenant YAML, compiles tenant JSON Schemas and validates inputs and outputs on
 * its own event loop. One tenant's worst allowed document or value must not stall another
 * tenant's run: here both start together and the victim's latency is measured from that moment
 * (the attacker's synchronous work on the host thread delays it, whatever the executor does).
 */

/**
 * Answers with the input as output, so output validation sees what the attacker sent; for an input
 * `{ "nestedArrays": n }`, with n nested arrays (deeper than the host's JSON.stringify can take, as
 * a guest can make them).
 */
class EchoExecutor implements Executor {
  async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
    await Promise.resolve();
    const depth = (JSON.parse(request.inputJson) as { nestedArrays?: number } | null)?.nestedArrays;
    const outputJson = depth === undefined ? request.inputJson : `${'['.repeat(depth)}${']'.repeat(depth)}`;
    return { ok: true, outputJson, metrics: { durationMs: 1, cpuMs: 0.5, heapBytes: 100 } };
  }
  evictTenant(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function echoPlugin(): EnginePlugin {
  return { name: 'echo-executor', register: (registrar) => registrar.value(EXECUTOR, new EchoExecutor()) };
}

const VICTIM = `apiVersion: beddel/v1
kind: Transformation
metadata: { name: victim, version: 1.0.0 }
spec:
  steps:
    - name: only
      run: return input;
`;

function document(spec: object): object {
  return { apiVersion: 'beddel/v1', kind: 'Transformation', metadata: { name: 'attack', version: '1.0.0' }, spec: { ...spec, steps: [{ name: 'only', run: 'return input;' }] } };
}

/** Generous for a noisy machine; each attack blocked the host for 2.3 s to minutes before. */
const VICTIM_BOUND_MS = 1_500;

let engine: Engine;
beforeAll(async () => {
  engine = await createEngine({ plugins: [echoPlugin()], compiler: { cacheSize: 0 } });
});
afterAll(async () => {
  await engine.close();
});

async function attackWithVictim(source: string | object, input: unknown): Promise<{ attacker: RunResult; victim: RunResult; victimMs: number }> {
  // Warm the victim's path first, so only the attack is measured.
  expect((await engine.tenant('victim').run(VICTIM, { n: 0 })).ok).toBe(true);
  const started = performance.now();
  const attack = engine.tenant('attacker').run(source, input);
  const victimRun = engine.tenant('victim').run(VICTIM, { n: 1 });
  const victim = await victimRun;
  const victimMs = performance.now() - started;
  return { attacker: await attack, victim, victimMs };
}

function failureOf(result: RunResult): { code: string; path: string | undefined } {
  if (result.ok) throw new Error('expected the attacker run to fail');
  return { code: result.error.code, path: result.error.path };
}

describe('one tenant cannot stall the host for another', { timeout: 120_000 }, () => {
  it('a YAML document with 6,000 errors', async () => {
    const { attacker, victim, victimMs } = await attackWithVictim('- &a &b x\n'.repeat(6_000), {});
    expect(failureOf(attacker).code).toBe('BEDDEL_INVALID_TRANSFORMATION');
    expect(victim.ok).toBe(true);
    expect(victimMs).toBeLessThan(VICTIM_BOUND_MS);
  });

  it('a JSON Schema with 3,000 patterns', async () => {
    const inputSchema = { properties: Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`p${i}`, { pattern: `^a${i}$` }])) };
    const { attacker, victim, victimMs } = await attackWithVictim(document({ inputSchema }), {});
    expect(failureOf(attacker)).toEqual({ code: 'BEDDEL_INVALID_TRANSFORMATION', path: 'spec.inputSchema' });
    expect(victim.ok).toBe(true);
    expect(victimMs).toBeLessThan(VICTIM_BOUND_MS);
  });

  it('an input against a catastrophic-backtracking pattern', async () => {
    const inputSchema = { type: 'object', properties: { name: { type: 'string', pattern: '^(a+)+$' } } };
    const { attacker, victim, victimMs } = await attackWithVictim(document({ inputSchema }), { name: `${'a'.repeat(28)}!` });
    expect(failureOf(attacker)).toEqual({ code: 'BEDDEL_INPUT_INVALID', path: 'input.name' });
    expect(victim.ok).toBe(true);
    expect(victimMs).toBeLessThan(VICTIM_BOUND_MS);
  });

  it('a guest output against uniqueItems on 10,000 objects', async () => {
    // The duplicates come first: ajv compared each item with every earlier one, from the end.
    const items = Array.from({ length: 10_000 }, (_, i) => ({ id: i, tags: ['a', 'b'] }));
    items.unshift({ id: 0, tags: ['a', 'b'] });
    const { attacker, victim, victimMs } = await attackWithVictim(document({ outputSchema: { type: 'array', uniqueItems: true } }), items);
    expect(failureOf(attacker)).toEqual({ code: 'BEDDEL_OUTPUT_INVALID', path: 'output' });
    expect(victim.ok).toBe(true);
    expect(victimMs).toBeLessThan(VICTIM_BOUND_MS);
  });

  it('a guest output that makes a recursive schema fan out, and one nested past the stack', async () => {
    const branch = { type: 'object', properties: { a: { $ref: '#/definitions/t' } } };
    const outputSchema = { definitions: { t: { anyOf: [branch, { ...branch, minProperties: 0 }, { ...branch, maxProperties: 9 }] } }, $ref: '#/definitions/t' };
    const nested = JSON.parse(`${'{"a":'.repeat(24)}1${'}'.repeat(24)}`) as unknown;
    const fanOut = await attackWithVictim(document({ outputSchema }), nested);
    expect(failureOf(fanOut.attacker).code).toBe('BEDDEL_OUTPUT_INVALID');
    expect(failureOf(fanOut.attacker).path).toMatch(/^output(\.a)+$/);
    expect(fanOut.victim.ok).toBe(true);
    expect(fanOut.victimMs).toBeLessThan(VICTIM_BOUND_MS);

    const arrays = { definitions: { t: { type: 'array', items: { $ref: '#/definitions/t' } } }, $ref: '#/definitions/t' };
    const overflow = await attackWithVictim(document({ outputSchema: arrays }), { nestedArrays: 30_000 });
    // It was BEDDEL_INTERNAL: the stack overflow escaped validation.
    expect(failureOf(overflow.attacker)).toEqual({ code: 'BEDDEL_OUTPUT_INVALID', path: 'output' });
    expect(overflow.victim.ok).toBe(true);
  });
});
