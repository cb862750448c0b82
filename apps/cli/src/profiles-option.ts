import { resolve } from 'node:path';
import type { SecurityProfileProvider } from '@beddel/contracts';
import { loadSecurityProfiles } from '@beddel/security-profiles';

export const profilesOption = { profiles: { type: 'string' } } as const;

export const PROFILES_HELP = `      --profiles <file>    security profiles (YAML, or JSON for .json): limits, rates and
                           capabilities per tenant; default: the built-in "default" profile`;

/**
 * Loads and checks a security-profiles file at start-up. A bad file throws BEDDEL_CONFIGURATION
 * naming the file and every problem with its path (`profiles.gold.limits.timeoutMs: ...`).
 */
export async function loadProfilesOption(file: string | undefined): Promise<SecurityProfileProvider | undefined> {
  return file === undefined ? undefined : loadSecurityProfiles(resolve(file));
}
