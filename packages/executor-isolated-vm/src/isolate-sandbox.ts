import { writeFileSync } from 'node:fs';
import ivm from 'isolated-vm';
import { TenantPoolLedger } from '@beddel/memory-pool';
import type { PoolPolicy, TenantPoolStats } from '@beddel/memory-pool';
import { ErrorCodes } from '@beddel/contracts';
import type { ExecutablePlan, ExecutionFailure, ExecutionLimits, ExecutionMetrics, ExecutionOutcome, GuestCapabilities } from '@beddel/contracts';
import { FROZEN_REALM_LOCKDOWN_SOURCE, GUEST_HARNESS_SOURCE, stepsScriptSource } from './guest-harness.js';
import { ENVELOPE } from './guest-envelope.js';

export interface IsolateSandboxOptions {
  /** Isolates kept warm in this process; the least recently used tenant is evicted beyond it. */
  readonly maxTenants?: number;
  /** Recycling, idle eviction and the memory budget of this process (see @beddel/memory-pool). */
  readonly pool?: Partial<PoolPolicy>;
  /**
   * `fresh` (default): a new context per execution. `frozen`: one context per tenant and
   * transformation, deep-frozen before tenant code first runs, reused by every execution (see
   * FROZEN_REALM_LOCKDOWN_SOURCE); steps cannot create globals or change built-ins there.
   */
  readonly realm?: RealmMode;
  /** Compiled plans kept per isolate. */
  readonly maxPlansPerTenant?: number;
}

/** A sandbox run request without the plan body: the plan is looked up by id (see `SandboxRequest`). */
export interface SandboxRequest {
  readonly tenantId: string;
  readonly plan: ExecutablePlan;
  readonly inputJson: string;
  readonly limits: Pick<ExecutionLimits, 'timeoutMs' | 'memoryLimitMb' | 'maxOutputBytes'>;
  readonly capabilities?: GuestCapabilities;
  readonly heapSnapshotPath?: string;
}

interface TenantIsolate {
  readonly isolate: ivm.Isolate;
  /** Only the throw-away isolates of heap-snapshot runs have the inspector on. */
  readonly inspector: boolean;
  readonly memoryLimitMb: number;
  readonly harness: ivm.Script;
  /** plan id -> compiled steps script (+ names); insertion order doubles as LRU order. */
  readonly plans: Map<string, CompiledPlan>;
  /** A context made ready (harness run) while the worker was idle; used by exactly one execution. */
  spare: PreparedContext | undefined;
  /** Frozen-realm mode: plan id -> its locked-down, reused context. */
  readonly frozen: Map<string, FrozenContext>;
}

export type RealmMode = 'fresh' | 'frozen';

interface FrozenContext extends PreparedContext {
  readonly stepFunctions: ivm.Reference<unknown>;
}

interface PreparedContext {
  readonly context: ivm.Context;
  readonly runFunction: ivm.Reference<unknown>;
  readonly takeLogs: ivm.Reference<unknown>;
}

interface CompiledPlan {
  readonly script: ivm.Script;
  readonly stepNamesJson: string;
  readonly stepNames: readonly string[];
}

const MESSAGE_CAP = 2000;
const TIMEOUT_MESSAGE = 'Script execution timed out.';
/** isolated-vm's timeout fires at the deadline; a "timed out" error well before it came from guest code. */
const DEADLINE_SLACK_MS = 2;
const MEMORY_MESSAGE = 'Isolate was disposed during execution due to memory limit';

/**
 * Runs plans synchronously in per-tenant isolates of the current process.
 *
 * - One isolate per tenant, never shared; a fresh context per execution, released afterwards.
 * - Input enters as one JSON string and is parsed inside the isolate; output leaves as one string.
 * - Everything the guest does runs under isolated-vm's `timeout` (microtasks included), and an
 *   isolate that hit its memory limit is discarded and rebuilt on the next run.
 *
 * It blocks the calling thread while guest code runs, by design: in the default mode it lives in
 * a supervised worker process (see `WorkerProcessPool`) that the host can kill.
 */
