import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { BeddelError, ErrorCodes } from '@beddel/contracts';
import { TENANT_ID_PATTERN, computeRecordHash, isHexHash, recordLeafHash } from './audit-record.js';
import { AUDIT_EXPORT_TYPE, AUDIT_EXPORT_VERSION, CSV_COLUMNS, CSV_COMMENT_PREFIX, CsvRowReader, csvCellsToRecord } from './audit-export-format.js';
import type { AuditExportFormat } from './audit-export-format.js';
import { inTimeRange } from './audit-export.js';
import { rootFromInclusionProof } from './merkle.js';
import { defaultOrigin, parseCheckpointNote, verifyCheckpointSignature } from './signed-checkpoint.js';
import { isObject, ProblemList, shapeProblem } from './record-checks.js';

export type AuditExportProblemCode =
  /** A line is not JSON / not a known line type, the header or columns are missing or repeated, or lines follow the checkpoint. */
  | 'export-malformed'
  /** The header disagrees with the signed checkpoint (tree size, root, origin) or with the lines (record count). */
  | 'header-mismatch'
  /** A record lacks a field or has a wrong type. */
  | 'record-malformed'
  /** A record does not hash to its `recordHash`: it was modified. */
  | 'record-hash-mismatch'
  /** A record names another tenant than the header. */
  | 'record-wrong-tenant'
  /** A record's timestamp is outside the header's [from, to) range. */
  | 'record-out-of-range'
  /** Sequences do not strictly increase: a record was duplicated or reordered. */
  | 'sequence-not-increasing'
  /** Two consecutive sequences do not link (`prevHash` is not the previous `recordHash`). */
  | 'chain-broken'
  /** The inclusion proof is malformed, or does not lead from the record to the signed root. */
  | 'proof-invalid'
  /** No checkpoint line. */
  | 'checkpoint-missing'
  /** The checkpoint is not a well-formed signed note, or its stored fields contradict its note. */
  | 'checkpoint-malformed'
  /** No signature on the checkpoint verifies with the public key (the note, its root or size was changed). */
  | 'checkpoint-bad-signature'
  /** The checkpoint was signed for another log (origin line). */
  | 'checkpoint-wrong-origin'
  /** The problem list was cut at `maxProblems`. */
  | 'too-many-problems';

export interface AuditExportProblem {
  readonly code: AuditExportProblemCode;
  /** The record sequence the problem is about, when it is about one. */
  readonly sequence?: number;
  readonly message: string;
}

export interface AuditExportVerification {
  /** True when every record line verified against a validly signed checkpoint and nothing else is wrong. */
  readonly ok: boolean;
  /** Tenant named by the header (null without a readable header). */
  readonly tenantId: string | null;
  /** Record lines / rows read. */
  readonly records: number;
  /** Size of the signed checkpoint (null when none verified). */
  readonly treeSize: number | null;
  /** Root of the signed checkpoint, lower-case hex (null when none verified). */
  readonly rootHash: string | null;
  readonly problems: readonly AuditExportProblem[];
}

export interface VerifyExportOptions {
  readonly format: AuditExportFormat;
  /** Expected checkpoint origin per tenant. Default `beddel-audit/<tenantId>`. */
  readonly origin?: (tenantId: string) => string;
  /** Default 1000. */
  readonly maxProblems?: number;
}

type ExportInput = string | Iterable<string> | AsyncIterable<string>;


async function* chunksOf(input: ExportInput): AsyncGenerator<string> {
  if (typeof input === 'string') {
    yield input;
    return;
  }
  if (Symbol.asyncIterator in input) {
    for await (const chunk of input) yield chunk;
  } else {
    for (const chunk of input) yield chunk;
  }
}

/** Physical lines of JSONL input, whatever the chunking. */
async function* jsonLines(input: ExportInput): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of chunksOf(input)) {
    rest += chunk;
    let end = rest.indexOf('\n');
    while (end >= 0) {
      yield rest.slice(0, end);
      rest = rest.slice(end + 1);
      end = rest.indexOf('\n');
    }
  }
  if (rest.length > 0) yield rest;
}

type ExportItem =
  | { kind: 'header'; value: unknown; line: number }
  | { kind: 'record'; record: unknown; leafIndex: unknown; treeSize: unknown; auditPath: unknown; line: number }
  | { kind: 'checkpoint'; value: unknown; line: number }
  | { kind: 'columns'; cells: readonly string[]; line: number }
  | { kind: 'malformed'; message: string; line: number };

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

