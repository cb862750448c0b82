import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '@beddel/contracts';
import type { AuditEntry, RunResult } from '@beddel/contracts';
import { isolatedVmExecutor } from '@beddel/executor-isolated-vm';
import { createEngine } from './engine.js';
import { recordingAuditPlugin } from './test-support/recording-audit.js';
import { returning } from './test-support/documents.js';
import type { Engine } from './engine.js';
import { MAX_VALUE_DEPTH } from './run-values.js';

/**
 * One input, one output: the value the guest receives, the value the schema validates and the
 * value the audit hashes are the same value. Each case below passes a non-plain input (or makes
 * the guest return a non-plain output) and checks all three views against each other.
 */

/** Echoes the input back, so the test sees exactly what the guest received. */
function echo(inputSchema = '{}'): string {
  return `apiVersion: beddel/v1
kind: Transformation
metadata: { name: echo, version: 1.0.0 }
spec:
  inputSchema: ${inputSchema}
  steps:
    - name: echo
      run: |
        return { seen: input, kinds: Object.keys(input ?? {}).map((k) => typeof input[k]) };
`;
}


function codeOf(result: RunResult): string {
  return result.ok ? 'ok' : result.error.code;
}

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  get length(): number {
    return Math.hypot(this.x, this.y);
  }
}

describe('one input, one output: the guest, the schema and the audit see the same value', () => {
  let engine: Engine;
  const entries: AuditEntry[] = [];
  const recordingAudit = recordingAuditPlugin(entries);

  beforeAll(async () => {
    engine = await createEngine({ plugins: [isolatedVmExecutor({ mode: 'in-process' }), recordingAudit] });
  });
  afterAll(async () => {
    await engine.close();
  });

  async function run(source: string, input: unknown): Promise<{ result: RunResult; entry: AuditEntry }> {
    const before = entries.length;
    const result = await engine.tenant('values').run(source, input);
    expect(entries.length).toBe(before + 1);
    return { result, entry: entries[entries.length - 1] as AuditEntry };
  }

  function expectSameValue(result: RunResult, entry: AuditEntry, expected: unknown): void {
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const seen = (result.output as { seen: unknown }).seen;
    expect(seen).toEqual(expected);
    expect(entry.input).toEqual(expected);
    expect(canonicalJson(entry.input)).toBe(canonicalJson(seen));
  }

  it('a Date is the ISO string it serialises to, for the guest, the schema and the audit', async () => {
    const { result, entry } = await run(echo('{ type: object, properties: { when: { type: string } } }'), { when: new Date(0) });
    expectSameValue(result, entry, { when: '1970-01-01T00:00:00.000Z' });
    expect((result as { output: { kinds: string[] } }).output.kinds).toEqual(['string']);
  });

  it('the schema validates the normalised value, not the raw object (a Date is not an object there)', async () => {
    const { result, entry } = await run(echo('{ type: object, properties: { when: { type: object } } }'), { when: new Date(0) });
    expect(result.ok ? 'ok' : result.error.code).toBe('BEDDEL_INPUT_INVALID');
    expect(entry.input).toEqual({ when: '1970-01-01T00:00:00.000Z' });
  });

  it('a class instance is its own enumerable data: no prototype getters', async () => {
    const { result, entry } = await run(echo(), { p: new Point(3, 4) });
    expectSameValue(result, entry, { p: { x: 3, y: 4 } });
  });

  it('toJSON is honoured once, on the host, and everything downstream sees its result', async () => {
    const tricky = { toJSON: () => ({ replaced: true }) };
    const { result, entry } = await run(echo(), { a: tricky });
    expectSameValue(result, entry, { a: { replaced: true } });
  });

  it('undefined members are dropped, undefined array items and non-finite numbers become null', async () => {
    const { result, entry } = await run(echo(), { gone: undefined, list: [1, undefined, Number.NaN, Infinity] });
    expectSameValue(result, entry, { list: [1, null, null, null] });
  });

  it('an undefined input is null everywhere', async () => {
    const { result, entry } = await run(returning('return { input };'), undefined);
    expect(result.ok && result.output).toEqual({ input: null });
    expect(entry.input).toBeNull();
  });

  it.each([
    ['a BigInt', { n: 10n }],
    ['a cycle', (() => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      return cyclic;
    })()],
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
  ])('%s is refused with BEDDEL_INPUT_INVALID, and the refusal is audited (input recorded as null)', async (_label, input) => {
    const { result, entry } = await run(echo(), input);
    expect(result.ok ? 'ok' : result.error.code).toBe('BEDDEL_INPUT_INVALID');
    expect(entry.status).toBe('error');
    expect(entry.errorCode).toBe('BEDDEL_INPUT_INVALID');
    expect(entry.input).toBeNull();
  });

  it('an input nested deeper than MAX_VALUE_DEPTH is the caller\'s error, never an audit outage', async () => {
    let deep: unknown = 0;
    for (let level = 0; level < 3000; level++) deep = [deep];
    const { result, entry } = await run(echo(), { deep });
    expect(result.ok ? 'ok' : result.error.code).toBe('BEDDEL_INPUT_INVALID');
    expect(result.ok ? '' : result.error.message).toContain(String(MAX_VALUE_DEPTH));
    expect(entry.errorCode).toBe('BEDDEL_INPUT_INVALID');
  });

  it('an input whose deepest container is at MAX_VALUE_DEPTH runs; one level more is refused', async () => {
    // The root object is depth 0, so n wrappings put the innermost array at depth n.
    const nested = (levels: number): unknown => {
      let deep: unknown = 0;
      for (let level = 0; level < levels; level++) deep = [deep];
      return { deep };
    };
    expect(codeOf((await run(returning('return 1;'), nested(MAX_VALUE_DEPTH))).result)).toBe('ok');
    expect(codeOf((await run(returning('return 1;'), nested(MAX_VALUE_DEPTH + 1))).result)).toBe('BEDDEL_INPUT_INVALID');
  });

  it('a guest output nested deeper than MAX_VALUE_DEPTH is the tenant\'s BEDDEL_OUTPUT_INVALID, and audited', async () => {
    const { result, entry } = await run(returning('let v = 0; for (let i = 0; i < 2000; i++) v = [v]; return v;'), null);
    expect(result.ok ? 'ok' : result.error.code).toBe('BEDDEL_OUTPUT_INVALID');
    expect(entry.errorCode).toBe('BEDDEL_OUTPUT_INVALID');
    expect(entry.output).toBeNull();
  });

  it('a guest Date output is the ISO string in the result and in the audit', async () => {
    const { result, entry } = await run(returning('return { at: new Date(0) };'), null);
    // The default profile does not grant the clock, but a Date from a fixed time needs none.
    expect(result.ok && result.output).toEqual({ at: '1970-01-01T00:00:00.000Z' });
    expect(entry.output).toEqual({ at: '1970-01-01T00:00:00.000Z' });
  });

  it('a guest toJSON is applied in the guest; the host, the schema and the audit see its result', async () => {
    const { result, entry } = await run(
      returning('return { v: { toJSON() { return 42; } } };', '{ type: object, properties: { v: { type: number } } }'),
      null,
    );
    expect(result.ok && result.output).toEqual({ v: 42 });
    expect(entry.output).toEqual({ v: 42 });
  });
});