export class IsolateSandbox {
  private readonly pool: TenantPoolLedger<TenantIsolate>;
  private readonly maxPlansPerTenant: number;
  readonly realm: RealmMode;

  constructor(options: IsolateSandboxOptions = {}) {
    this.realm = options.realm ?? 'fresh';
    this.pool = new TenantPoolLedger<TenantIsolate>({ ...options.pool, ...(options.maxTenants === undefined ? {} : { maxTenants: options.maxTenants }) }, (tenant) => {
      tenant.spare = undefined;
      if (!tenant.isolate.isDisposed) tenant.isolate.dispose();
    });
    this.maxPlansPerTenant = options.maxPlansPerTenant ?? 64;
  }

  get tenantCount(): number {
    return this.pool.size;
  }

  /** Pool statistics: tenants, heap, evictions and recycles by reason. */
  stats(): TenantPoolStats {
    return this.pool.stats();
  }

  /** Evicts tenants idle past the pool policy; returns how many. */
  evictIdle(): number {
    return this.pool.evictIdle();
  }

  run(request: SandboxRequest): ExecutionOutcome {
    const outcome = this.runOnce(request);
    const tenant = this.pool.get(request.tenantId);
    if (tenant !== undefined) {
      const hitLimit = tenant.isolate.isDisposed || (!outcome.ok && (outcome.error.code === ErrorCodes.TIMEOUT || outcome.error.code === ErrorCodes.MEMORY_LIMIT));
      const heapBytes = tenant.isolate.isDisposed ? 0 : tenant.isolate.getHeapStatisticsSync().used_heap_size;
      this.pool.recordExecution(request.tenantId, { heapBytes, hitLimit });
    }
    return outcome;
  }

  /**
   * Debugging: runs the request in a throw-away isolate with the inspector on (never the pooled
   * one, so pooled isolates never carry an inspector), then writes a heap snapshot that Chrome
   * DevTools opens. The snapshot is taken while the execution's context is still alive.
   */
  async runWithHeapSnapshot(request: SandboxRequest, path: string): Promise<ExecutionOutcome> {
    const tenant = newTenantIsolate(request.limits.memoryLimitMb, true);
    try {
      // The context is kept alive for the snapshot; disposing the isolate frees it afterwards.
      const outcome = this.runOnce(request, tenant, false);
      if (tenant.isolate.isDisposed) return outcome;
      const bytes = await writeHeapSnapshot(tenant.isolate, path);
      return { ...outcome, heapSnapshot: { path, bytes } };
    } finally {
      if (!tenant.isolate.isDisposed) tenant.isolate.dispose();
    }
  }

