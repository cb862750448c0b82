import type { KeyObject } from 'node:crypto';
import type { AuditSink } from '@beddel/contracts';
import { GENESIS_HASH, computeRecordHash, isHexHash, recordLeafHash } from './audit-record.js';
import { MerkleTree, hashesEqual, verifyConsistency } from './merkle.js';
import { defaultOrigin, parseCheckpointNote, verifyCheckpointSignature } from './signed-checkpoint.js';
import { isObject, ProblemList, sequenceOf, shapeProblem } from './record-checks.js';

/** What `verifyLog` reads: any sink, or anything else that serves the same three calls. */
export type AuditRecordSource = Pick<AuditSink, 'tenants' | 'read' | 'listCheckpoints'>;

export type AuditProblemCode =
  /** The store could not return the record (unparseable data); reading stopped there. */
  | 'record-unreadable'
  /** The record lacks a field, has a wrong type, or an unknown format version. */
  | 'record-malformed'
  /** The record does not hash to its `recordHash`: it was modified. */
  | 'record-hash-mismatch'
  /** The record names another tenant. */
  | 'record-wrong-tenant'
  /** Sequences are missing from the stored order: records were deleted. */
  | 'sequence-gap'
  /** A sequence is stored more than once: a record was inserted (or duplicated). */
  | 'sequence-duplicate'
  /** A record is stored out of place: records were reordered. */
  | 'sequence-out-of-order'
  /** `prevHash` is not the stored predecessor's `recordHash`: one of the two was altered or removed. */
  | 'chain-broken'
  /** A checkpoint is not a well-formed signed note, or its stored fields contradict its note. */
  | 'checkpoint-malformed'
  /** No signature on the checkpoint verifies with the public key. */
  | 'checkpoint-bad-signature'
  /** The checkpoint was signed for another log (origin line). */
  | 'checkpoint-wrong-origin'
  /** A checkpoint covers more records than are stored: the log was truncated. */
  | 'checkpoint-beyond-log'
  /** The Merkle root of the stored records differs from the signed root: history was rewritten. */
  | 'checkpoint-root-mismatch'
  /** Two validly signed checkpoints cannot both be true (same size, different roots; or no consistency). */
  | 'checkpoint-fork'
  /** Every record must be covered by a checkpoint (option `requireCheckpointed`) and is not. */
  | 'records-not-checkpointed'
  /** The problem list was cut at `maxProblemsPerTenant`. */
  | 'too-many-problems';

export interface AuditProblem {
  readonly code: AuditProblemCode;
  /** The sequence number (leaf index) the problem is about, when it is about one. */
  readonly sequence?: number;
  readonly message: string;
}

export interface TenantVerification {
  readonly tenantId: string;
  readonly records: number;
  readonly checkpoints: number;
  /** Largest checkpoint size whose signed root matches the stored records (0 if none). */
  readonly verifiedTreeSize: number;
  /** Stored records after the largest valid checkpoint: chained, but not yet signed. */
  readonly uncheckpointedRecords: number;
  /**
   * The first record that cannot be trusted: the smallest sequence a record-level problem names
   * (a broken link names the later record of the pair), or the first missing sequence after a
   * truncation. For a rewrite that kept every hash and link consistent only signed roots can
   * tell, so it is the size of the largest checkpoint that still matches (a lower bound).
   * Absent when no problem is about a record (e.g. only a bad checkpoint signature).
   */
  readonly firstBadSequence?: number;
  readonly problems: readonly AuditProblem[];
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly tenants: readonly TenantVerification[];
}

export interface VerifyLogOptions {
  /** Verify only these tenants (default: every tenant the source lists). */
  readonly tenants?: readonly string[];
  /** Expected checkpoint origin per tenant. Default `beddel-audit/<tenantId>`. */
  readonly origin?: (tenantId: string) => string;
  /** Report records after the last checkpoint as a problem (for a log that was closed). Default false. */
  readonly requireCheckpointed?: boolean;
  /** Default 1000. */
  readonly maxProblemsPerTenant?: number;
}

interface ValidCheckpoint {
  readonly treeSize: number;
  readonly rootHash: Uint8Array;
  readonly position: number;
}

const ZERO_LEAF = new Uint8Array(32);

/**
 * Checks a whole audit log offline, trusting only `publicKey` and the data: every record hash,
 * every chain link, sequence continuity, the Merkle root at every checkpoint, every checkpoint
 * signature and origin, consistency between successive checkpoints, and that no checkpoint
 * covers records that are gone (truncation). Never throws for bad data: it reports it.
 */
export async function verifyLog(source: AuditRecordSource, publicKey: KeyObject, options: VerifyLogOptions = {}): Promise<AuditVerification> {
  const tenantIds = options.tenants ?? (await source.tenants());
  const tenants: TenantVerification[] = [];
  for (const tenantId of tenantIds) tenants.push(await verifyTenant(source, publicKey, tenantId, options));
  return { ok: tenants.every((tenant) => tenant.problems.length === 0), tenants };
}


