import { ADMISSION, BeddelError, ErrorCodes, SECRET_SOURCE, SECURITY_PROFILES } from '@beddel/contracts';
import type { EnginePlugin, SecretSource, SecurityProfileProvider } from '@beddel/contracts';
import { loadSecurityProfilesSync } from './security-profiles-file.js';
import { SecurityProfileRegistry } from './security-profile-registry.js';
import type { SecurityProfilesConfig } from './security-profiles-config.js';
import { TenantAdmissionControl } from './tenant-admission-control.js';
import type { TenantAdmissionControlOptions } from './tenant-admission-control.js';

/** Exactly one of `registry`, `file` or `config`. */
export type SecurityProfilesPluginOptions = (
  | { readonly registry: SecurityProfileProvider; readonly file?: never; readonly config?: never }
  | { readonly file: string; readonly registry?: never; readonly config?: never }
  | { readonly config: SecurityProfilesConfig; readonly registry?: never; readonly file?: never }
) & {
  /** Where the values of granted secret keys are read. Without it, `beddel.secret(key)` finds nothing. */
  readonly secrets?: SecretSource;
  /**
   * Enforcement of each profile's `ratePerSecond` and `maxConcurrency` (the ADMISSION provider):
   * on by default with its defaults; `false` leaves admission to another plugin.
   */
  readonly admission?: TenantAdmissionControlOptions | false;
};

/**
 * Registers SECURITY_PROFILES, ADMISSION (unless `admission: false`) and SECRET_SOURCE (when
 * `secrets` is given). A `file` is read and checked in `register`, so a bad file fails
 * `createEngine` before anything runs, and the profiles are there for every later plugin's `init`.
 */
export function securityProfiles(options: SecurityProfilesPluginOptions): EnginePlugin {
  const given = (['registry', 'file', 'config'] as const).filter((key) => options[key] !== undefined);
  if (given.length !== 1) {
    throw new BeddelError(
      ErrorCodes.CONFIGURATION,
      `securityProfiles() takes exactly one of registry, file or config; found ${given.length === 0 ? 'none' : given.join(' and ')}.`,
    );
  }
  return {
    name: 'security-profiles',
    register(registrar) {
      let provider: SecurityProfileProvider;
      if (options.registry !== undefined) provider = options.registry;
      else if (options.file !== undefined) provider = loadSecurityProfilesSync(options.file);
      else provider = new SecurityProfileRegistry(options.config);
      registrar.value(SECURITY_PROFILES, provider);
      if (options.admission !== false) registrar.value(ADMISSION, new TenantAdmissionControl(options.admission));
      if (options.secrets !== undefined) registrar.value(SECRET_SOURCE, options.secrets);
    },
  };
}
