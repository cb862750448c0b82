import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureDir, jsonLines, runCli, transformation, useTempCwd } from '../test-support/cli-harness.js';

let fixtures: Awaited<ReturnType<typeof fixtureDir>>;
useTempCwd();

beforeAll(async () => {
  fixtures = await fixtureDir({
    'hash.yaml': transformation('hash', { digest: 'return beddel.sha256(input.text);' }),
    'profiles.yaml': [
      'apiVersion: beddel/v1',
      'kind: SecurityProfiles',
      'profiles:',
      '  hashing:',
      '    extends: default',
      '    allowLoosening: true',
      '    capabilities: { hash: {} }',
      'tenants:',
      '  acme: hashing',
      '',
    ].join('\n'),
    'profiles.json': JSON.stringify({ apiVersion: 'beddel/v1', kind: 'SecurityProfiles', tenants: { acme: { extends: 'default', allowLoosening: true, capabilities: { hash: {} } } } }),
    'bad.yaml': [
      'apiVersion: beddel/v1',
      'kind: SecurityProfiles',
      'profiles:',
      '  gold:',
      '    extends: default',
      '    limits: { timeoutMs: fast, maxSteps: 0 }',
      'tenants:',
      '  acme: gold',
      '',
    ].join('\n'),
    'jobs.jsonl': `${JSON.stringify({ tenant: 'acme', transformation: 'hash.yaml', input: { text: 'x' } })}\n`,
  });
});
afterAll(() => fixtures.cleanup());

const SHA256_OF_X = '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881';

describe('--profiles', () => {
  it('gives each tenant its profile: acme may hash, another tenant (default profile) may not', async () => {
    const acme = await runCli(['run', fixtures.path('hash.yaml'), '-t', 'acme', '-i', '-', '--profiles', fixtures.path('profiles.yaml'), '--no-audit'], { stdin: '{"text":"x"}' });
    expect(acme.code).toBe(0);
    expect(jsonLines(acme.stdout)[0]).toMatchObject({ ok: true, output: SHA256_OF_X });

    const globex = await runCli(['run', fixtures.path('hash.yaml'), '-t', 'globex', '-i', '-', '--profiles', fixtures.path('profiles.yaml'), '--no-audit'], { stdin: '{"text":"x"}' });
    expect(globex.code).toBe(1);
    expect(jsonLines(globex.stdout)[0]).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED' } });
  });

  it('reads a .json file as JSON, and applies to batch jobs', async () => {
    const { code, stdout } = await runCli(['batch', fixtures.path('jobs.jsonl'), '--profiles', fixtures.path('profiles.json'), '--no-audit']);
    expect(code).toBe(0);
    expect(jsonLines(stdout)[0]).toMatchObject({ line: 1, ok: true, output: SHA256_OF_X });
  });

  it.each([
    ['run', ['run', 'HASH', '-t', 'acme']],
    ['batch', ['batch', 'JOBS']],
    ['selftest', ['selftest']],
    ['debug heap-snapshot', ['debug', 'heap-snapshot', 'HASH', '-t', 'acme']],
  ])('%s: a bad file stops start-up with exit 2, BEDDEL_CONFIGURATION and every problem with its path', async (_name, argv) => {
    const args = [...argv.map((arg) => (arg === 'HASH' ? fixtures.path('hash.yaml') : arg === 'JOBS' ? fixtures.path('jobs.jsonl') : arg)), '--profiles', fixtures.path('bad.yaml')];
    const { code, stdout, stderr } = await runCli(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`error BEDDEL_CONFIGURATION: Invalid security profiles in ${fixtures.path('bad.yaml')} (2 problems):\n`);
    expect(stderr).toMatch(/^ {2}profiles\.gold\.limits\.timeoutMs: must be a positive integer, found the string "fast"$/m);
    expect(stderr).toMatch(/^ {2}profiles\.gold\.limits\.maxSteps: /m);
    expect(stderr).toMatch(/\nhint: .+\n$/);
  });

  it('an unreadable file is BEDDEL_CONFIGURATION too, exit 2', async () => {
    const { code, stderr } = await runCli(['run', fixtures.path('hash.yaml'), '-t', 'acme', '--profiles', fixtures.path('missing.yaml')]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error BEDDEL_CONFIGURATION: Cannot read security profiles file .*missing\.yaml: ENOENT/);
  });
});
