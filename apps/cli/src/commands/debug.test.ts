import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureDir, jsonLines, runCli, transformation, useTempCwd } from '../test-support/cli-harness.js';

let fixtures: Awaited<ReturnType<typeof fixtureDir>>;
const cwd = useTempCwd();

beforeAll(async () => {
  fixtures = await fixtureDir({
    'keep.yaml': transformation('keep', { result: 'const kept = { marker: "heap-snapshot-marker-" + input.n }; return kept.marker;' }),
    // Turning snapshots on loosens the built-in `default` profile, so the profile must say allowLoosening.
    'profiles.yaml': [
      'apiVersion: beddel/v1',
      'kind: SecurityProfiles',
      'profiles:',
      '  debuggable:',
      '    extends: default',
      '    allowLoosening: true',
      '    allowHeapSnapshots: true',
      'tenants:',
      '  acme: debuggable',
      '',
    ].join('\n'),
  });
});
afterAll(() => fixtures.cleanup());

describe('beddel debug heap-snapshot', () => {
  it('writes a V8 heap snapshot when the profile allows it, prints the result, exit 0', async () => {
    const out = join(cwd.dir(), 'acme.heapsnapshot');
    const { code, stdout, stderr } = await runCli(
      ['debug', 'heap-snapshot', '--tenant', 'acme', fixtures.path('keep.yaml'), '-i', '-', '--out', out, '--profiles', fixtures.path('profiles.yaml')],
      { stdin: '{"n": 7}' },
    );
    expect(code).toBe(0);
    const [result] = jsonLines(stdout);
    expect(result).toMatchObject({ ok: true, tenant: 'acme', output: 'heap-snapshot-marker-7', heapSnapshot: { path: out } });
    // Audited like any other run (default log).
    expect(result!.receipt).toMatchObject({ tenantId: 'acme', sequence: 0 });
    const bytes = (await stat(out)).size;
    expect(result!.heapSnapshot!.bytes).toBe(bytes);
    expect(stderr).toBe(`heap snapshot: ${out} (${bytes} bytes)\n`);
    const snapshot = JSON.parse(await readFile(out, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(snapshot)).toEqual(expect.arrayContaining(['snapshot', 'nodes', 'strings']));
    expect(snapshot.strings).toEqual(expect.arrayContaining([expect.stringContaining('heap-snapshot-marker-')]));
  });

  it('is refused for a tenant whose profile does not allow it: BEDDEL_CAPABILITY_DENIED, the hint, no file, exit 1', async () => {
    const out = join(cwd.dir(), 'globex.heapsnapshot');
    const { code, stdout, stderr } = await runCli(['debug', 'heap-snapshot', '-t', 'globex', fixtures.path('keep.yaml'), '-o', out, '--profiles', fixtures.path('profiles.yaml'), '--no-audit', '--log-level', 'error']);
    expect(code).toBe(1);
    expect(jsonLines(stdout)[0]).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED', message: expect.stringContaining('does not set allowHeapSnapshots') } });
    expect(stderr).toMatch(/^error BEDDEL_CAPABILITY_DENIED: Heap snapshots are not allowed for tenant globex.*\nhint: Set allowHeapSnapshots: true \(with allowLoosening: true\) in the tenant's profile/);
    await expect(stat(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('is off by default: without --profiles every tenant is refused', async () => {
    const { code, stdout } = await runCli(['debug', 'heap-snapshot', '-t', 'acme', fixtures.path('keep.yaml'), '--no-audit', '--log-level', 'error']);
    expect(code).toBe(1);
    expect(jsonLines(stdout)[0]).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED' } });
  });

  it.each([
    [['debug'], /^error BEDDEL_USAGE: Missing the debug subcommand \(heap-snapshot\)\./],
    [['debug', 'cpu-profile'], /^error BEDDEL_USAGE: Unknown debug subcommand "cpu-profile"/],
    [['debug', 'heap-snapshot', 'x.yaml'], /^error BEDDEL_USAGE: Missing --tenant <id>\./],
  ])('%j exits 2', async (argv, stderr) => {
    const run = await runCli(argv);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(stderr);
  });
});
