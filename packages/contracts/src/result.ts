import type { AuditReceipt } from './audit.js';
import type { ErrorInfo } from './errors.js';
import type { HeapSnapshotInfo } from './execution.js';

export interface RunMetrics {
  /** Wall-clock time of the whole run (validation, execution, audit), in ms. */
  readonly durationMs: number;
  /** CPU time spent inside the isolate, in ms. */
  readonly cpuMs: number;
  /** Heap the execution added to its isolate, in bytes. */
  readonly heapBytes: number;
}

export interface TransformationRef {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
}

interface RunResultBase {
  readonly executionId: string;
  readonly tenant: string;
  readonly transformation: TransformationRef | null;
  readonly metrics: RunMetrics;
  readonly receipt?: AuditReceipt;
  /** Lines the steps logged through the `log` capability, when granted. */
  readonly logs?: readonly string[];
  /**
   * Set only when the engine runs with `auditFailure: 'fail-open'` and the audit record could not
   * be written: the result is returned anyway, and this says it is not in the audit log.
   */
  readonly auditError?: ErrorInfo;
  /** Debug runs only: where the heap snapshot was written. */
  readonly heapSnapshot?: HeapSnapshotInfo;
}

export interface RunSuccess extends RunResultBase {
  readonly ok: true;
  readonly output: unknown;
}

export interface RunFailure extends RunResultBase {
  readonly ok: false;
  readonly error: ErrorInfo;
}

export type RunResult = RunSuccess | RunFailure;
