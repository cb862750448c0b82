import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { BeddelError, ErrorCodes, canonicalJson } from '@beddel/contracts';
import type { AuditCheckpoint, AuditSink, SealedAuditRecord } from '@beddel/contracts';
import { GENESIS_HASH, assertTenantId, computeRecordHash, isHexHash, recordLeafHash } from './audit-record.js';
import {
  AUDIT_EXPORT_TYPE,
  AUDIT_EXPORT_VERSION,
  CSV_COLUMNS,
  CSV_COMMENT_PREFIX,
  CsvRowReader,
  csvCellsToRecord,
  recordToCsvRow,
} from './audit-export-format.js';
import type { AuditExportCheckpointLine, AuditExportFormat, AuditExportHeader, AuditExportRecordLine } from './audit-export-format.js';
import { MerkleTree, hashesEqual } from './merkle.js';
import { defaultOrigin, noteKeyId, noteVerifierKey, parseCheckpointNote, verifyCheckpointSignature } from './signed-checkpoint.js';
import type { ParsedCheckpoint } from './signed-checkpoint.js';
import { publicKeyToPem } from './signing-keys.js';

/** What `exportAuditRecords` reads: any sink, or anything serving these two calls. */
export type AuditExportSource = Pick<AuditSink, 'read' | 'listCheckpoints'>;

export interface AuditExportOptions {
  readonly tenantId: string;
  /** Inclusive lower bound on record `timestamp`. Default: from the first record. */
  readonly from?: Date | string;
  /** Exclusive upper bound on record `timestamp`. Default: up to the latest checkpoint. */
  readonly to?: Date | string;
  readonly format: AuditExportFormat;
  /**
   * The log's Ed25519 public key (KeyObject or SPKI PEM text). When given, the exporter refuses a
   * checkpoint it does not verify with, and writes the PEM and C2SP verifier key into the header.
   */
  readonly publicKey?: KeyObject | string;
  /** Checkpoint origin per tenant. Default `beddel-audit/<tenantId>`. */
  readonly origin?: (tenantId: string) => string;
  /** Time written as `generatedAt`. Default: now. */
  readonly now?: () => Date;
}

function corrupt(message: string): BeddelError {
  return new BeddelError(ErrorCodes.AUDIT_CORRUPT, `${message} Run verifyLog (beddel audit verify) on the log.`);
}

/** Parses an optional bound to milliseconds and its canonical ISO form. */
export function parseTimeBound(value: Date | string | undefined, name: string): { ms: number; iso: string } | null {
  if (value === undefined) return null;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (!Number.isFinite(ms)) throw new BeddelError(ErrorCodes.CONFIGURATION, `Invalid ${name} time ${JSON.stringify(String(value))}: use an ISO-8601 date or a Date.`);
  return { ms, iso: new Date(ms).toISOString() };
}

/** True when `timestamp` lies in [from, to); without bounds every record is in range. */
export function inTimeRange(timestamp: unknown, from: { ms: number } | null, to: { ms: number } | null): boolean {
  if (from === null && to === null) return true;
  const ms = typeof timestamp === 'string' ? Date.parse(timestamp) : Number.NaN;
  if (!Number.isFinite(ms)) return false;
  return (from === null || ms >= from.ms) && (to === null || ms < to.ms);
}

function toPublicKey(key: KeyObject | string): KeyObject {
  try {
    const object = typeof key === 'string' ? createPublicKey(key) : key;
    const publicKey = object.type === 'private' ? createPublicKey(object) : object;
    if (publicKey.asymmetricKeyType !== 'ed25519') throw new TypeError('not Ed25519');
    return publicKey;
  } catch (cause) {
    throw new BeddelError(ErrorCodes.CONFIGURATION, 'The audit public key must be an Ed25519 key (KeyObject or SPKI PEM).', { cause });
  }
}

/** The signature line that names `publicKey` (or the first one without a key). */
function signatureLine(parsed: ParsedCheckpoint, publicKey: KeyObject | null): { keyName: string; keyId: number } {
  if (publicKey !== null) {
    const match = parsed.signatures.find((line) => line.keyId === noteKeyId(line.keyName, publicKey));
    if (match !== undefined) return match;
  }
  return parsed.signatures[0]!;
}

