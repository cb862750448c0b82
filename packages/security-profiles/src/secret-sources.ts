import { BeddelError, ErrorCodes } from '@beddel/contracts';
import type { SecretSource } from '@beddel/contracts';

/**
 * Secret values held in memory, per tenant: `{ acme: { API_BASE_URL: 'https://…' } }`. The object
 * is copied, so later changes to it are not seen. Lookups never reach `Object.prototype`.
 */
export function secretSourceFromObject(values: Readonly<Record<string, Readonly<Record<string, string>>>>): SecretSource {
  const byTenant = new Map<string, ReadonlyMap<string, string>>();
  for (const [tenantId, secrets] of Object.entries(values)) {
    const entries = new Map<string, string>();
    for (const [key, value] of Object.entries(secrets)) {
      if (typeof value !== 'string') {
        throw new BeddelError(ErrorCodes.CONFIGURATION, `secretSourceFromObject: the secret ${tenantId}.${key} must be a string, found ${typeof value}`);
      }
      entries.set(key, value);
    }
    byTenant.set(tenantId, entries);
  }
  return { read: (tenantId, key) => byTenant.get(tenantId)?.get(key) };
}

const ENV_PREFIX_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Secret values from environment variables named `<prefix><KEY>`, e.g. with prefix
 * `BEDDEL_SECRET_` the key `API_BASE_URL` is read from `BEDDEL_SECRET_API_BASE_URL`. One value per
 * key for every tenant: which tenant may read which key is the profile's allow-list. The variables
 * with the prefix are copied once, here; pass `process.env` (this package never reads it itself).
 * The prefix may not be empty, so an allow-listed key can never name an unrelated variable such as
 * `AWS_SECRET_ACCESS_KEY`.
 */
export function secretSourceFromEnv(prefix: string, env: Readonly<Record<string, string | undefined>>): SecretSource {
  if (!ENV_PREFIX_PATTERN.test(prefix)) {
    throw new BeddelError(ErrorCodes.CONFIGURATION, `secretSourceFromEnv: the prefix must be a non-empty environment variable name prefix such as BEDDEL_SECRET_, found ${JSON.stringify(prefix)}`);
  }
  const values = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith(prefix) && name.length > prefix.length && value !== undefined) values.set(name.slice(prefix.length), value);
  }
  return { read: (_tenantId, key) => values.get(key) };
}
