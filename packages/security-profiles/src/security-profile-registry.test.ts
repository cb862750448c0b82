import { describe, expect, it } from 'vitest';
import { BeddelError, DEFAULT_SECURITY_PROFILE, ErrorCodes } from '@beddel/contracts';
import type { ProblemDetail } from '@beddel/contracts';
import { SecurityProfileRegistry, STRICT_SECURITY_PROFILE } from './security-profile-registry.js';
import type { SecurityProfilesConfig } from './security-profiles-config.js';

/** The problems a configuration is refused with (fails the test if it is accepted). */
function problemsOf(config: unknown): ProblemDetail[] {
  try {
    new SecurityProfileRegistry(config as SecurityProfilesConfig, { source: 'test.yaml' });
  } catch (error) {
    expect(error).toBeInstanceOf(BeddelError);
    const beddelError = error as BeddelError;
    expect(beddelError.code).toBe(ErrorCodes.CONFIGURATION);
    expect(beddelError.message).toContain('test.yaml');
    return [...beddelError.details];
  }
  throw new Error('the configuration was accepted');
}

function pathsOf(config: unknown): string[] {
  return problemsOf(config).map((problem) => problem.path);
}

describe('built-in profiles', () => {
  it('serves default to every tenant when nothing is configured', () => {
    const registry = new SecurityProfileRegistry();
    expect(registry.profileFor('acme')).toBe(DEFAULT_SECURITY_PROFILE);
    expect(registry.profile('strict')).toBe(STRICT_SECURITY_PROFILE);
    expect(registry.profileNames).toEqual(['default', 'strict']);
    expect(registry.defaultProfileName).toBe('default');
  });

  it('strict is a valid tightening of default with no capabilities', () => {
    const { id: _id, ...strictFields } = STRICT_SECURITY_PROFILE;
    // Written as a profile that extends default without allowLoosening: accepted, so strict only tightens.
    const registry = new SecurityProfileRegistry({ profiles: { copy: { extends: 'default', ...strictFields } } });
    expect(registry.profile('copy')).toEqual({ ...STRICT_SECURITY_PROFILE, id: 'copy' });
    expect(STRICT_SECURITY_PROFILE).toMatchObject({
      limits: { timeoutMs: 1000, memoryLimitMb: 16, maxInputBytes: 262_144, maxOutputBytes: 262_144, maxSteps: 8 },
      maxConcurrency: 4,
      ratePerSecond: 50,
      maxExecutionHeapBytes: 4 * 1024 * 1024,
      capabilities: {},
      dedicatedWorker: false,
      allowHeapSnapshots: false,
    });
    expect(Object.isFrozen(STRICT_SECURITY_PROFILE.limits)).toBe(true);
  });

  it('refuses to redefine a built-in profile', () => {
    expect(problemsOf({ profiles: { default: { extends: 'strict' } } })).toEqual([
      { path: 'profiles.default', message: expect.stringContaining('built-in profile and cannot be redefined') },
    ]);
  });
});

