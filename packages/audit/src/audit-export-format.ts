import type { AuditCheckpoint, SealedAuditRecord } from '@beddel/contracts';

/**
 * The byte-level export formats (docs/audit-log-format.md §6), shared by `exportAuditRecords`
 * and `verifyExport`. Every JSON value in an export is RFC 8785 canonical JSON on one line.
 */

export const AUDIT_EXPORT_TYPE = 'beddel-audit-export';
export const AUDIT_EXPORT_VERSION = 1;

export type AuditExportFormat = 'jsonl' | 'csv';

/** First line of every export (in CSV as a `# ` comment line). Not signed: the checkpoint is. */
export interface AuditExportHeader {
  readonly type: 'header';
  readonly export: typeof AUDIT_EXPORT_TYPE;
  readonly version: typeof AUDIT_EXPORT_VERSION;
  readonly format: AuditExportFormat;
  readonly tenantId: string;
  /** Inclusive lower bound on record `timestamp` (ISO-8601), or null for "from the start". */
  readonly from: string | null;
  /** Exclusive upper bound on record `timestamp` (ISO-8601), or null for "up to the checkpoint". */
  readonly to: string | null;
  readonly generatedAt: string;
  /** Size and root of the signed checkpoint every inclusion proof leads to (repeated from its note). */
  readonly treeSize: number;
  readonly rootHash: string;
  readonly origin: string;
  /** Number of record lines / rows that follow, and their first and last sequence. */
  readonly records: number;
  readonly firstSequence: number | null;
  readonly lastSequence: number | null;
  /** Records in the time range stored after the checkpoint: not exported, no signed root covers them yet. */
  readonly recordsAfterCheckpoint: number;
  /** Signed-note key name and 8-hex-digit key id of the checkpoint signature. */
  readonly keyName: string;
  readonly keyId: string;
  /** C2SP verifier key and SPKI PEM of the log key, when the exporter was given it. A convenience, not a trust anchor. */
  readonly verifierKey: string | null;
  readonly publicKeyPem: string | null;
  /** CSV only: the column names, in order. */
  readonly columns?: readonly string[];
}

/** A JSONL record line's proof: RFC 6962 audit path of leaf `leafIndex` in the tree of `treeSize`. */
export interface AuditExportProof {
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly auditPath: readonly string[];
}

export interface AuditExportRecordLine {
  readonly type: 'record';
  readonly record: SealedAuditRecord;
  readonly inclusionProof: AuditExportProof;
}

export interface AuditExportCheckpointLine {
  readonly type: 'checkpoint';
  readonly checkpoint: AuditCheckpoint;
}

/** CSV columns, in order. */
export const CSV_COLUMNS = [
  'sequence',
  'version',
  'tenantId',
  'executionId',
  'timestamp',
  'transformationName',
  'transformationVersion',
  'transformationSourceSha256',
  'inputSha256',
  'outputSha256',
  'profileId',
  'status',
  'errorCode',
  'durationMs',
  'cpuMs',
  'heapBytes',
  'prevHash',
  'recordHash',
  'leafIndex',
  'inclusionProof',
] as const;

export const CSV_COMMENT_PREFIX = '# ';

