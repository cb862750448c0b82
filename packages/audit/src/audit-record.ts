import { assertTenantId, checkBatchContinuesHead, GENESIS_HASH, canonicalJson, isHexHash, sha256Hex, TENANT_ID_PATTERN } from '@beddel/contracts';
import type { AuditChainHead, AuditEntry, SealedAuditRecord, UnsealedAuditRecord } from '@beddel/contracts';
import { leafHash } from './merkle.js';

// The chain rules shared with every sink live in @beddel/contracts; re-exported for callers.
export { assertTenantId, checkBatchContinuesHead, GENESIS_HASH, isHexHash, TENANT_ID_PATTERN };

/**
 * Builds the record body for an entry: raw input and output are replaced by the SHA-256 of their
 * canonical JSON. An `undefined` output (a failed run produced none) is hashed as `null`.
 * Throws a TypeError when input or output cannot be represented as JSON.
 */
export function unsealedRecordFromEntry(entry: AuditEntry): UnsealedAuditRecord {
  return {
    version: 1,
    tenantId: entry.tenantId,
    executionId: entry.executionId,
    timestamp: entry.timestamp,
    transformation: {
      name: entry.transformation.name,
      version: entry.transformation.version,
      sourceSha256: entry.transformation.sourceSha256,
    },
    inputSha256: sha256Hex(canonicalJson(entry.input === undefined ? null : entry.input)),
    outputSha256: sha256Hex(canonicalJson(entry.output === undefined ? null : entry.output)),
    profileId: entry.profileId,
    status: entry.status,
    errorCode: entry.errorCode,
    metrics: { durationMs: entry.metrics.durationMs, cpuMs: entry.metrics.cpuMs, heapBytes: entry.metrics.heapBytes },
  };
}

/**
 * The record hash: lower-case hex SHA-256 over the canonical JSON of every member of the record
 * except `recordHash` itself. Takes any object so a verifier can hash untrusted data as stored.
 */
export function computeRecordHash(record: object): string {
  const body: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  delete body.recordHash;
  return sha256Hex(canonicalJson(body));
}

/** Chains `records` after `head`: assigns sequences, links `prevHash`, computes `recordHash`. */
export function sealRecords(head: AuditChainHead | null, records: readonly UnsealedAuditRecord[]): SealedAuditRecord[] {
  let sequence = head === null ? 0 : head.sequence + 1;
  let prevHash = head === null ? GENESIS_HASH : head.recordHash;
  return records.map((record) => {
    const unhashed = { ...record, sequence, prevHash };
    const sealed: SealedAuditRecord = { ...unhashed, recordHash: computeRecordHash(unhashed) };
    sequence += 1;
    prevHash = sealed.recordHash;
    return sealed;
  });
}

/** The Merkle leaf of a record: SHA-256(0x00 || the 32 raw bytes of its record hash). */
export function recordLeafHash(recordHash: string): Uint8Array {
  if (!isHexHash(recordHash)) throw new TypeError('a record hash is 64 lower-case hex digits');
  return leafHash(Buffer.from(recordHash, 'hex'));
}