  private runOnce(request: SandboxRequest, dedicated?: TenantIsolate, releaseAfter = true): ExecutionOutcome {
    const started = performance.now();
    const deadline = started + request.limits.timeoutMs;
    let tenant: TenantIsolate;
    let plan: CompiledPlan;
    try {
      tenant = dedicated ?? this.tenantIsolate(request.tenantId, request.limits.memoryLimitMb);
      plan = this.compiledPlan(tenant, request.plan);
    } catch (error) {
      return this.failureOutcome(error, undefined, started, deadline, 0n, 0);
    }
    const { isolate } = tenant;
    const cpuBefore = isolate.cpuTime;
    const reuseFrozen = this.realm === 'frozen' && dedicated === undefined;
    let prepared: PreparedContext | undefined;
    let stepFunctions: ivm.Reference<unknown> | undefined;
    let heapBytes = 0;
    try {
      if (reuseFrozen) {
        const frozen = this.frozenContext(tenant, plan, request.plan.id, remaining(deadline));
        prepared = frozen;
        stepFunctions = frozen.stepFunctions;
      } else {
        prepared = tenant.spare ?? prepareContext(tenant, remaining(deadline));
        tenant.spare = undefined;
      }
      // Measured once the context is ready, so heapBytes is what the execution itself allocated,
      // whether its context was pre-warmed, reused or made just now.
      const heapBefore = isolate.getHeapStatisticsSync().used_heap_size;
      const { runFunction } = prepared;
      stepFunctions ??= plan.script.runSync(prepared.context, { reference: true, timeout: remaining(deadline) });
      const capabilities = request.capabilities ?? {};
      const envelope: unknown = runFunction.applySync(
        undefined,
        [stepFunctions.derefInto(), plan.stepNamesJson, request.inputJson, request.limits.maxOutputBytes, JSON.stringify(capabilities)],
        { timeout: remaining(deadline) },
      );
      heapBytes = Math.max(0, isolate.getHeapStatisticsSync().used_heap_size - heapBefore);
      const logs = capabilities.log === undefined ? undefined : takeLogs(prepared, capabilities.log.maxLines);
      const metrics = measure(started, isolate, cpuBefore, heapBytes);
      const outcome = decodeEnvelope(envelope, plan.stepNames, request.limits.maxOutputBytes, metrics);
      return logs === undefined ? outcome : { ...outcome, logs };
    } catch (error) {
      return this.failureOutcome(error, isolate, started, deadline, cpuBefore, heapBytes);
    } finally {
      // A frozen context and its step functions stay for the next execution.
      if (!reuseFrozen) {
        stepFunctions?.release();
        if (prepared !== undefined && releaseAfter) releaseContext(isolate, prepared);
      }
    }
  }

  /** The locked-down context of a tenant + transformation, built on first use (frozen realm). */
  private frozenContext(tenant: TenantIsolate, plan: CompiledPlan, planId: string, timeout: number): FrozenContext {
    const cached = tenant.frozen.get(planId);
    if (cached !== undefined) return cached;
    if (tenant.frozen.size >= this.maxPlansPerTenant) {
      const oldest = tenant.frozen.keys().next().value;
      const evicted = oldest === undefined ? undefined : tenant.frozen.get(oldest);
      if (oldest !== undefined && evicted !== undefined) {
        tenant.frozen.delete(oldest);
        evicted.stepFunctions.release();
        releaseContext(tenant.isolate, evicted);
      }
    }
    const prepared = prepareContext(tenant, timeout);
    let stepFunctions: ivm.Reference<unknown> | undefined;
    try {
      stepFunctions = plan.script.runSync(prepared.context, { reference: true, timeout });
      const lockdown = tenant.isolate.compileScriptSync(FROZEN_REALM_LOCKDOWN_SOURCE, { filename: 'beddel:lockdown' });
      const lockdownFunction = lockdown.runSync(prepared.context, { reference: true, timeout }) as ivm.Reference<unknown>;
      try {
        lockdownFunction.applySync(undefined, [stepFunctions.derefInto()], { timeout });
      } finally {
        lockdownFunction.release();
        lockdown.release();
      }
      const frozen: FrozenContext = { ...prepared, stepFunctions };
      tenant.frozen.set(planId, frozen);
      return frozen;
    } catch (error) {
      stepFunctions?.release();
      if (!tenant.isolate.isDisposed) releaseContext(tenant.isolate, prepared);
      throw error;
    }
  }

  /**
   * Makes the next context of a warm tenant ready ahead of time, so context creation and realm
   * hardening leave the hot path. Call it when idle; a failure only means the next run builds its
   * own context.
   */
  prepare(tenantId: string): void {
    const tenant = this.pool.get(tenantId);
    if (this.realm === 'frozen' || tenant === undefined || tenant.spare !== undefined || tenant.isolate.isDisposed) return;
    try {
      tenant.spare = prepareContext(tenant, PREPARE_TIMEOUT_MS);
    } catch {
      tenant.spare = undefined;
    }
  }

  /** Dispose a tenant's isolate (eviction, or after it hit a limit). */
  evict(tenantId: string): void {
    this.pool.evict(tenantId, 'requested');
  }