describe('named profiles, tenants and the default profile', () => {
  const config: SecurityProfilesConfig = {
    defaultProfile: 'standard',
    profiles: {
      standard: { extends: 'default', limits: { timeoutMs: 3000 }, ratePerSecond: 100 },
      trial: { extends: 'strict', maxConcurrency: 2 },
      slow: { extends: 'standard', limits: { maxSteps: 4 } },
    },
    tenants: {
      acme: 'trial',
      globex: { extends: 'standard', limits: { maxInputBytes: 1024 } },
    },
  };

  it('follows extends chains and names each profile by its name', () => {
    const registry = new SecurityProfileRegistry(config);
    expect(registry.profile('slow')).toMatchObject({
      id: 'slow',
      limits: { ...DEFAULT_SECURITY_PROFILE.limits, timeoutMs: 3000, maxSteps: 4 },
      ratePerSecond: 100,
      maxConcurrency: DEFAULT_SECURITY_PROFILE.maxConcurrency,
    });
    expect(registry.profile('trial')).toMatchObject({ id: 'trial', limits: STRICT_SECURITY_PROFILE.limits, maxConcurrency: 2 });
  });

  it('assigns tenants by name or inline, and unknown tenants get defaultProfile', () => {
    const registry = new SecurityProfileRegistry(config);
    expect(registry.profileFor('acme')).toBe(registry.profile('trial'));
    const globex = registry.profileFor('globex');
    expect(globex.id).toBe('tenant:globex');
    expect(globex.limits).toMatchObject({ timeoutMs: 3000, maxInputBytes: 1024 });
    expect(registry.profileFor('someone-else')).toBe(registry.profile('standard'));
    expect(registry.tenantIds).toEqual(['acme', 'globex']);
  });

  it('returns frozen profiles', () => {
    const profile = new SecurityProfileRegistry(config).profileFor('globex');
    expect(Object.isFrozen(profile)).toBe(true);
    expect(Object.isFrozen(profile.limits)).toBe(true);
    expect(Object.isFrozen(profile.capabilities)).toBe(true);
  });

  it('reports unknown bases, unknown tenant profiles and an unknown defaultProfile', () => {
    const problems = problemsOf({
      defaultProfile: 'nope',
      profiles: { gold: { extends: 'platinum' } },
      tenants: { acme: 'silver', globex: { extends: 'bronze' } },
    });
    expect(problems.map((problem) => problem.path)).toEqual(['profiles.gold.extends', 'tenants.acme', 'tenants.globex.extends', 'defaultProfile']);
    expect(problems[0]?.message).toBe('unknown profile "platinum" (known: default, strict, gold)');
  });

  it('detects cycles once, at their root, and not again for profiles built on them', () => {
    const problems = problemsOf({
      profiles: { a: { extends: 'b' }, b: { extends: 'c' }, c: { extends: 'a' }, d: { extends: 'a' }, self: { extends: 'self' } },
      tenants: { acme: 'd' },
    });
    expect(problems).toEqual([
      { path: 'profiles.a.extends', message: 'extends forms a cycle: a → b → c → a' },
      { path: 'profiles.self.extends', message: 'extends forms a cycle: self → self' },
    ]);
  });
});

