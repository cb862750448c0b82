import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BeddelError, DEFAULT_SECURITY_PROFILE, ErrorCodes } from '@beddel/contracts';
import { loadSecurityProfiles, loadSecurityProfilesSync, parseSecurityProfiles } from './security-profiles-file.js';
import type { ParseSecurityProfilesOptions } from './security-profiles-file.js';

const HEADER = 'apiVersion: beddel/v1\nkind: SecurityProfiles\n';

function refusal(text: string, options: ParseSecurityProfilesOptions = {}): BeddelError {
  try {
    parseSecurityProfiles(text, { source: 'ops/profiles.yaml', ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(BeddelError);
    expect((error as BeddelError).code).toBe(ErrorCodes.CONFIGURATION);
    return error as BeddelError;
  }
  throw new Error('the text was accepted');
}

describe('parseSecurityProfiles (YAML)', () => {
  it('reads a versioned document into a registry', () => {
    const registry = parseSecurityProfiles(
      `${HEADER}defaultProfile: standard
profiles:
  standard:
    extends: default
    limits: { timeoutMs: 2000 }
  partner:
    extends: standard
    allowLoosening: true
    capabilities:
      log: { maxLines: 50 }
      hash: {}
      secrets: { keys: [API_BASE_URL] }
tenants:
  acme: partner
  globex:
    extends: strict
    maxConcurrency: 1
`,
      { source: 'profiles.yaml' },
    );
    expect(registry.profileFor('acme')).toMatchObject({
      id: 'partner',
      limits: { timeoutMs: 2000 },
      capabilities: { log: { maxLines: 50, maxBytes: 16_384 }, hash: {}, secrets: { keys: ['API_BASE_URL'] } },
    });
    expect(registry.profileFor('globex')).toMatchObject({ id: 'tenant:globex', maxConcurrency: 1 });
    expect(registry.profileFor('anyone').limits).toEqual({ ...DEFAULT_SECURITY_PROFILE.limits, timeoutMs: 2000 });
  });

  it('requires apiVersion and kind', () => {
    const error = refusal('profiles: {}\n');
    expect(error.details).toEqual([
      { path: 'apiVersion', message: 'must be "beddel/v1", found nothing' },
      { path: 'kind', message: 'must be "SecurityProfiles", found nothing' },
    ]);
  });

  it('names the path of a bad value and the source in the message', () => {
    const error = refusal(`${HEADER}profiles:\n  gold:\n    extends: default\n    limits:\n      timeoutMs: fast\n`);
    expect(error.details).toEqual([{ path: 'profiles.gold.limits.timeoutMs', message: 'must be a positive integer, found the string "fast"' }]);
    expect(error.message).toBe(
      'Invalid security profiles in ops/profiles.yaml (1 problem):\n  profiles.gold.limits.timeoutMs: must be a positive integer, found the string "fast"',
    );
  });

  it('refuses memoryLimitMb under 8', () => {
    expect(refusal(`${HEADER}profiles:\n  tiny:\n    extends: strict\n    limits: { memoryLimitMb: 7 }\n`).details).toEqual([
      { path: 'profiles.tiny.limits.memoryLimitMb', message: "must be at least 8 (isolated-vm's minimum), found 7" },
    ]);
  });

  it('reports loosening found after parsing, with the exact path', () => {
    const error = refusal(`${HEADER}tenants:\n  acme:\n    extends: strict\n    limits: { maxSteps: 100 }\n`);
    expect(error.details).toEqual([{ path: 'tenants.acme.limits.maxSteps', message: expect.stringContaining('raises maxSteps from 8 to 100 over its base "strict"') }]);
  });

  it('refuses bad YAML with its line', () => {
    const error = refusal(`${HEADER}profiles: [unclosed\n`);
    expect(error.details[0]?.message).toMatch(/^YAML: .*line \d+, column \d+/);
  });

  it('refuses duplicate keys', () => {
    expect(refusal(`${HEADER}profiles: {}\nprofiles: {}\n`).details[0]?.message).toContain('Map keys must be unique');
  });

  it('refuses YAML tags, even standard ones', () => {
    const error = refusal(`${HEADER}defaultProfile: !!str strict\nprofiles: !custom {}\n`);
    expect(error.details.map((problem) => problem.path)).toEqual(['defaultProfile', 'profiles']);
    expect(error.details[1]?.message).toMatch(/^YAML tags are not allowed \(found !custom\)/);
    expect(error.details[0]?.message).toMatch(/^YAML tags are not allowed \(found !!str\) \(line 3, column \d+\)$/);
  });

  it('refuses merge keys as an unknown key', () => {
    const error = refusal(`${HEADER}profiles:\n  a: &a { extends: default }\n  b:\n    <<: *a\n`);
    expect(error.details).toEqual([{ path: 'profiles.b["<<"]', message: expect.stringContaining('unknown key') }, { path: 'profiles.b.extends', message: expect.stringContaining('is required') }]);
  });

  it('caps alias expansion', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let level = 1; level < 6; level++) lines.push(`${String.fromCharCode(97 + level)}: &${String.fromCharCode(97 + level)} [${Array(10).fill(`*${String.fromCharCode(96 + level)}`).join(', ')}]`);
    expect(refusal(`${HEADER}${lines.join('\n')}\n`).details[0]?.message).toMatch(/^YAML: aliases expand too much \(at most 100\)/);
  });

  it('refuses __proto__ keys', () => {
    expect(refusal(`${HEADER}tenants:\n  __proto__: strict\n`).details).toEqual([{ path: 'tenants.__proto__', message: 'the key __proto__ is not allowed' }]);
  });

  it('refuses several documents and an empty file', () => {
    expect(refusal(`${HEADER}---\n${HEADER}`).details[0]?.message).toBe('the file must hold one YAML document, found 2');
    expect(refusal('').details[0]?.message).toBe('the file is empty');
    expect(refusal('# nothing\n').details[0]?.message).toBe('the file is empty');
    expect(refusal('just text').details[0]?.message).toBe('the document must be a mapping, found the string "just text"');
  });
});

