import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';
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
  /**
   * Run in every guest context before the harness: guest code gets no garbage collection on
   * demand (see exposeGarbageCollection). V8 defines `gc` like a global `var` (non-configurable,
   * writable): it cannot be deleted, and isolated-vm's `global.setSync` refuses it, so a script
   * overwrites it.
   */
  readonly hideGarbageCollection: ivm.Script;
  /** plan id -> compiled steps script (+ names); insertion order doubles as LRU order. */
  readonly plans: Map<string, CompiledPlan>;
  /** A context made ready (harness run) while the worker was idle; used by exactly one execution. */
  spare: PreparedContext | undefined;
  /** Frozen-realm mode: plan id -> its locked-down, reused context. */
  readonly frozen: Map<string, FrozenContext>;
  /** The pooled tenant this isolate belongs to; undefined for a throw-away heap-snapshot isolate. */
  readonly tenantId: string | undefined;
  /** No guest code ran in this pooled isolate yet, and its baseline is still to be measured. */
  baselinePending: boolean;
  /** Pooled isolates only: collects the isolate's garbage, to measure what it retains. */
  readonly collector: GarbageCollector | undefined;
  /**
   * Memory in use right after the last execution, while its retained memory is still to be
   * checked (see `passesRetainedCheck`); undefined once checked.
   */
  inUseAfterLastRun: number | undefined;
}

/**
 * A private context of the isolate that no tenant code ever runs in, holding V8's `gc` function:
 * garbage collection on demand, for measuring retained memory (see `collectedMemory`).
 */
interface GarbageCollector {
  readonly context: ivm.Context;
  readonly collect: ivm.Reference<unknown>;
}

export type RealmMode = 'fresh' | 'frozen';