describe('the tightening rule', () => {
  it('accepts a profile that tightens every field', () => {
    const registry = new SecurityProfileRegistry({
      profiles: {
        base: {
          extends: 'default',
          allowLoosening: true,
          ratePerSecond: 100,
          dedicatedWorker: true,
          capabilities: { log: { maxLines: 50, maxBytes: 4096 }, clock: { resolutionMs: 100 }, random: true, hash: {}, secrets: { keys: ['A', 'B'] } },
        },
        tight: {
          extends: 'base',
          limits: { timeoutMs: 100, memoryLimitMb: 8, maxInputBytes: 10, maxOutputBytes: 10, maxSteps: 1 },
          maxConcurrency: 1,
          ratePerSecond: 0.5,
          maxExecutionHeapBytes: 1024,
          dedicatedWorker: true,
          allowHeapSnapshots: false,
          capabilities: { log: { maxLines: 10 }, clock: { resolutionMs: 1000 }, secrets: { keys: ['B'] } },
        },
      },
    });
    expect(registry.profile('tight')).toMatchObject({
      limits: { timeoutMs: 100, memoryLimitMb: 8, maxInputBytes: 10, maxOutputBytes: 10, maxSteps: 1 },
      maxConcurrency: 1,
      ratePerSecond: 0.5,
      maxExecutionHeapBytes: 1024,
      dedicatedWorker: true,
      // capabilities replace the base's: random and hash are dropped, log.maxBytes is inherited.
      capabilities: { log: { maxLines: 10, maxBytes: 4096 }, clock: { resolutionMs: 1000 }, secrets: { keys: ['B'] } },
    });
    expect(registry.profile('tight')?.capabilities).not.toHaveProperty('random');
  });

  it('refuses every loosening of a numeric field, with the exact path', () => {
    const problems = problemsOf({
      profiles: {
        loose: {
          extends: 'strict',
          limits: { timeoutMs: 1001, memoryLimitMb: 32, maxInputBytes: 262_145, maxOutputBytes: 1e6, maxSteps: 9 },
          maxConcurrency: 5,
          ratePerSecond: 51,
          maxExecutionHeapBytes: 4 * 1024 * 1024 + 1,
        },
      },
    });
    expect(problems.map((problem) => problem.path)).toEqual([
      'profiles.loose.limits.timeoutMs',
      'profiles.loose.limits.memoryLimitMb',
      'profiles.loose.limits.maxInputBytes',
      'profiles.loose.limits.maxOutputBytes',
      'profiles.loose.limits.maxSteps',
      'profiles.loose.maxConcurrency',
      'profiles.loose.maxExecutionHeapBytes',
      'profiles.loose.ratePerSecond',
    ]);
    expect(problems[0]?.message).toBe(
      'raises timeoutMs from 1000 to 1001 over its base "strict": a profile may only tighten its base unless it sets allowLoosening: true',
    );
  });

  it('treats ratePerSecond null as the loosest value', () => {
    expect(problemsOf({ profiles: { p: { extends: 'strict', ratePerSecond: null } } })).toEqual([
      { path: 'profiles.p.ratePerSecond', message: expect.stringContaining('from 50 to null (unlimited)') },
    ]);
    // Any rate tightens an unlimited base.
    expect(new SecurityProfileRegistry({ profiles: { p: { extends: 'default', ratePerSecond: 1e6 } } }).profile('p')?.ratePerSecond).toBe(1e6);
  });

  it('lets dedicatedWorker be turned on but not off, and allowHeapSnapshots not on', () => {
    const on = new SecurityProfileRegistry({ profiles: { iso: { extends: 'default', dedicatedWorker: true } } });
    expect(on.profile('iso')?.dedicatedWorker).toBe(true);
    expect(
      pathsOf({
        profiles: { iso: { extends: 'default', dedicatedWorker: true }, shared: { extends: 'iso', dedicatedWorker: false, allowHeapSnapshots: true } },
      }),
    ).toEqual(['profiles.shared.dedicatedWorker', 'profiles.shared.allowHeapSnapshots']);
  });

  it('refuses capabilities the base does not grant, and looser capability parameters', () => {
    const problems = problemsOf({
      profiles: {
        partner: { extends: 'default', allowLoosening: true, capabilities: { log: { maxLines: 10, maxBytes: 100 }, clock: { resolutionMs: 1000 }, secrets: { keys: ['A'] } } },
        greedy: {
          extends: 'partner',
          capabilities: { log: { maxLines: 11, maxBytes: 101 }, clock: { resolutionMs: 1 }, random: true, hash: {}, secrets: { keys: ['A', 'B'] } },
        },
      },
      tenants: { acme: { extends: 'default', capabilities: { log: {} } } },
    });
    expect(problems.map((problem) => problem.path)).toEqual([
      'profiles.greedy.capabilities.random',
      'profiles.greedy.capabilities.hash',
      'profiles.greedy.capabilities.log.maxLines',
      'profiles.greedy.capabilities.log.maxBytes',
      'profiles.greedy.capabilities.clock.resolutionMs',
      'profiles.greedy.capabilities.secrets.keys[1]',
      'tenants.acme.capabilities.log',
    ]);
    expect(problems[5]?.message).toContain('grants secret key "B", which its base "partner" does not grant');
    expect(problems[6]?.message).toContain('grants log, which its base "default" does not grant');
  });

  it('allowLoosening lets one profile loosen its base, and is not inherited', () => {
    const registry = new SecurityProfileRegistry({
      profiles: {
        big: { extends: 'strict', allowLoosening: true, limits: { timeoutMs: 30_000 }, ratePerSecond: null, capabilities: { hash: true } },
      },
      tenants: { acme: 'big' },
    });
    expect(registry.profileFor('acme')).toMatchObject({ id: 'big', limits: { timeoutMs: 30_000, maxSteps: 8 }, ratePerSecond: null, capabilities: { hash: {} } });
    expect(pathsOf({ profiles: { big: { extends: 'strict', allowLoosening: true, limits: { timeoutMs: 30_000 } }, bigger: { extends: 'big', limits: { timeoutMs: 30_001 } } } })).toEqual([
      'profiles.bigger.limits.timeoutMs',
    ]);
  });

  it('grants defaults for capability parameters that neither the profile nor its base sets', () => {
    const registry = new SecurityProfileRegistry({ profiles: { p: { extends: 'default', allowLoosening: true, capabilities: { log: {}, clock: {} } } } });
    expect(registry.profile('p')?.capabilities).toEqual({ log: { maxLines: 100, maxBytes: 16_384 }, clock: { resolutionMs: 1000 } });
  });

  it('applies absolute checks even with allowLoosening: the heap budget must fit the isolate', () => {
    expect(problemsOf({ profiles: { p: { extends: 'default', allowLoosening: true, limits: { memoryLimitMb: 8 } } } })).toEqual([
      { path: 'profiles.p.limits.memoryLimitMb', message: "maxExecutionHeapBytes (16777216) must fit in the isolate's memoryLimitMb (8 MB = 8388608 bytes)" },
    ]);
  });
});

