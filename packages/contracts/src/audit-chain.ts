import { BeddelError, ErrorCodes } from './errors.js';
import type { AuditChainHead, SealedAuditRecord } from './audit-sink.js';

/**
 * Chain rules every `AuditSink` enforces, in one place so the core and each sink package
 * (which depend on @beddel/contracts only) apply exactly the same checks.
 */

/** `prevHash` of the record with sequence 0. */
export const GENESIS_HASH = '0'.repeat(64);

/** Tenant ids: 1-128 characters of `[A-Za-z0-9._:-]` (the engine enforces the same). */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

const HEX_HASH = /^[0-9a-f]{64}$/;

/** Whether a value is a lower-case hex SHA-256. */
export function isHexHash(value: unknown): value is string {
  return typeof value === 'string' && HEX_HASH.test(value);
}

export function assertTenantId(tenantId: unknown): asserts tenantId is string {
  if (typeof tenantId !== 'string' || !TENANT_ID_PATTERN.test(tenantId)) {
    throw new BeddelError(ErrorCodes.INVALID_TENANT, `Invalid tenant id ${JSON.stringify(tenantId)}.`);
  }
}

/** Why a sealed batch does not continue `head`, or null when it does. */
export function checkBatchContinuesHead(tenantId: string, head: AuditChainHead | null, sealed: readonly SealedAuditRecord[]): string | null {
  let expectedSequence = head === null ? 0 : head.sequence + 1;
  let expectedPrev = head === null ? GENESIS_HASH : head.recordHash;
  for (const record of sealed) {
    if (record.tenantId !== tenantId) return `record ${record.sequence} belongs to tenant ${JSON.stringify(record.tenantId)}`;
    if (record.sequence !== expectedSequence) return `expected sequence ${expectedSequence}, got ${record.sequence}`;
    if (record.prevHash !== expectedPrev) return `record ${record.sequence} does not link to the previous record hash`;
    if (!isHexHash(record.recordHash)) return `record ${record.sequence} has no valid record hash`;
    expectedSequence += 1;
    expectedPrev = record.recordHash;
  }
  return null;
}

/** Refuses (BEDDEL_AUDIT_CORRUPT) a sealed batch that does not continue `head`. */
export function assertBatchContinuesHead(tenantId: string, head: AuditChainHead | null, sealed: readonly SealedAuditRecord[]): void {
  const problem = checkBatchContinuesHead(tenantId, head, sealed);
  if (problem !== null) {
    throw new BeddelError(ErrorCodes.AUDIT_CORRUPT, `Refusing a batch that does not continue the chain of tenant ${tenantId}: ${problem}.`);
  }
}