interface FrozenContext extends PreparedContext {
  readonly stepFunctions: ivm.Reference<unknown>;
  /** Retained memory the context added to the isolate's baseline when it was built. */
  readonly retainedBytes: number;
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
  /** Retained memory the compiled script added to the isolate's baseline. */
  readonly retainedBytes: number;
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
    exposeGarbageCollection();
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
      const heapBytes = tenant.isolate.isDisposed ? 0 : memoryInUse(tenant.isolate);
      // What the execution left behind is checked before the tenant's next run: in `prepare`,
      // off the hot path, or else when that run starts. No guest code runs in between, so this
      // reading (taken once the context is released) stays an upper bound of what is retained.
      if (this.pool.recordExecution(request.tenantId, { heapBytes, hitLimit }) === null) tenant.inUseAfterLastRun = heapBytes;
    }
    return outcome;
  }

  /**
   * Debugging: runs the request in a throw-away isolate with the inspector on (never the pooled
   * one, so pooled isolates never carry an inspector), then writes a heap snapshot that Chrome
   * DevTools opens. The snapshot is taken while the execution's context is still alive.
   */
  async runWithHeapSnapshot(request: SandboxRequest, path: string): Promise<ExecutionOutcome> {
    const tenant = newTenantIsolate(request.limits.memoryLimitMb, undefined);
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
      // A fresh realm's context is the execution's own, not part of what the isolate keeps.
      if (this.realm === 'fresh') this.ensureBaseline(tenant);
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
        this.ensureBaseline(tenant);
        prepared = frozen;
        stepFunctions = frozen.stepFunctions;
      } else {
        prepared = tenant.spare ?? prepareContext(tenant, remaining(deadline));
        tenant.spare = undefined;
      }
      // Measured once the context is ready, so heapBytes is what the execution itself allocated,
      // whether its context was pre-warmed, reused or made just now.
      const memoryBefore = isolate.getHeapStatisticsSync();
      const { runFunction } = prepared;
      stepFunctions ??= plan.script.runSync(prepared.context, { reference: true, timeout: remaining(deadline) });
      const capabilities = request.capabilities ?? {};
      const envelope: unknown = runFunction.applySync(
        undefined,
        [stepFunctions.derefInto(), plan.stepNamesJson, request.inputJson, request.limits.maxOutputBytes, JSON.stringify(capabilities)],
        { timeout: remaining(deadline) },
      );
      heapBytes = memoryGrowth(memoryBefore, isolate.getHeapStatisticsSync());
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
        this.dropFromBaseline(tenant, evicted.retainedBytes);
      }
    }
    // The context stays for later executions: its memory belongs to the baseline.
    const { value, retainedBytes } = this.keptInBaseline(tenant, () => this.buildFrozenContext(tenant, plan, timeout));
    const frozen: FrozenContext = { ...value, retainedBytes };
    tenant.frozen.set(planId, frozen);
    return frozen;
  }

  private buildFrozenContext(tenant: TenantIsolate, plan: CompiledPlan, timeout: number): Omit<FrozenContext, 'retainedBytes'> {
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
      return { ...prepared, stepFunctions };
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
    if (tenant === undefined || tenant.isolate.isDisposed || !this.passesRetainedCheck(tenant)) return;
    if (this.realm === 'frozen' || tenant.spare !== undefined) return;
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
    if (existing !== undefined && !existing.isolate.isDisposed && existing.memoryLimitMb === memoryLimitMb && this.passesRetainedCheck(existing)) return existing;
    const tenant = newTenantIsolate(memoryLimitMb, tenantId);
    this.pool.add(tenantId, tenant, memoryLimitMb * 1024 * 1024, memoryInUse(tenant.isolate));
    return tenant;
  }

  /**
   * Measures a new isolate's baseline once, right before guest code first runs in it: after its
   * first plan is compiled (and, frozen realm, its context built), with one garbage collection,
   * so a cold start pays for one collection (~0.5 ms) and not one per thing it builds.
   */
  private ensureBaseline(tenant: TenantIsolate): void {
    if (!tenant.baselinePending || tenant.tenantId === undefined) return;
    const baseline = collectedMemory(tenant);
    if (!Number.isFinite(baseline)) throw new Error('The sandbox could not measure the memory of a new isolate.');
    this.pool.setBaseline(tenant.tenantId, baseline);
    tenant.baselinePending = false;
  }

  /**
   * Whether the isolate may serve the tenant's next run: false when it retained more memory than
   * the pool allows since the last execution, in which case the pool has recycled it. Memory left
   * behind (say, a string held by the isolate-wide `Symbol.for` registry, or a private field
   * stamped on a frozen object) would let the next execution read it back by how large an
   * allocation still succeeds.
   */
  private passesRetainedCheck(tenant: TenantIsolate): boolean {
    const inUse = tenant.inUseAfterLastRun;
    if (inUse === undefined || tenant.tenantId === undefined) return true;
    tenant.inUseAfterLastRun = undefined;
    const reason = this.pool.checkRetained(tenant.tenantId, { inUse: () => inUse, afterCollection: () => collectedMemory(tenant) });
    return reason === null;
  }

  /**
   * Runs `build`, which adds something the isolate keeps between executions (a compiled plan, a
   * frozen context), and adds what it retains to the isolate's baseline, measured after garbage
   * collections on both sides, so whatever an earlier execution left behind is not absorbed.
   */
  private keptInBaseline<T>(tenant: TenantIsolate, build: () => T): { value: T; retainedBytes: number } {
    if (tenant.tenantId === undefined) return { value: build(), retainedBytes: 0 };
    if (tenant.baselinePending) {
      // No guest code ran yet: the pending baseline will include it. Its size is only needed to
      // leave the baseline when it is evicted; garbage makes this estimate high, which errs on
      // the side of recycling.
      const inUseBefore = memoryInUse(tenant.isolate);
      const value = build();
      return { value, retainedBytes: Math.max(0, memoryInUse(tenant.isolate) - inUseBefore) };
    }
    const before = collectedMemory(tenant);
    const value = build();
    // A failed measurement adds nothing: the next check then measures it as unbounded and recycles.
    const retainedBytes = Math.max(0, collectedMemory(tenant) - before) || 0;
    this.pool.adjustBaseline(tenant.tenantId, retainedBytes);
    return { value, retainedBytes };
  }

  private dropFromBaseline(tenant: TenantIsolate, retainedBytes: number): void {
    if (tenant.tenantId !== undefined) this.pool.adjustBaseline(tenant.tenantId, -retainedBytes);
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
      const evicted = oldest === undefined ? undefined : tenant.plans.get(oldest);
      if (oldest !== undefined && evicted !== undefined) {
        evicted.script.release();
        tenant.plans.delete(oldest);
        this.dropFromBaseline(tenant, evicted.retainedBytes);
      }
    }
    const stepNames = plan.steps.map((step) => step.name);
    const { value: script, retainedBytes } = this.keptInBaseline(tenant, () =>
      tenant.isolate.compileScriptSync(stepsScriptSource(plan.steps.map((step) => step.run)), { filename: `beddel:${plan.name}@${plan.version}` }),
    );
    const compiled: CompiledPlan = { script, stepNamesJson: JSON.stringify(stepNames), stepNames, retainedBytes };
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

