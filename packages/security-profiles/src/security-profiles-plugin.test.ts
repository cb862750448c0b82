import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADMISSION, DEFAULT_SECURITY_PROFILE, ErrorCodes, SECRET_SOURCE, SECURITY_PROFILES } from '@beddel/contracts';
import type { EnginePlugin, ProviderRegistrar, SecurityProfileProvider, Token } from '@beddel/contracts';
import { secretSourceFromObject } from './secret-sources.js';
import { SecurityProfileRegistry } from './security-profile-registry.js';
import { securityProfiles } from './security-profiles-plugin.js';
import type { SecurityProfilesPluginOptions } from './security-profiles-plugin.js';
import { TenantAdmissionControl } from './tenant-admission-control.js';

function register(plugin: EnginePlugin): Map<symbol, unknown> {
  const registered = new Map<symbol, unknown>();
  const registrar: ProviderRegistrar = {
    value: <T>(token: Token<T>, value: T) => void registered.set(token, value),
    factory: () => {
      throw new Error('the plugin registers values only');
    },
  };
  plugin.register(registrar);
  return registered;
}

describe('securityProfiles plugin', () => {
  it('registers a registry, admission control and secrets', () => {
    const registry = new SecurityProfileRegistry({ defaultProfile: 'strict' });
    const secrets = secretSourceFromObject({ acme: { KEY: 'v' } });
    const registered = register(securityProfiles({ registry, secrets }));
    expect(registered.get(SECURITY_PROFILES)).toBe(registry);
    expect(registered.get(SECRET_SOURCE)).toBe(secrets);
    expect(registered.get(ADMISSION)).toBeInstanceOf(TenantAdmissionControl);
  });

  it('builds a registry from a config, and leaves SECRET_SOURCE and ADMISSION out when asked', () => {
    const registered = register(securityProfiles({ config: { tenants: { acme: 'strict' } }, admission: false }));
    expect((registered.get(SECURITY_PROFILES) as SecurityProfileProvider).profileFor('acme').id).toBe('strict');
    expect((registered.get(SECURITY_PROFILES) as SecurityProfileProvider).profileFor('other')).toBe(DEFAULT_SECURITY_PROFILE);
    expect(registered.has(SECRET_SOURCE)).toBe(false);
    expect(registered.has(ADMISSION)).toBe(false);
  });

  it('reads a file at register time and fails there on a bad one', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'beddel-profiles-plugin-'));
    try {
      const good = join(folder, 'good.yaml');
      await writeFile(good, 'apiVersion: beddel/v1\nkind: SecurityProfiles\ntenants:\n  acme: strict\n');
      const registered = register(securityProfiles({ file: good }));
      expect((registered.get(SECURITY_PROFILES) as SecurityProfileProvider).profileFor('acme').id).toBe('strict');

      const bad = join(folder, 'bad.yaml');
      await writeFile(bad, 'apiVersion: beddel/v1\nkind: SecurityProfiles\ntenants:\n  acme: gold\n');
      const plugin = securityProfiles({ file: bad });
      expect(() => register(plugin)).toThrow(expect.objectContaining({ code: ErrorCodes.CONFIGURATION, details: [{ path: 'tenants.acme', message: expect.stringContaining('unknown profile "gold"') }] }));
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('takes exactly one source of profiles', () => {
    expect(() => securityProfiles({} as SecurityProfilesPluginOptions)).toThrow(expect.objectContaining({ code: ErrorCodes.CONFIGURATION, message: expect.stringContaining('found none') }));
    expect(() => securityProfiles({ file: 'a.yaml', config: {} } as unknown as SecurityProfilesPluginOptions)).toThrow(
      expect.objectContaining({ message: expect.stringContaining('found file and config') }),
    );
  });
});