async function verifyTenant(source: AuditRecordSource, publicKey: KeyObject, tenantId: string, options: VerifyLogOptions): Promise<TenantVerification> {
  const problems = new ProblemList<AuditProblemCode>(options.maxProblemsPerTenant ?? 1000);
  const records: unknown[] = [];
  try {
    for await (const record of source.read(tenantId)) records.push(record);
  } catch (error) {
    problems.add('record-unreadable', `Reading stopped after ${records.length} records: ${error instanceof Error ? error.message : String(error)}`, records.length);
  }

  const tree = new MerkleTree();
  const claims = records.map((record) => sequenceOf(record));
  checkRecords(tenantId, records, claims, tree, problems);
  checkSequences(claims, problems);
  const recordProblemSequences = problems.items.map((problem) => problem.sequence).filter((sequence): sequence is number => sequence !== undefined);
  const { verifiedTreeSize, largestValid, checkpoints, suspects } = await checkCheckpoints(source, publicKey, tenantId, tree, problems, options);

  const uncheckpointed = Math.max(0, records.length - largestValid);
  if (options.requireCheckpointed === true && uncheckpointed > 0) {
    problems.add('records-not-checkpointed', `${uncheckpointed} record(s) after sequence ${largestValid - 1} are not covered by a signed checkpoint.`, largestValid);
  }
  // A root mismatch over [from, to) is explained by a record problem inside that range; if none
  // is, the bad record is somewhere in the range and only its start can be named.
  const sequences = [...recordProblemSequences];
  for (const suspect of suspects) {
    if (suspect.to === undefined || !recordProblemSequences.some((sequence) => sequence >= suspect.from && sequence < suspect.to!)) sequences.push(suspect.from);
  }
  if (options.requireCheckpointed === true && uncheckpointed > 0) sequences.push(largestValid);
  const result: TenantVerification = {
    tenantId,
    records: records.length,
    checkpoints,
    verifiedTreeSize,
    uncheckpointedRecords: uncheckpointed,
    problems: problems.items,
  };
  return sequences.length === 0 ? result : { ...result, firstBadSequence: Math.min(...sequences) };
}



/** Hash, tenant, shape and chain-link checks per stored record; fills the tree in stored order. */
function checkRecords(tenantId: string, records: readonly unknown[], claims: readonly (number | undefined)[], tree: MerkleTree, problems: ProblemList<AuditProblemCode>): void {
  let previousHash: unknown = GENESIS_HASH;
  for (const [position, record] of records.entries()) {
    const sequence = claims[position] ?? position;
    const shape = shapeProblem(record);
    if (shape !== null) problems.add('record-malformed', `Record at position ${position}: ${shape}.`, sequence);
    const fields = isObject(record) ? record : {};
    const recordHash = fields.recordHash;
    if (isHexHash(recordHash)) {
      tree.appendLeafHash(recordLeafHash(recordHash));
      if (isObject(record) && hashOrNull(record) !== recordHash) {
        problems.add('record-hash-mismatch', `Record ${sequence} does not hash to its recordHash: it was modified after sealing.`, sequence);
      }
    } else {
      tree.appendLeafHash(ZERO_LEAF);
    }
    if (fields.tenantId !== undefined && fields.tenantId !== tenantId) {
      problems.add('record-wrong-tenant', `Record ${sequence} names tenant ${JSON.stringify(fields.tenantId)}.`, sequence);
    }
    if (fields.prevHash !== previousHash) {
      const predecessor = position === 0 ? 'the genesis hash (64 zeros)' : `the hash of the record stored before it`;
      problems.add('chain-broken', `Record ${sequence}'s prevHash is not ${predecessor}: it or its predecessor was altered, removed or moved.`, sequence);
    }
    previousHash = recordHash;
  }
}

/** The record hash, or null when the stored value cannot be canonicalised (then it cannot match). */
function hashOrNull(record: Record<string, unknown>): string | null {
  try {
    return computeRecordHash(record);
  } catch {
    return null;
  }
}

/**
 * Compares each stored position with the sequence its record claims. A deletion, insertion or
 * move shifts every later position by the same offset, so only the start of each run of equal
 * offsets is reported, classified by what the whole log holds.
 */
function checkSequences(claims: readonly (number | undefined)[], problems: ProblemList<AuditProblemCode>): void {
  const counts = new Map<number, number>();
  for (const claim of claims) if (claim !== undefined) counts.set(claim, (counts.get(claim) ?? 0) + 1);
  let previousOffset = 0;
  for (const [position, claim] of claims.entries()) {
    if (claim === undefined) continue;
    const offset = claim - position;
    if (offset !== 0 && offset !== previousOffset) {
      if ((counts.get(claim) ?? 0) > 1) {
        problems.add('sequence-duplicate', `Sequence ${claim} is stored more than once (again at position ${position}): a record was inserted.`, claim);
      } else {
        const missing = offset > 0 ? firstMissing(counts, position, claim) : undefined;
        if (missing !== undefined) {
          problems.add('sequence-gap', `Sequence ${missing} is missing (position ${position} holds ${claim}): records were deleted.`, missing);
        } else {
          problems.add('sequence-out-of-order', `Position ${position} holds sequence ${claim}: records were reordered.`, position);
        }
      }
    }
    previousOffset = offset;
  }
}