/**
 * Streams a self-verifying export of one tenant's records whose `timestamp` lies in
 * [`from`, `to`): a header, one line (JSONL) or row (CSV) per record with its RFC 6962 inclusion
 * proof against the tenant's latest signed checkpoint, and that checkpoint. Each yielded string
 * ends with `\n`; concatenated they are the file (docs/audit-log-format.md §6).
 *
 * Only records the checkpoint covers are exported (the header counts the others as
 * `recordsAfterCheckpoint`): sign a checkpoint first (`AuditTrail.checkpoint`) to include the
 * newest. Memory: the Merkle tree of the checkpoint (about 64 bytes per record), never all
 * records; the source is read twice.
 *
 * Errors reject the iteration: `BEDDEL_INVALID_TENANT`, `BEDDEL_CONFIGURATION` (bad bounds or
 * key), `BEDDEL_AUDIT_UNAVAILABLE` (no checkpoint), `BEDDEL_AUDIT_CORRUPT` (the stored records do
 * not match the signed checkpoint, or the checkpoint does not verify with `publicKey`), or the
 * source's own errors.
 *
 * ```ts
 * await pipeline(Readable.from(exportAuditRecords(sink, { tenantId, format: 'jsonl', publicKey })), createWriteStream(file));
 * ```
 */
