import type { ErrorCode } from './errors.js';
import type { GuestCapabilities } from './profiles.js';

/** Limits one execution runs under. Profiles and transformations may only tighten them. */
export interface ExecutionLimits {
  /** Wall-clock budget for all steps together, in milliseconds. */
  readonly timeoutMs: number;
  /** isolated-vm heap limit of the tenant's isolate, in MB (isolated-vm's minimum is 8). */
  readonly memoryLimitMb: number;
  /** Cap on the UTF-8 size of the input JSON. */
  readonly maxInputBytes: number;
  /** Cap on the UTF-8 size of the output JSON. */
  readonly maxOutputBytes: number;
  /** Cap on the number of steps of a transformation. */
  readonly maxSteps: number;
}

/** One step as the executor sees it: a name and a strict-mode function body. */
export interface PlanStep {
  readonly name: string;
  readonly run: string;
}

/**
 * What crosses into an executor (and over a process boundary): plain, serialisable data.
 * `id` is the SHA-256 of the transformation source, so executors can cache compiled code by it.
 */
export interface ExecutablePlan {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly steps: readonly PlanStep[];
}

export interface ExecutionRequest {
  readonly executionId: string;
  readonly tenantId: string;
  readonly plan: ExecutablePlan;
  /** The input, already serialised once: it is copied into the isolate as one string. */
  readonly inputJson: string;
  readonly limits: ExecutionLimits;
  /** Granted capabilities; absent means none. */
  readonly capabilities?: GuestCapabilities;
  /** Run in a worker process dedicated to this tenant (supervised executors). */
  readonly dedicatedWorker?: boolean;
  /**
   * Debugging: run in a throw-away inspector-enabled isolate and write a V8 heap snapshot (taken
   * after the steps ran, before the context is released) to this path. Never set by default.
   */
  readonly heapSnapshotPath?: string;
}

/** Where a heap snapshot was written. */
export interface HeapSnapshotInfo {
  readonly path: string;
  readonly bytes: number;
}

/** Figures measured for one execution. */
export interface ExecutionMetrics {
  /** Wall-clock time of the execution inside the executor, in ms. */
  readonly durationMs: number;
  /** CPU time the isolate spent, in ms (isolated-vm `cpuTime`). */
  readonly cpuMs: number;
  /** Heap the execution added to its isolate (used heap after minus before), in bytes. */
  readonly heapBytes: number;
}

export interface ExecutionFailure {
  readonly code: ErrorCode;
  readonly message: string;
  readonly step?: string;
}

export type ExecutionOutcome =
  | { readonly ok: true; readonly outputJson: string; readonly metrics: ExecutionMetrics; readonly logs?: readonly string[]; readonly heapSnapshot?: HeapSnapshotInfo }
  | { readonly ok: false; readonly error: ExecutionFailure; readonly metrics: ExecutionMetrics; readonly logs?: readonly string[]; readonly heapSnapshot?: HeapSnapshotInfo };

/**
 * Runs plans in a sandbox. Implementations must keep tenants apart (no shared isolate), start
 * every execution from a clean realm, and copy data across the boundary (never references).
 * `execute` never throws for guest behaviour: every guest failure is an outcome with a code.
 */
export interface Executor {
  execute(request: ExecutionRequest): Promise<ExecutionOutcome>;
  /** Drop everything held for a tenant (isolates, caches). */
  evictTenant(tenantId: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Limits of the built-in `default` profile. The seed asks for a 5 s timeout; isolated-vm's heap
 * limit cannot go below 8 MB, so the seed's "2 MB per execution" is a measured per-execution
 * budget (see `ExecutionMetrics.heapBytes`), not an isolate limit.
 */
export const DEFAULT_LIMITS: ExecutionLimits = Object.freeze({
  timeoutMs: 5_000,
  memoryLimitMb: 64,
  maxInputBytes: 2 * 1024 * 1024,
  maxOutputBytes: 2 * 1024 * 1024,
  maxSteps: 32,
});
