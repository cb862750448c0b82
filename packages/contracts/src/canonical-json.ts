import { createHash } from 'node:crypto';

/**
 * RFC 8785 (JCS) canonical JSON: object keys sorted by UTF-16 code units, no whitespace,
 * numbers and strings serialised as ECMAScript's JSON.stringify does (which is what JCS
 * specifies). Hashes of inputs, outputs and audit records are taken over this form, so any
 * verifier in any language can recompute them.
 *
 * Throws a TypeError for values JSON cannot represent (non-finite numbers, bigint, functions,
 * symbols, cycles) rather than silently dropping them, because a hash must cover the value.
 */
export function canonicalJson(value: unknown): string {
  return serialise(value, new Set());
}

function serialise(value: unknown, ancestors: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalJson: cannot serialise a ${typeof value}`);
  }
  const object = value;
  if (ancestors.has(object)) throw new TypeError('canonicalJson: cyclic structure');
  ancestors.add(object);
  let out: string;
  if (Array.isArray(object)) {
    out = `[${object.map((item: unknown) => (item === undefined ? 'null' : serialise(item, ancestors))).join(',')}]`;
  } else {
    const record = object as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const item = record[key];
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
      parts.push(`${JSON.stringify(key)}:${serialise(item, ancestors)}`);
    }
    out = `{${parts.join(',')}}`;
  }
  ancestors.delete(object);
  return out;
}

/** Lower-case hex SHA-256 of a string (UTF-8) or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
