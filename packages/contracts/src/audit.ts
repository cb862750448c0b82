import type { ErrorCode } from './errors.js';

/** What the engine hands the audit log after every execution, successful or not. */
export interface AuditEntry {
  readonly tenantId: string;
  readonly executionId: string;
  /** ISO-8601 UTC time the execution started. */
  readonly timestamp: string;
  readonly transformation: { readonly name: string; readonly version: string; readonly sourceSha256: string };
  /** Raw input and output; the audit log hashes them (canonical JSON) and does not store them by default. */
  readonly input: unknown;
  readonly output: unknown;
  readonly profileId: string;
  readonly status: 'ok' | 'error';
  readonly errorCode: ErrorCode | null;
  readonly metrics: { readonly durationMs: number; readonly cpuMs: number; readonly heapBytes: number };
}

/** Proof handed back with a result: enough for a tenant to find and prove its record. */
export interface AuditReceipt {
  readonly tenantId: string;
  readonly sequence: number;
  readonly recordHash: string;
}

/**
 * The engine-facing audit log. `append` resolves only after the record is durable; a rejection
 * means it is not, and the engine then fails the run (fail closed).
 */
export interface AuditLog {
  append(entry: AuditEntry): Promise<AuditReceipt>;
}