export async function* exportAuditRecords(source: AuditExportSource, options: AuditExportOptions): AsyncGenerator<string, void, undefined> {
  const { tenantId, format } = options;
  assertTenantId(tenantId);
  if (format !== 'jsonl' && format !== 'csv') throw new BeddelError(ErrorCodes.CONFIGURATION, `Unknown export format ${JSON.stringify(format)}: use "jsonl" or "csv".`);
  const from = parseTimeBound(options.from, 'from');
  const to = parseTimeBound(options.to, 'to');
  const publicKey = options.publicKey === undefined ? null : toPublicKey(options.publicKey);
  const origin = (options.origin ?? defaultOrigin)(tenantId);

  const checkpoints = await source.listCheckpoints(tenantId);
  const checkpoint: AuditCheckpoint | undefined = checkpoints.at(-1);
  if (checkpoint === undefined) {
    throw new BeddelError(ErrorCodes.AUDIT_UNAVAILABLE, `Tenant ${tenantId} has no signed checkpoint yet: sign one (AuditTrail.checkpoint) before exporting.`);
  }
  const parsed = parseCheckpointNote(checkpoint.note);
  if (parsed === null) throw corrupt(`The latest checkpoint of tenant ${tenantId} is not a well-formed signed note.`);
  if (parsed.origin !== origin) throw corrupt(`The latest checkpoint of tenant ${tenantId} is signed for ${JSON.stringify(parsed.origin)}, not ${JSON.stringify(origin)}.`);
  if (publicKey !== null && !verifyCheckpointSignature(parsed, publicKey)) {
    throw corrupt(`The latest checkpoint of tenant ${tenantId} does not verify with the given public key.`);
  }
  const treeSize = parsed.treeSize;

  // Pass 1: every record up to the checkpoint into the tree (proofs need all leaves), checked as
  // we go; note which sequences the time range selects.
  const tree = new MerkleTree();
  let previous = GENESIS_HASH;
  let selected = 0;
  let firstSequence: number | null = null;
  let lastSequence: number | null = null;
  let afterCheckpoint = 0;
  let position = 0;
  for await (const record of source.read(tenantId)) {
    if (position < treeSize) {
      if (record.sequence !== position || record.tenantId !== tenantId) throw corrupt(`Stored record ${position} of tenant ${tenantId} is out of place.`);
      if (record.prevHash !== previous || !isHexHash(record.recordHash) || computeRecordHash(record) !== record.recordHash) {
        throw corrupt(`Stored record ${position} of tenant ${tenantId} was altered or does not link to its predecessor.`);
      }
      tree.appendLeafHash(recordLeafHash(record.recordHash));
      previous = record.recordHash;
      if (inTimeRange(record.timestamp, from, to)) {
        selected += 1;
        firstSequence ??= position;
        lastSequence = position;
      }
    } else if (inTimeRange(record.timestamp, from, to)) {
      afterCheckpoint += 1;
    }
    position += 1;
  }
  if (tree.size < treeSize) throw corrupt(`Tenant ${tenantId} has a checkpoint of ${treeSize} records but only ${tree.size} are stored.`);
  if (!hashesEqual(tree.root(treeSize), parsed.rootHash)) throw corrupt(`The stored records of tenant ${tenantId} do not hash to the root of their latest checkpoint.`);

  const signer = signatureLine(parsed, publicKey);
  const header: AuditExportHeader = {
    type: 'header',
    export: AUDIT_EXPORT_TYPE,
    version: AUDIT_EXPORT_VERSION,
    format,
    tenantId,
    from: from?.iso ?? null,
    to: to?.iso ?? null,
    generatedAt: (options.now?.() ?? new Date()).toISOString(),
    treeSize,
    rootHash: Buffer.from(parsed.rootHash).toString('hex'),
    origin,
    records: selected,
    firstSequence,
    lastSequence,
    recordsAfterCheckpoint: afterCheckpoint,
    keyName: signer.keyName,
    keyId: signer.keyId.toString(16).padStart(8, '0'),
    verifierKey: publicKey === null ? null : noteVerifierKey(signer.keyName, publicKey),
    publicKeyPem: publicKey === null ? null : publicKeyToPem(publicKey),
    ...(format === 'csv' ? { columns: CSV_COLUMNS } : {}),
  };
  yield format === 'csv' ? `${CSV_COMMENT_PREFIX}${canonicalJson(header)}\n` : `${canonicalJson(header)}\n`;
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\n`;

  // Pass 2: the selected span again, one line per record in range.
  let written = 0;
  if (firstSequence !== null && lastSequence !== null) {
    for await (const record of source.read(tenantId, { fromSequence: firstSequence, toSequence: lastSequence })) {
      if (!inTimeRange(record.timestamp, from, to)) continue;
      if (record.sequence < 0 || record.sequence >= treeSize || computeRecordHash(record) !== record.recordHash || !hashesEqual(recordLeafHash(record.recordHash), tree.leafHashAt(record.sequence))) {
        throw corrupt(`Record ${record.sequence} of tenant ${tenantId} changed during the export.`);
      }
      const auditPath = tree.inclusionProof(record.sequence, treeSize).map((hash) => Buffer.from(hash).toString('hex'));
      if (format === 'csv') {
        const row = recordToCsvRow(record, auditPath);
        if (!csvRoundTrips(row, record)) throw corrupt(`Record ${record.sequence} of tenant ${tenantId} cannot be written exactly as a CSV row; export JSONL instead.`);
        yield row;
      } else {
        const line: AuditExportRecordLine = { type: 'record', record, inclusionProof: { leafIndex: record.sequence, treeSize, auditPath } };
        yield `${canonicalJson(line)}\n`;
      }
      written += 1;
    }
  }
  if (written !== selected) throw corrupt(`Tenant ${tenantId}: ${selected} records were selected but ${written} could be read back.`);

  const last: AuditExportCheckpointLine = { type: 'checkpoint', checkpoint };
  yield format === 'csv' ? `${CSV_COMMENT_PREFIX}${canonicalJson(last)}\n` : `${canonicalJson(last)}\n`;
}

/** True when the CSV row parses back into a record with the same hash (exact representation). */
function csvRoundTrips(row: string, record: SealedAuditRecord): boolean {
  const rows = new CsvRowReader().push(row);
  const only = rows[0];
  if (rows.length !== 1 || only === undefined || !('cells' in only)) return false;
  const rebuilt = csvCellsToRecord(only.cells);
  return typeof rebuilt !== 'string' && computeRecordHash(rebuilt.record) === record.recordHash;
}