function firstMissing(counts: ReadonlyMap<number, number>, from: number, to: number): number | undefined {
  for (let sequence = from; sequence < to; sequence += 1) if (!counts.has(sequence)) return sequence;
  return undefined;
}

async function checkCheckpoints(
  source: AuditRecordSource,
  publicKey: KeyObject,
  tenantId: string,
  tree: MerkleTree,
  problems: ProblemList<AuditProblemCode>,
  options: VerifyLogOptions,
): Promise<{ verifiedTreeSize: number; largestValid: number; checkpoints: number; suspects: { from: number; to?: number }[] }> {
  let stored: readonly unknown[];
  try {
    stored = await source.listCheckpoints(tenantId);
  } catch (error) {
    problems.add('checkpoint-malformed', `Checkpoints could not be read: ${error instanceof Error ? error.message : String(error)}`);
    return { verifiedTreeSize: 0, largestValid: 0, checkpoints: 0, suspects: [] };
  }
  const origin = (options.origin ?? defaultOrigin)(tenantId);
  const valid: ValidCheckpoint[] = [];
  for (const [position, checkpoint] of stored.entries()) {
    const note = isObject(checkpoint) ? checkpoint.note : undefined;
    const parsed = typeof note === 'string' ? parseCheckpointNote(note) : null;
    if (parsed === null) {
      problems.add('checkpoint-malformed', `Checkpoint #${position} is not a well-formed signed note.`);
      continue;
    }
    if (!verifyCheckpointSignature(parsed, publicKey)) {
      problems.add('checkpoint-bad-signature', `Checkpoint #${position} (size ${parsed.treeSize}) has no signature that verifies with the public key.`);
      continue;
    }
    if (parsed.origin !== origin) {
      problems.add('checkpoint-wrong-origin', `Checkpoint #${position} is signed for ${JSON.stringify(parsed.origin)}, not ${JSON.stringify(origin)}.`);
      continue;
    }
    const fields = checkpoint as Record<string, unknown>;
    if (fields.treeSize !== parsed.treeSize || fields.rootHash !== Buffer.from(parsed.rootHash).toString('hex')) {
      problems.add('checkpoint-malformed', `Checkpoint #${position}: stored tree size or root differ from its signed note (the note is what counts).`);
    }
    valid.push({ treeSize: parsed.treeSize, rootHash: parsed.rootHash, position });
  }
  valid.sort((a, b) => a.treeSize - b.treeSize || a.position - b.position);

  const size = tree.size;
  const matches = (checkpoint: ValidCheckpoint): boolean => checkpoint.treeSize <= size && hashesEqual(tree.root(checkpoint.treeSize), checkpoint.rootHash);
  const matching = valid.filter(matches);
  const verifiedTreeSize = Math.max(0, ...matching.map((checkpoint) => checkpoint.treeSize));
  const suspects: { from: number; to?: number }[] = [];
  let truncationReported = false;
  for (const checkpoint of valid) {
    if (checkpoint.treeSize > size) {
      if (!truncationReported) {
        problems.add('checkpoint-beyond-log', `A signed checkpoint covers ${checkpoint.treeSize} records but only ${size} are stored: the log was truncated.`, size);
        truncationReported = true;
        suspects.push({ from: size });
      }
    } else if (!matches(checkpoint)) {
      const trustedUpTo = Math.max(0, ...matching.filter((good) => good.treeSize < checkpoint.treeSize).map((good) => good.treeSize));
      problems.add(
        'checkpoint-root-mismatch',
        `The first ${checkpoint.treeSize} stored records do not hash to the signed root of checkpoint #${checkpoint.position}: a record before sequence ${checkpoint.treeSize} was changed (records before ${trustedUpTo} are proven).`,
        trustedUpTo,
      );
      suspects.push({ from: trustedUpTo, to: checkpoint.treeSize });
    }
  }
  for (let i = 1; i < valid.length; i += 1) {
    const older = valid[i - 1]!;
    const newer = valid[i]!;
    if (older.treeSize === newer.treeSize) {
      if (!hashesEqual(older.rootHash, newer.rootHash)) {
        problems.add('checkpoint-fork', `Checkpoints #${older.position} and #${newer.position} both sign size ${older.treeSize} with different roots.`);
      }
    } else if (newer.treeSize <= size && matches(newer)) {
      // The data is the newer checkpoint's tree, so the proof computed from it is the log's own.
      const proof = tree.consistencyProof(older.treeSize, newer.treeSize);
      if (!verifyConsistency(older.treeSize, newer.treeSize, older.rootHash, newer.rootHash, proof)) {
        problems.add(
          'checkpoint-fork',
          `Checkpoint #${newer.position} (size ${newer.treeSize}) does not extend checkpoint #${older.position} (size ${older.treeSize}): the signed history forked.`,
        );
      }
    }
  }
  const largestValid = Math.max(0, ...valid.map((checkpoint) => checkpoint.treeSize));
  return { verifiedTreeSize, largestValid, checkpoints: stored.length, suspects };
}