describe('shape checks on a configuration given in code', () => {
  it('lists unknown keys, bad types and out-of-range values with their paths', () => {
    const problems = problemsOf({
      profile: {},
      profiles: {
        gold: {
          extends: 'default',
          limits: { timeoutMs: -1, memoryLimitMb: 4, maxSteps: 1.5, cpuMs: 3 },
          maxConcurrency: '4',
          ratePerSecond: 0,
          dedicatedWorker: 'yes',
          capabilities: { network: {}, random: false, log: { maxLines: 0 }, secrets: { keys: ['OK', 'not ok', 'OK'] } },
        },
        '9lives': { extends: 'default' },
        nobase: { limits: {} },
      },
      tenants: { 'bad tenant': 'default', acme: 42 },
    });
    expect(problems).toEqual([
      { path: 'profile', message: 'unknown key (allowed: apiVersion, kind, defaultProfile, profiles, tenants)' },
      { path: 'profiles.gold.dedicatedWorker', message: 'must be true or false, found the string "yes"' },
      { path: 'profiles.gold.limits.cpuMs', message: 'unknown key (allowed: timeoutMs, memoryLimitMb, maxInputBytes, maxOutputBytes, maxSteps)' },
      { path: 'profiles.gold.limits.timeoutMs', message: 'must be a positive integer, found -1' },
      { path: 'profiles.gold.limits.memoryLimitMb', message: "must be at least 8 (isolated-vm's minimum), found 4" },
      { path: 'profiles.gold.limits.maxSteps', message: 'must be a positive integer, found number 1.5' },
      { path: 'profiles.gold.maxConcurrency', message: 'must be a positive integer, found the string "4"' },
      { path: 'profiles.gold.ratePerSecond', message: 'must be a positive number, or null for no limit, found number 0' },
      { path: 'profiles.gold.capabilities.network', message: 'unknown key (allowed: log, clock, random, hash, secrets)' },
      { path: 'profiles.gold.capabilities.log.maxLines', message: 'must be a positive integer, found 0' },
      { path: 'profiles.gold.capabilities.random', message: 'must be true or {} (omit it to deny the capability), found boolean false' },
      { path: 'profiles.gold.capabilities.secrets.keys[1]', message: expect.stringContaining('must be a key like API_BASE_URL') },
      { path: 'profiles.gold.capabilities.secrets.keys[2]', message: 'duplicate key "OK"' },
      { path: 'profiles["9lives"]', message: 'a profile name must start with a letter and hold 1-64 characters from [A-Za-z0-9_.-]' },
      { path: 'profiles.nobase.extends', message: 'is required: name the profile this one starts from (default, strict or one of this file)' },
      { path: 'tenants["bad tenant"]', message: 'a tenant id must hold 1-128 characters from [A-Za-z0-9._:-]' },
      { path: 'tenants.acme', message: 'must be a profile name or an inline profile with "extends", found number 42' },
    ]);
  });

  it('refuses a timeout Node cannot schedule', () => {
    expect(pathsOf({ profiles: { p: { extends: 'default', allowLoosening: true, limits: { timeoutMs: 2 ** 31 } } } })).toEqual(['profiles.p.limits.timeoutMs']);
  });

  it('checks apiVersion and kind when a configuration states them', () => {
    expect(pathsOf({ apiVersion: 'beddel/v2', kind: 'Profiles' })).toEqual(['apiVersion', 'kind']);
    expect(new SecurityProfileRegistry({ apiVersion: 'beddel/v1', kind: 'SecurityProfiles' }).profileNames).toEqual(['default', 'strict']);
  });

  it('lists every problem in the error message', () => {
    try {
      new SecurityProfileRegistry({ profiles: { a: { extends: 'x' }, b: { extends: 'y' } } }, { source: 'ops/profiles.yaml' });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toBe(
        'Invalid security profiles in ops/profiles.yaml (2 problems):\n' +
          '  profiles.a.extends: unknown profile "x" (known: default, strict, a, b)\n' +
          '  profiles.b.extends: unknown profile "y" (known: default, strict, a, b)',
      );
    }
  });
});
