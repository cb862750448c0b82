import { createHash } from 'node:crypto';
import { assertTenantId } from '@beddel/contracts';

export { assertTenantId };

const PLAIN = /[a-z0-9-]/;
const LONGEST_ENCODED = 200;


/**
 * The directory name of a tenant's log: `t-` + the id with every character outside
 * `[a-z0-9-]` written as `_` + two hex digits (`Acme.eu` → `t-_41cme_2eeu`). Injective, free of
 * dots, slashes and colons (so `..` cannot escape), and distinct on case-insensitive file
 * systems. Ids whose encoding would pass 200 characters use `h-` + SHA-256 of the id instead;
 * `tenant.json` in the directory names the tenant either way.
 */
export function tenantDirectoryName(tenantId: string): string {
  assertTenantId(tenantId);
  let encoded = 't-';
  for (const char of tenantId) encoded += PLAIN.test(char) ? char : `_${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
  return encoded.length <= LONGEST_ENCODED ? encoded : `h-${createHash('sha256').update(tenantId).digest('hex')}`;
}