async function* jsonlItems(input: ExportInput): AsyncGenerator<ExportItem> {
  let line = 0;
  for await (const text of jsonLines(input)) {
    line += 1;
    if (text.length === 0) continue;
    const value = parseJson(text);
    if (!isObject(value)) {
      yield { kind: 'malformed', message: `Line ${line} is not a JSON object.`, line };
    } else if (value.type === 'header') {
      yield { kind: 'header', value, line };
    } else if (value.type === 'checkpoint') {
      yield { kind: 'checkpoint', value: value.checkpoint, line };
    } else if (value.type === 'record') {
      const proof = isObject(value.inclusionProof) ? value.inclusionProof : {};
      yield { kind: 'record', record: value.record, leafIndex: proof.leafIndex, treeSize: proof.treeSize, auditPath: proof.auditPath, line };
    } else {
      yield { kind: 'malformed', message: `Line ${line} has unknown type ${JSON.stringify(value.type)}.`, line };
    }
  }
}

async function* csvItems(input: ExportInput): AsyncGenerator<ExportItem> {
  const reader = new CsvRowReader();
  let line = 0;
  let sawColumns = false;
  const convert = (row: { readonly comment: string } | { readonly cells: string[] }): ExportItem => {
    line += 1;
    if ('comment' in row) {
      const value = row.comment.startsWith(CSV_COMMENT_PREFIX) ? parseJson(row.comment.slice(CSV_COMMENT_PREFIX.length)) : undefined;
      if (isObject(value) && value.type === 'header') return { kind: 'header', value, line };
      if (isObject(value) && value.type === 'checkpoint') return { kind: 'checkpoint', value: value.checkpoint, line };
      return { kind: 'malformed', message: `Comment row ${line} is neither the header nor the checkpoint.`, line };
    }
    if (!sawColumns) {
      sawColumns = true;
      return { kind: 'columns', cells: row.cells, line };
    }
    const parsed = csvCellsToRecord(row.cells);
    if (typeof parsed === 'string') return { kind: 'malformed', message: `Row ${line}: ${parsed}.`, line };
    const auditPath = parsed.auditPath;
    return { kind: 'record', record: parsed.record, leafIndex: parsed.leafIndex, treeSize: undefined, auditPath, line };
  };
  for await (const chunk of chunksOf(input)) for (const row of reader.push(chunk)) yield convert(row);
  for (const row of reader.end()) yield convert(row);
}


function toPublicKey(key: KeyObject | string): KeyObject {
  try {
    const object = typeof key === 'string' ? createPublicKey(key) : key;
    return object.type === 'private' ? createPublicKey(object) : object;
  } catch (cause) {
    throw new BeddelError(ErrorCodes.CONFIGURATION, 'The audit public key is not a valid key (KeyObject or SPKI PEM).', { cause });
  }
}


/**
 * Verifies an export produced by `exportAuditRecords`, trusting only `publicKey`: the header,
 * every record's hash, the chain links between consecutive sequences, every inclusion proof
 * against the signed checkpoint's root, and the checkpoint's signature and origin. Takes the
 * whole text, or its lines / chunks in any split (e.g. a `fs.createReadStream(file, 'utf8')`).
 * Never throws for bad data: it reports it. Memory: one number per record line.
 *
 * A valid export proves that each record it holds is in the tenant's signed log at its sequence;
 * it cannot prove that the exporter included every record of the time range (the header's
 * counts are the exporter's claim). Compare `firstSequence..lastSequence` across exports, or
 * verify the whole log with `verifyLog`, for completeness.
 */
