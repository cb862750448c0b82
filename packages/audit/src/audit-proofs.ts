import type { KeyObject } from 'node:crypto';
import { computeRecordHash, isHexHash, recordLeafHash } from './audit-record.js';
import { verifyConsistency, verifyInclusion } from './merkle.js';
import { defaultOrigin, parseCheckpointNote, verifyCheckpointSignature } from './signed-checkpoint.js';
import type { ParsedCheckpoint } from './signed-checkpoint.js';

/** Proof that a record is leaf `sequence` of the tree a signed checkpoint commits to. JSON-safe. */
export interface AuditInclusionProof {
  readonly tenantId: string;
  readonly sequence: number;
  readonly recordHash: string;
  readonly treeSize: number;
  /** RFC 6962 §2.1.1 audit path, lower-case hex, leaf to root. */
  readonly auditPath: readonly string[];
  /** The signed checkpoint note (tree size `treeSize`). */
  readonly checkpoint: string;
}

/** Proof that the tree of `newSize` records (in `checkpoint`) extends the tree of `oldSize`. JSON-safe. */
export interface AuditConsistencyProof {
  readonly tenantId: string;
  readonly oldSize: number;
  readonly newSize: number;
  /** RFC 6962 §2.1.2 consistency proof, lower-case hex. */
  readonly consistencyPath: readonly string[];
  /** The signed checkpoint note of size `newSize`. */
  readonly checkpoint: string;
}

export type ProofVerification = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface ProofVerifyOptions {
  /** Expected checkpoint origin for a tenant. Default `beddel-audit/<tenantId>`. */
  readonly origin?: (tenantId: string) => string;
}

function hexList(values: readonly string[]): Uint8Array[] | null {
  return values.every(isHexHash) ? values.map((value) => Buffer.from(value, 'hex')) : null;
}

function signedCheckpoint(note: string, tenantId: string, publicKey: KeyObject, options: ProofVerifyOptions): ParsedCheckpoint | string {
  const parsed = parseCheckpointNote(note);
  if (parsed === null) return 'the checkpoint is not a well-formed signed note';
  if (!verifyCheckpointSignature(parsed, publicKey)) return 'the checkpoint signature does not verify with this public key';
  const origin = (options.origin ?? defaultOrigin)(tenantId);
  if (parsed.origin !== origin) return `the checkpoint origin is ${JSON.stringify(parsed.origin)}, expected ${JSON.stringify(origin)}`;
  return parsed;
}

/**
 * Verifies an inclusion proof using only the public key: the checkpoint signature and origin,
 * then the audit path from the record's leaf to the signed root. Pass the record itself to also
 * check that it hashes to `recordHash`.
 */
export function verifyInclusionProof(proof: AuditInclusionProof, publicKey: KeyObject, record?: object, options: ProofVerifyOptions = {}): ProofVerification {
  const checkpoint = signedCheckpoint(proof.checkpoint, proof.tenantId, publicKey, options);
  if (typeof checkpoint === 'string') return { ok: false, reason: checkpoint };
  if (checkpoint.treeSize !== proof.treeSize) return { ok: false, reason: `the proof claims tree size ${proof.treeSize}, the checkpoint says ${checkpoint.treeSize}` };
  if (!isHexHash(proof.recordHash)) return { ok: false, reason: 'the record hash is not 64 hex digits' };
  if (record !== undefined) {
    if (computeRecordHash(record) !== proof.recordHash) return { ok: false, reason: 'the record does not hash to the proven record hash' };
    const claimed = record as { sequence?: unknown; tenantId?: unknown };
    if (claimed.sequence !== proof.sequence || claimed.tenantId !== proof.tenantId) return { ok: false, reason: 'the record is not the proven sequence of this tenant' };
  }
  const path = hexList(proof.auditPath);
  if (path === null) return { ok: false, reason: 'the audit path holds a value that is not a hex SHA-256' };
  if (!verifyInclusion(recordLeafHash(proof.recordHash), proof.sequence, proof.treeSize, path, checkpoint.rootHash)) {
    return { ok: false, reason: 'the audit path does not lead to the signed root' };
  }
  return { ok: true };
}

/**
 * Verifies that the log only grew: `oldCheckpoint` (a signed note the auditor kept) and the
 * proof's checkpoint are both signed by `publicKey`, and the consistency path links their roots.
 */
export function verifyConsistencyProof(proof: AuditConsistencyProof, oldCheckpoint: string, publicKey: KeyObject, options: ProofVerifyOptions = {}): ProofVerification {
  const older = signedCheckpoint(oldCheckpoint, proof.tenantId, publicKey, options);
  if (typeof older === 'string') return { ok: false, reason: `old ${older}` };
  const newer = signedCheckpoint(proof.checkpoint, proof.tenantId, publicKey, options);
  if (typeof newer === 'string') return { ok: false, reason: `new ${newer}` };
  if (older.treeSize !== proof.oldSize || newer.treeSize !== proof.newSize) return { ok: false, reason: 'the proof sizes do not match the checkpoints' };
  const path = hexList(proof.consistencyPath);
  if (path === null) return { ok: false, reason: 'the consistency path holds a value that is not a hex SHA-256' };
  if (!verifyConsistency(older.treeSize, newer.treeSize, older.rootHash, newer.rootHash, path)) {
    return { ok: false, reason: 'the checkpoints are not consistent: the newer one does not extend the older one' };
  }
  return { ok: true };
}
