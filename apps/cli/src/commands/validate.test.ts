import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureDir, runCli, transformation } from '../test-support/cli-harness.js';

let fixtures: Awaited<ReturnType<typeof fixtureDir>>;

beforeAll(async () => {
  fixtures = await fixtureDir({
    'good.yaml': transformation('good', { a: 'return 1;', b: 'return steps.a + 1;' }),
    'bad.yaml': 'apiVersion: beddel/v2\nkind: Transformation\nmetadata: { name: bad, version: 1.0.0 }\nspec:\n  limts: {}\n  steps:\n    - name: a\n      run: "return ("\n',
  });
});
afterAll(() => fixtures.cleanup());

describe('beddel validate', () => {
  it('says valid and exits 0', async () => {
    expect(await runCli(['validate', fixtures.path('good.yaml')])).toEqual({ code: 0, stdout: 'valid: good@1.0.0 (2 steps)\n', stderr: '' });
  });

  it('prints every problem as "path: message" and exits 2', async () => {
    const { code, stdout } = await runCli(['validate', fixtures.path('bad.yaml')]);
    expect(code).toBe(2);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^apiVersion: must be "beddel\/v1"/);
    expect(lines[1]).toMatch(/^spec\.limts: is not a known key/);
    expect(lines[2]).toMatch(/^spec\.steps\[0\]\.run: SyntaxError/);
  });

  it('--json prints the problems as a JSON array ([] when valid)', async () => {
    const bad = await runCli(['validate', '--json', fixtures.path('bad.yaml')]);
    expect(bad.code).toBe(2);
    const problems = JSON.parse(bad.stdout) as Array<{ path: string; message: string }>;
    expect(problems.map((problem) => problem.path)).toEqual(['apiVersion', 'spec.limts', 'spec.steps[0].run']);
    expect(await runCli(['validate', fixtures.path('good.yaml'), '--json'])).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
  });

  it('reads stdin with -', async () => {
    const { code, stdout } = await runCli(['validate', '-'], { stdin: transformation('piped', { a: 'return 1;' }) });
    expect(code).toBe(0);
    expect(stdout).toBe('valid: piped@1.0.0 (1 step)\n');
  });

  it('exits 2 with BEDDEL_FILE_UNREADABLE for a missing file', async () => {
    const { code, stderr } = await runCli(['validate', fixtures.path('missing.yaml')]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error BEDDEL_FILE_UNREADABLE: Cannot read the transformation file .*missing\.yaml.*ENOENT/);
  });
});