export async function verifyExport(input: ExportInput, publicKey: KeyObject | string, options: VerifyExportOptions): Promise<AuditExportVerification> {
  const key = toPublicKey(publicKey);
  const problems = new ProblemList<AuditExportProblemCode>(options.maxProblems ?? 1000);
  const items = options.format === 'csv' ? csvItems(input) : jsonlItems(input);

  let header: Record<string, unknown> | null = null;
  let tenantId: string | null = null;
  let from: { ms: number } | null = null;
  let to: { ms: number } | null = null;
  let checkpoint: unknown;
  let sawCheckpoint = false;
  let records = 0;
  let previous: { sequence: number; recordHash: unknown } | null = null;
  /** Sequences grouped by the (tree size, root) their proof leads to; normally one group. */
  const provenRoots = new Map<string, number[]>();

  for await (const item of items) {
    if (sawCheckpoint) {
      problems.add('export-malformed', `Line ${item.line} follows the checkpoint line, which must be last.`);
      continue;
    }
    switch (item.kind) {
      case 'malformed':
        problems.add('export-malformed', item.message);
        break;
      case 'header': {
        if (header !== null || item.line !== 1) {
          problems.add('export-malformed', `Line ${item.line}: the header must be the first line, once.`);
          break;
        }
        header = item.value as Record<string, unknown>;
        if (header.export !== AUDIT_EXPORT_TYPE || header.version !== AUDIT_EXPORT_VERSION || header.format !== options.format) {
          problems.add('export-malformed', `The header is not a version ${AUDIT_EXPORT_VERSION} ${options.format} ${AUDIT_EXPORT_TYPE} header.`);
        }
        tenantId = typeof header.tenantId === 'string' && TENANT_ID_PATTERN.test(header.tenantId) ? header.tenantId : null;
        if (tenantId === null) problems.add('export-malformed', 'The header names no valid tenant id.');
        from = typeof header.from === 'string' && Number.isFinite(Date.parse(header.from)) ? { ms: Date.parse(header.from) } : null;
        to = typeof header.to === 'string' && Number.isFinite(Date.parse(header.to)) ? { ms: Date.parse(header.to) } : null;
        break;
      }
      case 'columns':
        if (item.cells.join(',') !== CSV_COLUMNS.join(',')) problems.add('export-malformed', `Row ${item.line} is not the expected column header ${CSV_COLUMNS.join(',')}.`);
        break;
      case 'checkpoint':
        checkpoint = item.value;
        sawCheckpoint = true;
        break;
      case 'record': {
        records += 1;
        if (header === null) {
          problems.add('export-malformed', `Line ${item.line}: a record before the header.`);
          header = {};
        }
        previous = checkRecord(item, tenantId, from, to, header, previous, provenRoots, problems);
        break;
      }
    }
  }

  if (header === null) problems.add('export-malformed', 'The export has no header line.');
  if (header !== null && typeof header.records === 'number' && header.records !== records) {
    problems.add('header-mismatch', `The header announces ${header.records} records, the export holds ${records}: lines were added or removed.`);
  }
  const signed = sawCheckpoint ? checkCheckpoint(checkpoint, key, tenantId, header ?? {}, options, problems) : null;
  if (!sawCheckpoint) problems.add('checkpoint-missing', 'The export has no checkpoint line (it must be the last line).');

  if (signed !== null) {
    const expected = `${signed.treeSize}:${signed.rootHash}`;
    for (const [proven, sequences] of provenRoots) {
      if (proven === expected) continue;
      for (const sequence of sequences) {
        problems.add('proof-invalid', `The inclusion proof of record ${sequence} does not lead to the signed root of tree size ${signed.treeSize}.`, sequence);
      }
    }
  } else if (records > 0) {
    problems.add('proof-invalid', 'No inclusion proof could be checked: there is no validly signed checkpoint to check them against.');
  }
  return {
    ok: problems.items.length === 0,
    tenantId,
    records,
    treeSize: signed?.treeSize ?? null,
    rootHash: signed?.rootHash ?? null,
    problems: problems.items,
  };
}