  close(): void {
    this.pool.clear();
  }

  private tenantIsolate(tenantId: string, memoryLimitMb: number): TenantIsolate {
    const existing = this.pool.get(tenantId);
    if (existing !== undefined && !existing.isolate.isDisposed && existing.memoryLimitMb === memoryLimitMb) return existing;
    const tenant = newTenantIsolate(memoryLimitMb, false);
    this.pool.add(tenantId, tenant, memoryLimitMb * 1024 * 1024, tenant.isolate.getHeapStatisticsSync().used_heap_size);
    return tenant;
  }

  private compiledPlan(tenant: TenantIsolate, plan: ExecutablePlan): CompiledPlan {
    const cached = tenant.plans.get(plan.id);
    if (cached !== undefined) {
      tenant.plans.delete(plan.id);
      tenant.plans.set(plan.id, cached);
      return cached;
    }
    if (tenant.plans.size >= this.maxPlansPerTenant) {
      const oldest = tenant.plans.keys().next().value;
      if (oldest !== undefined) {
        tenant.plans.get(oldest)?.script.release();
        tenant.plans.delete(oldest);
      }
    }
    const stepNames = plan.steps.map((step) => step.name);
    const compiled: CompiledPlan = {
      script: tenant.isolate.compileScriptSync(
        stepsScriptSource(plan.steps.map((step) => step.run)),
        { filename: `beddel:${plan.name}@${plan.version}` },
      ),
      stepNamesJson: JSON.stringify(stepNames),
      stepNames,
    };
    tenant.plans.set(plan.id, compiled);
    return compiled;
  }

  private failureOutcome(
    error: unknown,
    isolate: ivm.Isolate | undefined,
    started: number,
    deadline: number,
    cpuBefore: bigint,
    heapBytes: number,
  ): ExecutionOutcome {
    // The pool recycles the isolate afterwards (see `run`) when a limit was hit.
    const failure = classifyHostSideError(error, isolate, deadline);
    const metrics =
      isolate === undefined || isolate.isDisposed
        ? { durationMs: performance.now() - started, cpuMs: 0, heapBytes }
        : measure(started, isolate, cpuBefore, heapBytes);
    return { ok: false, error: failure, metrics };
  }
}

const PREPARE_TIMEOUT_MS = 1000;

function newTenantIsolate(memoryLimitMb: number, inspector: boolean): TenantIsolate {
  const isolate = new ivm.Isolate({ memoryLimit: Math.max(8, memoryLimitMb), inspector });
  return {
    isolate,
    inspector,
    memoryLimitMb,
    harness: isolate.compileScriptSync(GUEST_HARNESS_SOURCE, { filename: 'beddel:harness' }),
    plans: new Map(),
    spare: undefined,
    frozen: new Map(),
  };
}

const SNAPSHOT_TIMEOUT_MS = 60_000;

/**
 * Takes a heap snapshot through the inspector protocol and writes it to `path`. The inspector
 * answers asynchronously; the file is written only once the snapshot is complete.
 */
async function writeHeapSnapshot(isolate: ivm.Isolate, path: string): Promise<number> {
  const session = isolate.createInspectorSession();
  const chunks: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('The inspector did not complete the heap snapshot in time.')), SNAPSHOT_TIMEOUT_MS);
      session.onNotification = (message: string) => {
        const parsed = JSON.parse(message) as { method?: string; params?: { chunk?: string } };
        if (parsed.method === 'HeapProfiler.addHeapSnapshotChunk' && typeof parsed.params?.chunk === 'string') chunks.push(parsed.params.chunk);
      };
      session.onResponse = (callId: number) => {
        if (callId !== 2) return;
        clearTimeout(timer);
        resolve();
      };
      session.dispatchProtocolMessage(JSON.stringify({ id: 1, method: 'HeapProfiler.enable' }));
      session.dispatchProtocolMessage(JSON.stringify({ id: 2, method: 'HeapProfiler.takeHeapSnapshot', params: { reportProgress: false } }));
    });
  } finally {
    session.dispose();
  }
  const text = chunks.join('');
  writeFileSync(path, text);
  return Buffer.byteLength(text, 'utf8');
}