/** Characters that make spreadsheets treat a cell as a formula (OWASP CSV injection) plus the escape itself. */
const FORMULA_START = /^[=+\-@\t\r']/;
const NEEDS_QUOTES = /[",\r\n]/;
const JSON_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

/** A string cell: formula-escaped (leading `'`), then RFC 4180 quoted when needed. */
export function csvText(value: string): string {
  const escaped = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(escaped) ? `"${escaped.replaceAll('"', '""')}"` : escaped;
}

/** Reverses the formula escape of a parsed (unquoted) string cell. */
export function csvUntext(cell: string): string {
  return cell.startsWith("'") ? cell.slice(1) : cell;
}

function csvNumber(value: number): string {
  if (!Number.isFinite(value)) throw new TypeError('not a finite number');
  return JSON.stringify(value);
}

/** One CSV row (with its `\n`) for a record and its audit path. */
export function recordToCsvRow(record: SealedAuditRecord, auditPath: readonly string[]): string {
  const cells = [
    csvNumber(record.sequence),
    csvNumber(record.version),
    csvText(record.tenantId),
    csvText(record.executionId),
    csvText(record.timestamp),
    csvText(record.transformation.name),
    csvText(record.transformation.version),
    csvText(record.transformation.sourceSha256),
    csvText(record.inputSha256),
    csvText(record.outputSha256),
    csvText(record.profileId),
    csvText(record.status),
    record.errorCode === null ? '' : csvText(record.errorCode),
    csvNumber(record.metrics.durationMs),
    csvNumber(record.metrics.cpuMs),
    csvNumber(record.metrics.heapBytes),
    csvText(record.prevHash),
    csvText(record.recordHash),
    csvNumber(record.sequence),
    auditPath.join(';'),
  ];
  return `${cells.join(',')}\n`;
}

export interface CsvRecordRow {
  readonly record: Record<string, unknown>;
  readonly leafIndex: number | null;
  readonly auditPath: readonly string[];
}

function parseNumber(cell: string): number | string {
  return JSON_NUMBER.test(cell) ? Number(cell) : cell;
}

/**
 * Rebuilds the record object from parsed CSV cells (already unquoted). Values keep their JSON
 * types: number columns become numbers when they are JSON numbers (otherwise the text stays and
 * the record hash will not match), an empty `errorCode` is `null`.
 */
export function csvCellsToRecord(cells: readonly string[]): CsvRecordRow | string {
  if (cells.length !== CSV_COLUMNS.length) return `expected ${CSV_COLUMNS.length} columns, got ${cells.length}`;
  const cell = (name: (typeof CSV_COLUMNS)[number]): string => cells[CSV_COLUMNS.indexOf(name)]!;
  const text = (name: (typeof CSV_COLUMNS)[number]): string => csvUntext(cell(name));
  const errorCode = cell('errorCode');
  const record: Record<string, unknown> = {
    version: parseNumber(cell('version')),
    tenantId: text('tenantId'),
    sequence: parseNumber(cell('sequence')),
    executionId: text('executionId'),
    timestamp: text('timestamp'),
    transformation: { name: text('transformationName'), version: text('transformationVersion'), sourceSha256: text('transformationSourceSha256') },
    inputSha256: text('inputSha256'),
    outputSha256: text('outputSha256'),
    profileId: text('profileId'),
    status: text('status'),
    errorCode: errorCode === '' ? null : csvUntext(errorCode),
    metrics: { durationMs: parseNumber(cell('durationMs')), cpuMs: parseNumber(cell('cpuMs')), heapBytes: parseNumber(cell('heapBytes')) },
    prevHash: text('prevHash'),
    recordHash: text('recordHash'),
  };
  const leafIndex = parseNumber(cell('leafIndex'));
  const proof = cell('inclusionProof');
  return { record, leafIndex: typeof leafIndex === 'number' ? leafIndex : null, auditPath: proof === '' ? [] : proof.split(';') };
}

/**
 * Splits RFC 4180 text into rows of cells. Feed it chunks; it yields complete rows (a quoted
 * cell may span lines). Lines starting with `# ` outside quotes are returned as comments.
 */
export class CsvRowReader {
  private buffer = '';

  /** Appends a chunk; returns the complete rows and comment lines in it, in order. */
  push(chunk: string): ({ readonly comment: string } | { readonly cells: string[] })[] {
    this.buffer += chunk;
    const out: ({ comment: string } | { cells: string[] })[] = [];
    for (;;) {
      const row = this.takeRow();
      if (row === null) break;
      out.push(row);
    }
    return out;
  }

  /** The unterminated rest, if any (a last row without `\n`). */
  end(): ({ readonly comment: string } | { readonly cells: string[] })[] {
    if (this.buffer.length === 0) return [];
    this.buffer += '\n';
    return this.push('');
  }

  private takeRow(): { comment: string } | { cells: string[] } | null {
    const text = this.buffer;
    if (text.startsWith('#')) {
      const end = text.indexOf('\n');
      if (end < 0) return null;
      this.buffer = text.slice(end + 1);
      return { comment: text.slice(0, end) };
    }
    const cells: string[] = [];
    let cell = '';
    let i = 0;
    let quoted = false;
    let wasQuoted = false;
    while (i < text.length) {
      const c = text[i]!;
      if (quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') {
            cell += '"';
            i += 2;
            continue;
          }
          if (i + 1 >= text.length) return null; // need the next char to decide
          quoted = false;
          i += 1;
          continue;
        }
        cell += c;
        i += 1;
        continue;
      }
      if (c === '"' && cell.length === 0 && !wasQuoted) {
        quoted = true;
        wasQuoted = true;
        i += 1;
      } else if (c === ',') {
        cells.push(cell);
        cell = '';
        wasQuoted = false;
        i += 1;
      } else if (c === '\n') {
        cells.push(cell.endsWith('\r') && !wasQuoted ? cell.slice(0, -1) : cell);
        this.buffer = text.slice(i + 1);
        return { cells };
      } else {
        cell += c;
        i += 1;
      }
    }
    return null;
  }
}