function checkRecord(
  item: Extract<ExportItem, { kind: 'record' }>,
  tenantId: string | null,
  from: { ms: number } | null,
  to: { ms: number } | null,
  header: Record<string, unknown>,
  previous: { sequence: number; recordHash: unknown } | null,
  provenRoots: Map<string, number[]>,
  problems: ProblemList<AuditExportProblemCode>,
): { sequence: number; recordHash: unknown } | null {
  if (!isObject(item.record)) {
    problems.add('record-malformed', `Line ${item.line} holds no record object.`);
    return previous;
  }
  const record = item.record;
  const shape = shapeProblem(record);
  const sequence = typeof record.sequence === 'number' && Number.isSafeInteger(record.sequence) ? record.sequence : undefined;
  if (shape !== null) problems.add('record-malformed', `Line ${item.line}: ${shape}.`, sequence);
  let hashOk = false;
  try {
    hashOk = isHexHash(record.recordHash) && computeRecordHash(record) === record.recordHash;
  } catch {
    hashOk = false;
  }
  if (!hashOk) problems.add('record-hash-mismatch', `Record ${sequence ?? `on line ${item.line}`} does not hash to its recordHash: it was modified.`, sequence);
  if (tenantId !== null && record.tenantId !== tenantId) problems.add('record-wrong-tenant', `Record ${sequence ?? '?'} names tenant ${JSON.stringify(record.tenantId)}.`, sequence);
  if ((from !== null || to !== null) && !inTimeRange(record.timestamp, from, to)) {
    problems.add('record-out-of-range', `Record ${sequence ?? '?'} has timestamp ${JSON.stringify(record.timestamp)}, outside the exported range.`, sequence);
  }
  if (sequence === undefined) return previous;
  if (previous !== null) {
    if (sequence <= previous.sequence) {
      problems.add('sequence-not-increasing', `Record ${sequence} follows record ${previous.sequence}: records were duplicated or reordered.`, sequence);
    } else if (sequence === previous.sequence + 1 && record.prevHash !== previous.recordHash) {
      problems.add('chain-broken', `Record ${sequence}'s prevHash is not the recordHash of record ${previous.sequence}.`, sequence);
    }
  }

  // The proof: leaf index must be the sequence; the tree size is the header's (CSV) or the line's (JSONL).
  const treeSize = item.treeSize === undefined ? header.treeSize : item.treeSize;
  const path = item.auditPath;
  if (item.leafIndex !== sequence || typeof treeSize !== 'number' || !Array.isArray(path) || !path.every((hash) => isHexHash(hash)) || !isHexHash(record.recordHash)) {
    problems.add('proof-invalid', `The inclusion proof of record ${sequence} is malformed (leaf index, tree size or audit path).`, sequence);
  } else {
    const root = rootFromInclusionProof(
      recordLeafHash(record.recordHash),
      sequence,
      treeSize,
      path.map((hash) => Buffer.from(hash, 'hex')),
    );
    if (root === null) {
      problems.add('proof-invalid', `The inclusion proof of record ${sequence} does not fit leaf ${sequence} of a tree of ${treeSize}.`, sequence);
    } else {
      const key = `${treeSize}:${Buffer.from(root).toString('hex')}`;
      const group = provenRoots.get(key);
      if (group === undefined) provenRoots.set(key, [sequence]);
      else group.push(sequence);
    }
  }
  return { sequence, recordHash: record.recordHash };
}

function checkCheckpoint(
  checkpoint: unknown,
  publicKey: KeyObject,
  tenantId: string | null,
  header: Record<string, unknown>,
  options: VerifyExportOptions,
  problems: ProblemList<AuditExportProblemCode>,
): { treeSize: number; rootHash: string } | null {
  const note = isObject(checkpoint) ? checkpoint.note : undefined;
  const parsed = typeof note === 'string' ? parseCheckpointNote(note) : null;
  if (parsed === null) {
    problems.add('checkpoint-malformed', 'The checkpoint is not a well-formed signed note.');
    return null;
  }
  if (!verifyCheckpointSignature(parsed, publicKey)) {
    problems.add('checkpoint-bad-signature', `The checkpoint (tree size ${parsed.treeSize}) has no signature that verifies with the public key: the note, its size or root, or the signature was changed.`);
    return null;
  }
  if (tenantId !== null) {
    const origin = (options.origin ?? defaultOrigin)(tenantId);
    if (parsed.origin !== origin) {
      problems.add('checkpoint-wrong-origin', `The checkpoint is signed for ${JSON.stringify(parsed.origin)}, not ${JSON.stringify(origin)}.`);
      return null;
    }
  }
  const rootHash = Buffer.from(parsed.rootHash).toString('hex');
  const fields = checkpoint as Record<string, unknown>;
  if (fields.treeSize !== parsed.treeSize || fields.rootHash !== rootHash) {
    problems.add('checkpoint-malformed', 'The checkpoint\'s treeSize or rootHash members differ from its signed note (the note is what counts).');
  }
  if (header.treeSize !== parsed.treeSize || header.rootHash !== rootHash) {
    problems.add('header-mismatch', `The header's treeSize / rootHash differ from the signed checkpoint (${parsed.treeSize}, ${rootHash}).`);
  }
  return { treeSize: parsed.treeSize, rootHash };
}
