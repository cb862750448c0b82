import { BeddelError, ErrorCodes } from '@beddel/contracts';
import type { AuditChainHead, SealedAuditRecord } from '@beddel/contracts';

/** `prevHash` of the record with sequence 0. */
export const GENESIS_HASH = '0'.repeat(64);

const TENANT_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const HEX_HASH = /^[0-9a-f]{64}$/;

export function assertTenantId(tenantId: unknown): asserts tenantId is string {
  if (typeof tenantId !== 'string' || !TENANT_ID.test(tenantId)) {
    throw new BeddelError(ErrorCodes.INVALID_TENANT, `Invalid tenant id ${JSON.stringify(tenantId)}.`);
  }
}

/**
 * Refuses (BEDDEL_AUDIT_CORRUPT) a sealed batch that does not continue `head`, as the
 * `AuditSink` contract requires. The same rules as the core's `checkBatchContinuesHead`, kept
 * here because a sink depends on `@beddel/contracts` only.
 */
export function assertBatchContinuesHead(tenantId: string, head: AuditChainHead | null, sealed: readonly SealedAuditRecord[]): void {
  let expectedSequence = head === null ? 0 : head.sequence + 1;
  let expectedPrev = head === null ? GENESIS_HASH : head.recordHash;
  for (const record of sealed) {
    let problem: string | null = null;
    if (record.tenantId !== tenantId) problem = `record ${record.sequence} belongs to tenant ${JSON.stringify(record.tenantId)}`;
    else if (record.sequence !== expectedSequence) problem = `expected sequence ${expectedSequence}, got ${record.sequence}`;
    else if (record.prevHash !== expectedPrev) problem = `record ${record.sequence} does not link to the previous record hash`;
    else if (typeof record.recordHash !== 'string' || !HEX_HASH.test(record.recordHash)) problem = `record ${record.sequence} has no valid record hash`;
    if (problem !== null) {
      throw new BeddelError(ErrorCodes.AUDIT_CORRUPT, `Refusing a batch that does not continue the chain of tenant ${tenantId}: ${problem}.`);
    }
    expectedSequence += 1;
    expectedPrev = record.recordHash;
  }
}