/**
 * A pooled isolate of `tenantId`, or (`undefined`) a throw-away one with the inspector on for a
 * heap snapshot, which is never pooled and needs no garbage collector.
 */
function newTenantIsolate(memoryLimitMb: number, tenantId: string | undefined): TenantIsolate {
  const inspector = tenantId === undefined;
  const isolate = new ivm.Isolate({ memoryLimit: Math.max(8, memoryLimitMb), inspector });
  return {
    isolate,
    inspector,
    memoryLimitMb,
    harness: isolate.compileScriptSync(GUEST_HARNESS_SOURCE, { filename: 'beddel:harness' }),
    hideGarbageCollection: isolate.compileScriptSync('globalThis.gc = undefined;', { filename: 'beddel:no-gc' }),
    plans: new Map(),
    spare: undefined,
    frozen: new Map(),
    tenantId,
    baselinePending: tenantId !== undefined,
    collector: inspector ? undefined : newGarbageCollector(isolate, memoryLimitMb),
    inUseAfterLastRun: undefined,
  };
}

/**
 * V8 gives a garbage collection on demand only through `--expose-gc`, which must be set before
 * the contexts that get `gc` are created; `v8.setFlagsFromString` works at run time for contexts
 * made afterwards (measured on Node 20 / isolated-vm 5.0.4; `--expose-gc` in a process's execArgv
 * does the same). It adds a `gc` global to every new context, so `prepareContext` overwrites it in
 * guest contexts before the harness runs (`hideGarbageCollection`).
 */
let garbageCollectionExposed = false;
function exposeGarbageCollection(): void {
  if (garbageCollectionExposed) return;
  v8.setFlagsFromString('--expose-gc');
  garbageCollectionExposed = true;
}

/**
 * Without `gc` (the flag refused), an ArrayBuffer over the memory limit does the same more
 * slowly: isolated-vm's allocator runs a full collection (`LowMemoryNotification`, ~6-9 ms here
 * against ~0.5 ms) before it refuses the allocation.
 */
function newGarbageCollector(isolate: ivm.Isolate, memoryLimitMb: number): GarbageCollector {
  const context = isolate.createContextSync();
  const overLimit = (Math.max(8, memoryLimitMb) * 2 + 16) * 1024 * 1024;
  const script = isolate.compileScriptSync(`typeof gc === 'function' ? gc : () => { try { new ArrayBuffer(${overLimit}); } catch {} }`, { filename: 'beddel:gc' });
  try {
    const collect = script.runSync(context, { reference: true }) as ivm.Reference<unknown>;
    return { context, collect };
  } finally {
    script.release();
  }
}

/**
 * Retained memory: heap plus external memory after a full garbage collection (~0.5 ms for a
 * small isolate). A failure counts as unbounded, so a broken measurement recycles the isolate.
 */
function collectedMemory(tenant: TenantIsolate): number {
  if (tenant.collector === undefined || tenant.isolate.isDisposed) return Number.POSITIVE_INFINITY;
  try {
    tenant.collector.collect.applySync(undefined, [], { timeout: COLLECT_TIMEOUT_MS });
    return memoryInUse(tenant.isolate);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

const COLLECT_TIMEOUT_MS = 1000;

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
    tenant.hideGarbageCollection.runSync(context, { timeout });
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

/**
 * Memory the isolate holds against its `memoryLimit`: the used V8 heap plus external memory
 * (ArrayBuffer backing stores live outside the heap, and `used_heap_size` leaves them out).
 * Garbage not yet collected is included.
 */
function memoryInUse(isolate: ivm.Isolate): number {
  const statistics = isolate.getHeapStatisticsSync();
  return statistics.used_heap_size + statistics.externally_allocated_size;
}

/**
 * What an execution allocated: heap growth plus external growth, each on its own, so a garbage
 * collection during the run that frees older heap garbage does not cancel out the ArrayBuffers
 * the run allocated. Still an under-estimate when a collection frees garbage of the same kind.
 */
function memoryGrowth(before: ivm.HeapStatistics, after: ivm.HeapStatistics): number {
  return Math.max(0, after.used_heap_size - before.used_heap_size) + Math.max(0, after.externally_allocated_size - before.externally_allocated_size);
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