function prepareContext(tenant: TenantIsolate, timeout: number): PreparedContext {
  const context = tenant.isolate.createContextSync({ inspector: tenant.inspector });
  try {
    const functions = tenant.harness.runSync(context, { reference: true, timeout }) as ivm.Reference<unknown[]>;
    try {
      const runFunction = functions.getSync(0, { reference: true });
      const takeLogsFunction = functions.getSync(1, { reference: true });
      return { context, runFunction, takeLogs: takeLogsFunction };
    } finally {
      functions.release();
    }
  } catch (error) {
    if (!tenant.isolate.isDisposed) context.release();
    throw error;
  }
}

function releaseContext(isolate: ivm.Isolate, prepared: PreparedContext): void {
  prepared.runFunction.release();
  prepared.takeLogs.release();
  if (!isolate.isDisposed) prepared.context.release();
}

/** Captured log lines, read as one JSON string; the harness bounds them, the host checks again. */
function takeLogs(prepared: PreparedContext, maxLines: number): string[] {
  try {
    const json: unknown = prepared.takeLogs.applySync(undefined, [], { timeout: 100 });
    const parsed: unknown = typeof json === 'string' ? JSON.parse(json) : [];
    if (!Array.isArray(parsed)) return [];
    return parsed.filter((line): line is string => typeof line === 'string').slice(0, maxLines + 1);
  } catch {
    return [];
  }
}

function remaining(deadline: number): number {
  // isolated-vm treats 0 as "no timeout": never pass less than 1 ms.
  return Math.max(1, Math.ceil(deadline - performance.now()));
}

function measure(started: number, isolate: ivm.Isolate, cpuBefore: bigint, heapBytes: number): ExecutionMetrics {
  return {
    durationMs: performance.now() - started,
    cpuMs: Number(isolate.cpuTime - cpuBefore) / 1e6,
    heapBytes,
  };
}

function cap(text: string): string {
  return text.length > MESSAGE_CAP ? `${text.slice(0, MESSAGE_CAP)}...` : text;
}

/**
 * Errors thrown by isolated-vm calls on the host side. Only the message is read; the error
 * object itself never goes anywhere near the guest or the result.
 */
function classifyHostSideError(error: unknown, isolate: ivm.Isolate | undefined, deadline: number): ExecutionFailure {
  const message = error instanceof Error ? error.message : String(error);
  // Guest code can make isolated-vm throw any text (an unhandled promise rejection is rethrown on
  // the host), so a message alone proves nothing: a memory limit means the isolate really is
  // disposed, a timeout means the deadline really passed.
  if (isolate?.isDisposed === true && message.startsWith(MEMORY_MESSAGE)) {
    return { code: ErrorCodes.MEMORY_LIMIT, message: 'The transformation exceeded the isolate memory limit and was stopped.' };
  }
  if (message === TIMEOUT_MESSAGE && performance.now() >= deadline - DEADLINE_SLACK_MS) {
    return { code: ErrorCodes.TIMEOUT, message: 'The transformation exceeded its time limit and was stopped.' };
  }
  if (isolate?.isDisposed === true) {
    return { code: ErrorCodes.MEMORY_LIMIT, message: 'The sandbox isolate was disposed during the execution.' };
  }
  if (error instanceof SyntaxError || (error instanceof Error && error.name === 'SyntaxError')) {
    return { code: ErrorCodes.RUNTIME_ERROR, message: cap(`SyntaxError: ${message}`) };
  }
  return { code: ErrorCodes.RUNTIME_ERROR, message: cap(message) };
}

/** Guest failures that are really resource exhaustion. */
const MEMORY_RANGE_ERRORS = ['RangeError: Array buffer allocation failed', 'RangeError: Invalid string length'];