describe('parseSecurityProfiles (JSON)', () => {
  it('reads the same document written as JSON', () => {
    const registry = parseSecurityProfiles(
      JSON.stringify({ apiVersion: 'beddel/v1', kind: 'SecurityProfiles', profiles: { small: { extends: 'strict', maxConcurrency: 2 } }, tenants: { acme: 'small' } }),
      { format: 'json' },
    );
    expect(registry.profileFor('acme')).toMatchObject({ id: 'small', maxConcurrency: 2 });
  });

  it('refuses invalid JSON, and YAML given as JSON', () => {
    expect(refusal('{"apiVersion": "beddel/v1",}', { format: 'json' }).details[0]?.message).toMatch(/^JSON: /);
    expect(refusal(HEADER, { format: 'json' }).details[0]?.message).toMatch(/^JSON: /);
  });

  it('refuses duplicate keys, which JSON.parse would drop', () => {
    const text = '{"apiVersion":"beddel/v1","kind":"SecurityProfiles","tenants":{"acme":"strict","list":"x\\"y","acme":"default"},"profiles":{"p":{"extends":"strict","capabilities":{"secrets":{"keys":["A"]}}}}}';
    expect(refusal(text, { format: 'json' }).details).toEqual([{ path: 'tenants.acme', message: 'duplicate key: keys must be unique' }]);
  });

  it('refuses __proto__ keys', () => {
    const text = '{"apiVersion":"beddel/v1","kind":"SecurityProfiles","profiles":{"p":{"extends":"strict","__proto__":{"x":1}}}}';
    expect(refusal(text, { format: 'json' }).details).toEqual([{ path: 'profiles.p.__proto__', message: 'the key __proto__ is not allowed' }]);
  });
});

describe('loadSecurityProfiles', () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'beddel-profiles-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('reads .json files as JSON and others as YAML, naming the file in errors', async () => {
    const json = join(folder, 'profiles.json');
    await writeFile(json, JSON.stringify({ apiVersion: 'beddel/v1', kind: 'SecurityProfiles', defaultProfile: 'strict' }));
    expect((await loadSecurityProfiles(json)).profileFor('x').id).toBe('strict');
    expect(loadSecurityProfilesSync(json).profileFor('x').id).toBe('strict');

    const yaml = join(folder, 'profiles.yml');
    await writeFile(yaml, `${HEADER}defaultProfile: nope\n`);
    await expect(loadSecurityProfiles(yaml)).rejects.toMatchObject({ code: ErrorCodes.CONFIGURATION, message: expect.stringContaining(yaml) });
  });

  it('turns a missing file into a configuration error', async () => {
    const missing = join(folder, 'missing.yaml');
    await expect(loadSecurityProfiles(missing)).rejects.toMatchObject({ code: ErrorCodes.CONFIGURATION, message: expect.stringContaining(`Cannot read security profiles file ${missing}`) });
    expect(() => loadSecurityProfilesSync(missing)).toThrow(BeddelError);
  });

  it('loads the example operator file', async () => {
    const example = fileURLToPath(new URL('../../../examples/profiles/profiles.yaml', import.meta.url));
    const registry = await loadSecurityProfiles(example);
    expect(registry.profileFor('acme').id).toBe('partner');
    expect(registry.profileFor('acme').capabilities).toMatchObject({ log: {}, hash: {}, clock: {}, secrets: { keys: ['API_BASE_URL'] } });
    expect(registry.profileFor('globex').id).toBe('trial');
    expect(registry.profileFor('initech').id).toBe('tenant:initech');
    expect(registry.profileFor('someone-new').id).toBe(registry.defaultProfileName);
  });
});
