import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureDir, jsonLines, runCli, transformation, useTempCwd } from '../test-support/cli-harness.js';

let fixtures: Awaited<ReturnType<typeof fixtureDir>>;
useTempCwd();

beforeAll(async () => {
  fixtures = await fixtureDir({
    'sum.yaml': transformation('sum', { total: 'return (input.a ?? 0) + (input.b ?? 0);', result: 'return { total: steps.total, keys: Object.keys(input) };' }),
    'throws.yaml': transformation('throws', { boom: 'throw new Error("no such customer");' }),
    'invalid.yaml': 'apiVersion: beddel/v1\nkind: Transformation\nmetadata: { name: broken }\nspec:\n  steps:\n    - name: a\n      run: "return ("\n',
    'input.json': '{ "a": 2, "b": 40 }',
    'not-json.json': '{ "a": 2,',
  });
});
afterAll(() => fixtures.cleanup());

describe('beddel run', () => {
  it('prints one JSON RunResult on stdout and exits 0 when the run succeeds', async () => {
    const { code, stdout, stderr } = await runCli(['run', fixtures.path('sum.yaml'), '--tenant', 'acme', '--input', fixtures.path('input.json')]);
    expect(code).toBe(0);
    const lines = jsonLines(stdout);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ ok: true, tenant: 'acme', output: { total: 42, keys: ['a', 'b'] }, transformation: { name: 'sum', version: '1.0.0' } });
    expect(lines[0]!.executionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines[0]!.metrics).toEqual({ durationMs: expect.any(Number), cpuMs: expect.any(Number), heapBytes: expect.any(Number) });
    // Audited by default (file:.beddel/audit in the current directory): the result carries its receipt.
    expect(lines[0]!.receipt).toEqual({ tenantId: 'acme', sequence: expect.any(Number), recordHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(stderr).toBe('');
  });

  it('--no-audit runs without an audit log: no receipt, and the engine says so on stderr (logs never go to stdout)', async () => {
    const { code, stdout, stderr } = await runCli(['run', fixtures.path('sum.yaml'), '--tenant', 'acme', '--no-audit']);
    expect(code).toBe(0);
    expect(jsonLines(stdout)[0]).not.toHaveProperty('receipt');
    expect(stderr).toContain('no audit log plugin is registered');
  });

  it('uses {} as input when --input is not given', async () => {
    const { code, stdout } = await runCli(['run', fixtures.path('sum.yaml'), '-t', 'acme']);
    expect(code).toBe(0);
    expect(jsonLines(stdout)[0]).toMatchObject({ ok: true, output: { total: 0, keys: [] } });
  });

  it('reads the input from stdin with --input -', async () => {
    const { code, stdout } = await runCli(['run', fixtures.path('sum.yaml'), '-t', 'acme', '-i', '-'], { stdin: '{"a": 1, "b": 1}' });
    expect(code).toBe(0);
    expect(jsonLines(stdout)[0]).toMatchObject({ output: { total: 2 } });
  });

  it('exits 1 with the error in the result when the run fails', async () => {
    const { code, stdout } = await runCli(['run', fixtures.path('throws.yaml'), '--tenant', 'acme']);
    expect(code).toBe(1);
    expect(jsonLines(stdout)[0]).toMatchObject({ ok: false, error: { code: 'BEDDEL_RUNTIME_ERROR', step: 'boom', message: 'Error: no such customer' } });
  });

  it('exits 2 and still prints the result for an invalid transformation', async () => {
    const { code, stdout } = await runCli(['run', fixtures.path('invalid.yaml'), '--tenant', 'acme']);
    expect(code).toBe(2);
    const [result] = jsonLines(stdout);
    expect(result).toMatchObject({ ok: false, error: { code: 'BEDDEL_INVALID_TRANSFORMATION' } });
    expect(result!.error?.details?.map((problem) => problem.path)).toEqual(['metadata.version', 'spec.steps[0].run']);
  });

  it.each([
    ['an unreadable transformation file', ['run', 'missing.yaml', '-t', 'acme'], 'BEDDEL_FILE_UNREADABLE'],
    ['an unreadable input file', ['run', 'SUM', '-t', 'acme', '-i', 'missing.json'], 'BEDDEL_FILE_UNREADABLE'],
    ['input that is not JSON', ['run', 'SUM', '-t', 'acme', '-i', 'NOT_JSON'], 'BEDDEL_INPUT_NOT_JSON'],
    ['an invalid tenant id', ['run', 'SUM', '-t', '../etc'], 'BEDDEL_INVALID_TENANT'],
  ])('exits 2 with nothing on stdout for %s', async (_name, argv, expected) => {
    const args = argv.map((arg) => (arg === 'SUM' ? fixtures.path('sum.yaml') : arg === 'NOT_JSON' ? fixtures.path('not-json.json') : arg));
    const { code, stdout, stderr } = await runCli(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(new RegExp(`error ${expected}: .+\\nhint: .+\\n$`));
  });
});