function decodeEnvelope(
  envelope: unknown,
  stepNames: readonly string[],
  maxOutputBytes: number,
  metrics: ExecutionMetrics,
): ExecutionOutcome {
  if (typeof envelope !== 'string' || envelope.length === 0) {
    return { ok: false, error: { code: ErrorCodes.INTERNAL, message: 'The sandbox returned no result envelope.' }, metrics };
  }
  const kind = envelope[0];
  const body = envelope.slice(1);
  switch (kind) {
    case ENVELOPE.output: {
      const bytes = Buffer.byteLength(body, 'utf8');
      if (bytes > maxOutputBytes) return outputTooLarge(bytes, maxOutputBytes, metrics);
      return { ok: true, outputJson: body, metrics };
    }
    case ENVELOPE.tooLarge:
      return outputTooLarge(Number(body), maxOutputBytes, metrics);
    case ENVELOPE.error: {
      const { i, m } = parseGuestRecord(body);
      const step = stepNames[i] ?? stepNames[stepNames.length - 1];
      const message = cap(m);
      const code = MEMORY_RANGE_ERRORS.some((prefix) => message.startsWith(prefix)) ? ErrorCodes.MEMORY_LIMIT : ErrorCodes.RUNTIME_ERROR;
      return { ok: false, error: { code, message, ...(step === undefined ? {} : { step }) }, metrics };
    }
    case ENVELOPE.promise: {
      const { i } = parseGuestRecord(body);
      const step = stepNames[i];
      return {
        ok: false,
        error: {
          code: ErrorCodes.RUNTIME_ERROR,
          message: 'The step returned a promise or thenable; steps are synchronous and must return a plain value.',
          ...(step === undefined ? {} : { step }),
        },
        metrics,
      };
    }
    case ENVELOPE.denied: {
      const { i, c } = parseGuestRecord(body);
      const capability = c.slice(0, 40);
      const step = stepNames[i];
      // No profile grants code generation (ADR 0005): say what the step did instead.
      const message =
        capability === ENVELOPE.codeGeneration
          ? 'The step tried to generate code from a string (eval, new Function or another Function constructor); the Beddel sandbox does not allow it.'
          : `The step called the "${capability}" capability, which the tenant's security profile does not grant.`;
      return { ok: false, error: { code: ErrorCodes.CAPABILITY_DENIED, message, ...(step === undefined ? {} : { step }) }, metrics };
    }
    case ENVELOPE.notSerialisable: {
      const { m } = parseGuestRecord(body);
      const step = stepNames[stepNames.length - 1];
      return {
        ok: false,
        error: { code: ErrorCodes.OUTPUT_INVALID, message: cap(`The result is not JSON-serialisable: ${m}`), ...(step === undefined ? {} : { step }) },
        metrics,
      };
    }
    default:
      return { ok: false, error: { code: ErrorCodes.INTERNAL, message: 'The sandbox returned an unknown result envelope.' }, metrics };
  }
}

function outputTooLarge(size: number, maxOutputBytes: number, metrics: ExecutionMetrics): ExecutionOutcome {
  return {
    ok: false,
    error: { code: ErrorCodes.OUTPUT_TOO_LARGE, message: `The output is at least ${size} bytes; the limit is ${maxOutputBytes} bytes.` },
    metrics,
  };
}

/** Parses the small JSON record the harness builds; tolerant of anything odd. */
function parseGuestRecord(body: string): { i: number; m: string; c: string } {
  try {
    const parsed = JSON.parse(body) as { i?: unknown; m?: unknown; c?: unknown };
    return {
      i: typeof parsed.i === 'number' ? parsed.i : -1,
      m: typeof parsed.m === 'string' ? parsed.m : 'unknown error',
      c: typeof parsed.c === 'string' ? parsed.c : 'unknown',
    };
  } catch {
    return { i: -1, m: 'unknown error', c: 'unknown' };
  }
}
