import { isHexHash, TENANT_ID_PATTERN } from '@beddel/contracts';

/**
 * Checks shared by the log verifier and the export verifier: both trust nothing they read, so
 * both check every record's shape the same way before hashing it.
 */

/** Problems found while verifying, capped so a badly damaged log does not flood the report. */
export class ProblemList<Code extends string> {
  readonly items: Array<{ code: Code | 'too-many-problems'; message: string; sequence?: number }> = [];
  private full = false;

  constructor(private readonly max: number) {}

  add(code: Code, message: string, sequence?: number): void {
    if (this.full) return;
    if (this.items.length >= this.max) {
      this.full = true;
      this.items.push({ code: 'too-many-problems', message: `More than ${this.max} problems; the rest are not listed.` });
      return;
    }
    this.items.push(sequence === undefined ? { code, message } : { code, sequence, message });
  }
}

/** Returns why `record` is not a well-formed version-1 record, or `null`. */
export function shapeProblem(record: unknown): string | null {
  if (!isObject(record)) return 'not a JSON object';
  if (record.version !== 1) return `unknown format version ${JSON.stringify(record.version)}`;
  const strings = ['tenantId', 'executionId', 'timestamp', 'profileId'] as const;
  for (const key of strings) if (typeof record[key] !== 'string') return `${key} is not a string`;
  if (typeof record.tenantId === 'string' && !TENANT_ID_PATTERN.test(record.tenantId)) return 'tenantId is not a valid tenant id';
  for (const key of ['inputSha256', 'outputSha256', 'prevHash', 'recordHash'] as const) if (!isHexHash(record[key])) return `${key} is not a hex SHA-256`;
  if (sequenceOf(record) === undefined) return 'sequence is not a non-negative integer';
  if (record.status !== 'ok' && record.status !== 'error') return 'status is neither "ok" nor "error"';
  if (record.errorCode !== null && typeof record.errorCode !== 'string') return 'errorCode is neither null nor a string';
  const transformation = record.transformation;
  if (!isObject(transformation) || typeof transformation.name !== 'string' || typeof transformation.version !== 'string' || typeof transformation.sourceSha256 !== 'string') {
    return 'transformation is not { name, version, sourceSha256 }';
  }
  const metrics = record.metrics;
  if (!isObject(metrics) || typeof metrics.durationMs !== 'number' || typeof metrics.cpuMs !== 'number' || typeof metrics.heapBytes !== 'number') {
    return 'metrics is not { durationMs, cpuMs, heapBytes }';
  }
  return null;
}

export function sequenceOf(record: unknown): number | undefined {
  const sequence = isObject(record) ? record.sequence : undefined;
  return typeof sequence === 'number' && Number.isSafeInteger(sequence) && sequence >= 0 ? sequence : undefined;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
