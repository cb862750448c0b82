import type { KeyObject } from 'node:crypto';
import { ErrorCodes } from '@beddel/contracts';
import type { AuditSink } from '@beddel/contracts';
import { assertTenantId } from './audit-record.js';
import { inTimeRange, parseTimeBound } from './audit-export.js';
import { parseCheckpointNote, verifyCheckpointSignature } from './signed-checkpoint.js';
import { verifyLog } from './verify-log.js';
import type { AuditProblem } from './verify-log.js';

/** What `buildAuditReport` reads: any sink, or anything serving these two calls. */
export type AuditReportSource = Pick<AuditSink, 'read' | 'listCheckpoints'>;

export interface AuditReportOptions {
  readonly tenantId: string;
  /** Inclusive lower bound on record `timestamp`. Default: the first record. */
  readonly from?: Date | string;
  /** Exclusive upper bound on record `timestamp`. Default: after the last record. */
  readonly to?: Date | string;
  /** Checkpoint origin per tenant. Default `beddel-audit/<tenantId>`. */
  readonly origin?: (tenantId: string) => string;
  /** Time written as `generatedAt`. Default: now. */
  readonly now?: () => Date;
}

/** Codes of runs stopped by a limit or by admission control. */
export const AUDIT_LIMIT_CODES = [
  ErrorCodes.TIMEOUT,
  ErrorCodes.MEMORY_LIMIT,
  ErrorCodes.OUTPUT_TOO_LARGE,
  ErrorCodes.INPUT_TOO_LARGE,
  ErrorCodes.RATE_LIMITED,
  ErrorCodes.OVERLOADED,
  ErrorCodes.CAPABILITY_DENIED,
] as const;

/** Nearest-rank percentiles (the smallest value with at least p% of values at or below it). */
export interface AuditPercentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface AuditTimeBucket {
  /** ISO-8601 UTC start of the bucket (hour or day). */
  readonly start: string;
  readonly ok: number;
  readonly failed: number;
}

/** A JSON-serialisable summary of one tenant's audit log over a period. */
export interface AuditReport {
  readonly report: 'beddel-audit-report';
  readonly version: 1;
  readonly tenantId: string;
  readonly generatedAt: string;
  /** The requested bounds (null: open) and the timestamps of the first and last record in them. */
  readonly period: { readonly from: string | null; readonly to: string | null; readonly firstRecordAt: string | null; readonly lastRecordAt: string | null };
  readonly executions: { readonly total: number; readonly ok: number; readonly failed: number };
  /** Failed runs by error code, most frequent first (`UNKNOWN` for a failed run without a code). */
  readonly failuresByCode: readonly { readonly code: string; readonly count: number }[];
  /** Every limit code of `AUDIT_LIMIT_CODES` with its count, zeros included. */
  readonly limitsHit: readonly { readonly code: string; readonly count: number }[];
  /** Null when the period has no executions. */
  readonly durationMs: AuditPercentiles | null;
  readonly cpuMs: AuditPercentiles | null;
  readonly heapBytes: AuditPercentiles | null;
  /** Executions over time: hourly for periods up to 72 hours, daily beyond. Empty buckets included. */
  readonly timeline: { readonly bucket: 'hour' | 'day'; readonly buckets: readonly AuditTimeBucket[] };
  /** Per transformation name and version, most executed first. */
  readonly transformations: readonly { readonly name: string; readonly version: string; readonly executions: number; readonly ok: number; readonly failed: number }[];
  /** `verifyLog` over the tenant's whole log (not just the period): integrity is a property of the chain. */
  readonly verification: {
    readonly ok: boolean;
    readonly records: number;
    readonly checkpoints: number;
    readonly verifiedTreeSize: number;
    readonly uncheckpointedRecords: number;
    readonly firstBadSequence: number | null;
    readonly problemCount: number;
    /** The first 20 problems. */
    readonly problems: readonly AuditProblem[];
  };
  /** The tenant's latest stored checkpoint, or null. */
  readonly checkpoint: {
    readonly treeSize: number;
    readonly rootHash: string;
    readonly origin: string | null;
    readonly keyName: string | null;
    readonly keyId: string | null;
    /** Whether its signature verifies with the report's public key. */
    readonly signatureValid: boolean;
    /** `createdAt` as stored (not signed). */
    readonly signedAt: string;
    /** Whether every record of the period is covered by it (sequence < treeSize). */
    readonly coversPeriod: boolean;
    readonly note: string;
  } | null;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MAX_HOURLY_SPAN = 72 * HOUR;
const MAX_BUCKETS = 5000;

/** Growable list of numbers in a typed array (8 bytes each) for percentiles. */
class Samples {
  private values = new Float64Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length] = value;
    this.length += 1;
  }

  percentiles(): AuditPercentiles | null {
    if (this.length === 0) return null;
    const sorted = this.values.slice(0, this.length).sort();
    const rank = (p: number): number => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
    return { p50: rank(50), p95: rank(95), p99: rank(99), max: sorted[sorted.length - 1]! };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function finite(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function countList(counts: ReadonlyMap<string, number>): { code: string; count: number }[] {
  return [...counts].map(([code, count]) => ({ code, count })).sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

/**
 * Builds a compliance report for one tenant and period from the log itself: execution counts,
 * failures by code, limits hit, duration / CPU / heap percentiles from the records' metrics,
 * executions over time, per-transformation counts, the result of `verifyLog` over the tenant's
 * whole log, and the latest checkpoint. The result is plain JSON; render it with
 * `renderAuditReportHtml`. Records are untrusted input: malformed values are skipped in the
 * statistics and show up in the verification. Memory: one number per execution per metric.
 *
 * Rejects with `BEDDEL_INVALID_TENANT` or `BEDDEL_CONFIGURATION` (bad bounds), or the source's errors.
 */
export async function buildAuditReport(source: AuditReportSource, publicKey: KeyObject, options: AuditReportOptions): Promise<AuditReport> {
  const { tenantId } = options;
  assertTenantId(tenantId);
  const from = parseTimeBound(options.from, 'from');
  const to = parseTimeBound(options.to, 'to');
  const generatedAt = (options.now?.() ?? new Date()).toISOString();

  let total = 0;
  let ok = 0;
  const failures = new Map<string, number>();
  const durations = new Samples();
  const cpu = new Samples();
  const heap = new Samples();
  const perTransformation = new Map<string, { name: string; version: string; executions: number; ok: number; failed: number }>();
  /** Executions per UTC hour (start ms): bounded by the period, not by the number of records. */
  const hours = new Map<number, { ok: number; failed: number }>();
  let firstMs = Number.POSITIVE_INFINITY;
  let lastMs = Number.NEGATIVE_INFINITY;
  let lastSequence = -1;

  for await (const record of source.read(tenantId) as AsyncIterable<unknown>) {
    if (!isObject(record) || !inTimeRange(record.timestamp, from, to)) continue;
    const ms = typeof record.timestamp === 'string' ? Date.parse(record.timestamp) : Number.NaN;
    if (!Number.isFinite(ms)) continue;
    total += 1;
    const succeeded = record.status === 'ok';
    if (succeeded) ok += 1;
    else {
      const code = typeof record.errorCode === 'string' ? record.errorCode : 'UNKNOWN';
      failures.set(code, (failures.get(code) ?? 0) + 1);
    }
    const metrics = isObject(record.metrics) ? record.metrics : {};
    const duration = finite(metrics.durationMs);
    if (duration !== null) durations.push(duration);
    const cpuMs = finite(metrics.cpuMs);
    if (cpuMs !== null) cpu.push(cpuMs);
    const heapBytes = finite(metrics.heapBytes);
    if (heapBytes !== null) heap.push(heapBytes);
    const transformation = isObject(record.transformation) ? record.transformation : {};
    const name = typeof transformation.name === 'string' ? transformation.name : '(unknown)';
    const version = typeof transformation.version === 'string' ? transformation.version : '';
    const key = JSON.stringify([name, version]);
    const entry = perTransformation.get(key) ?? { name, version, executions: 0, ok: 0, failed: 0 };
    entry.executions += 1;
    if (succeeded) entry.ok += 1;
    else entry.failed += 1;
    perTransformation.set(key, entry);
    const hour = Math.floor(ms / HOUR) * HOUR;
    const slot = hours.get(hour) ?? { ok: 0, failed: 0 };
    if (succeeded) slot.ok += 1;
    else slot.failed += 1;
    hours.set(hour, slot);
    firstMs = Math.min(firstMs, ms);
    lastMs = Math.max(lastMs, ms);
    if (typeof record.sequence === 'number') lastSequence = Math.max(lastSequence, record.sequence);
  }

  const verification = await verifyLog(
    { read: (tenant, range) => source.read(tenant, range), listCheckpoints: (tenant) => source.listCheckpoints(tenant), tenants: () => Promise.resolve([tenantId]) },
    publicKey,
    { tenants: [tenantId], ...(options.origin === undefined ? {} : { origin: options.origin }) },
  );
  const tenant = verification.tenants[0]!;

  const checkpoints = await source.listCheckpoints(tenantId);
  const latest = checkpoints.at(-1);
  let checkpoint: AuditReport['checkpoint'] = null;
  if (latest !== undefined) {
    const parsed = parseCheckpointNote(latest.note);
    const signature = parsed?.signatures[0];
    checkpoint = {
      treeSize: latest.treeSize,
      rootHash: latest.rootHash,
      origin: parsed?.origin ?? null,
      keyName: signature?.keyName ?? null,
      keyId: signature === undefined ? null : signature.keyId.toString(16).padStart(8, '0'),
      signatureValid: parsed !== null && verifyCheckpointSignature(parsed, publicKey),
      signedAt: latest.createdAt,
      coversPeriod: lastSequence < latest.treeSize,
      note: latest.note,
    };
  }

  const limits = new Map<string, number>(AUDIT_LIMIT_CODES.map((code) => [code, failures.get(code) ?? 0]));
  return {
    report: 'beddel-audit-report',
    version: 1,
    tenantId,
    generatedAt,
    period: {
      from: from?.iso ?? null,
      to: to?.iso ?? null,
      firstRecordAt: total === 0 ? null : new Date(firstMs).toISOString(),
      lastRecordAt: total === 0 ? null : new Date(lastMs).toISOString(),
    },
    executions: { total, ok, failed: total - ok },
    failuresByCode: countList(failures),
    limitsHit: [...limits].map(([code, count]) => ({ code, count })),
    durationMs: durations.percentiles(),
    cpuMs: cpu.percentiles(),
    heapBytes: heap.percentiles(),
    timeline: timeline(hours, from?.ms ?? (total === 0 ? null : firstMs), to === null ? (total === 0 ? null : lastMs + 1) : to.ms),
    transformations: [...perTransformation.values()].sort((a, b) => b.executions - a.executions || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    verification: {
      ok: tenant.problems.length === 0,
      records: tenant.records,
      checkpoints: tenant.checkpoints,
      verifiedTreeSize: tenant.verifiedTreeSize,
      uncheckpointedRecords: tenant.uncheckpointedRecords,
      firstBadSequence: tenant.firstBadSequence ?? null,
      problemCount: tenant.problems.length,
      problems: tenant.problems.slice(0, 20),
    },
    checkpoint,
  };
}

/** Buckets executions by UTC hour (span up to 72 h) or day, from `startMs` to `endMs` (exclusive). */
function timeline(hours: ReadonlyMap<number, { ok: number; failed: number }>, startMs: number | null, endMs: number | null): AuditReport['timeline'] {
  if (startMs === null || endMs === null || endMs <= startMs) return { bucket: 'hour', buckets: [] };
  const bucket = endMs - startMs <= MAX_HOURLY_SPAN ? 'hour' : 'day';
  const size = bucket === 'hour' ? HOUR : DAY;
  const first = Math.floor(startMs / size) * size;
  const count = Math.min(MAX_BUCKETS, Math.ceil((endMs - first) / size));
  const buckets = Array.from({ length: count }, (_, i) => ({ start: new Date(first + i * size).toISOString(), ok: 0, failed: 0 }));
  for (const [hour, slot] of hours) {
    const target = buckets[Math.min(Math.max(Math.floor((hour - first) / size), 0), count - 1)];
    if (target === undefined) continue;
    target.ok += slot.ok;
    target.failed += slot.failed;
  }
  return { bucket, buckets };
}
