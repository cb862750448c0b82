import { randomUUID } from 'node:crypto';
import { ADMISSION, AUDIT_LOG, BeddelError, DEFAULT_LIMITS, DEFAULT_SECURITY_PROFILE, ErrorCodes, EXECUTOR, LOGGER, METRICS, MetricNames, noopMetrics, SECRET_SOURCE, SECURITY_PROFILES, silentLogger, TENANT_ID, TENANT_ID_PATTERN } from '@beddel/contracts';
import type {
  AdmissionControl,
  AuditLog,
  CapabilityGrants,
  EnginePlugin,
  ErrorCode,
  ErrorInfo,
  ExecutionLimits,
  Executor,
  GuestCapabilities,
  HeapSnapshotInfo,
  Logger,
  MetricsSink,
  ProblemDetail,
  RunMetrics,
  RunResult,
  SecretSource,
  SecurityProfile,
  SecurityProfileProvider,
  Token,
  TransformationRef,
} from '@beddel/contracts';
import { TransformationCompiler, transformationId } from '@beddel/transformation';
import type { CompiledTransformation, TransformationCompilerOptions } from '@beddel/transformation';
import { tightenLimits } from './limits.js';
import { PluginContainer } from './plugin-container.js';
import { runValueFromJson, runValueText } from './run-values.js';
import type { TenantScope } from './plugin-container.js';

export interface EngineOptions {
  readonly plugins: readonly EnginePlugin[];
  /** Limits of the built-in `default` profile, when no security-profile plugin is registered. */
  readonly limits?: Partial<ExecutionLimits>;
  readonly compiler?: TransformationCompilerOptions;
  /**
   * What a run does when the audit log cannot persist its record. `fail-closed` (default): the
   * run fails with BEDDEL_AUDIT_UNAVAILABLE and no output ("no audit, no execution").
   * `fail-open`: the result is returned with `auditError` set, and the failure is logged.
   */
  readonly auditFailure?: 'fail-closed' | 'fail-open';
}

/** A transformation as `run` accepts it: YAML text, a parsed document, or a compiled one. */
export type TransformationSource = string | object | CompiledTransformation;

export interface Tenant {
  readonly id: string;
  /**
   * Runs a transformation for this tenant. Never rejects for anything the tenant's code or input
   * does: every failure is a result with `ok: false` and a stable `error.code`.
   */
  run(transformation: TransformationSource, input: unknown, options?: RunOptions): Promise<RunResult>;
}

export interface RunOptions {
  /**
   * Debugging: also write a V8 heap snapshot of the execution's isolate to this path (a
   * `.heapsnapshot` file Chrome DevTools opens). Refused with BEDDEL_CAPABILITY_DENIED unless the
   * tenant's profile sets `allowHeapSnapshots`. The run is audited like any other.
   */
  readonly heapSnapshotPath?: string;
}

export interface Engine {
  tenant(id: string): Tenant;
  /** Compiles (and caches) a transformation; throws BEDDEL_INVALID_TRANSFORMATION with every problem. */
  compile(source: string | object): CompiledTransformation;
  /** Drops a tenant's container and sandbox state; the next run starts it afresh. */
  evictTenant(id: string): Promise<void>;
  /** Waits for runs in flight, then disposes tenants and plugins (in reverse order). */
  close(): Promise<void>;
  readonly closed: boolean;
}

/** Builds an engine from plugins: register all, then `init` all, in order. */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const container = new PluginContainer();
  const defaultProfile: SecurityProfile = { ...DEFAULT_SECURITY_PROFILE, limits: { ...DEFAULT_LIMITS, ...options.limits } };
  container.registrar.value<SecurityProfileProvider>(SECURITY_PROFILES, { profileFor: () => defaultProfile });
  container.registrar.value<Logger>(LOGGER, silentLogger);
  container.registrar.value<MetricsSink>(METRICS, noopMetrics);
  for (const plugin of options.plugins) plugin.register(container.registrar);
  const initialised: EnginePlugin[] = [];
  try {
    for (const plugin of options.plugins) {
      await plugin.init?.(container.resolver);
      initialised.push(plugin);
    }
    if (!container.has(EXECUTOR)) {
      throw new BeddelError(ErrorCodes.PLUGIN_MISSING, 'No executor plugin is registered: add isolatedVmExecutor() to createEngine({ plugins }).');
    }
  } catch (error) {
    for (const plugin of initialised.reverse()) await plugin.dispose?.();
    throw error;
  }
  return new BeddelEngine(container, options, initialised);
}

class BeddelEngine implements Engine {
  private readonly tenants = new Map<string, TenantRuntime>();
  private readonly inFlight = new Set<Promise<RunResult>>();
  private readonly compiler: TransformationCompiler;
  private readonly logger: Logger;
  private readonly metrics: MetricsSink;
  private readonly failOpen: boolean;
  private isClosed = false;

  constructor(
    private readonly container: PluginContainer,
    options: EngineOptions,
    private readonly plugins: readonly EnginePlugin[],
  ) {
    this.compiler = new TransformationCompiler(options.compiler);
    this.failOpen = options.auditFailure === 'fail-open';
    this.logger = container.resolver.resolve(LOGGER);
    this.metrics = container.resolver.resolve(METRICS);
    if (!container.has(AUDIT_LOG)) {
      this.logger.warn('no audit log plugin is registered: executions leave no audit record');
    }
  }

  get closed(): boolean {
    return this.isClosed;
  }

  tenant(id: string): Tenant {
    if (typeof id !== 'string' || !TENANT_ID_PATTERN.test(id)) {
      throw new BeddelError(ErrorCodes.INVALID_TENANT, `Invalid tenant id ${JSON.stringify(String(id)).slice(0, 140)}.`);
    }
    let runtime = this.tenants.get(id);
    if (runtime === undefined) {
      const scope = this.container.createTenantScope([[TENANT_ID as Token<unknown>, id]]);
      runtime = new TenantRuntime(id, scope, this.compiler, this.logger.child({ tenant: id }), this.failOpen);
      this.tenants.set(id, runtime);
      this.metrics.set(MetricNames.tenantsActive, this.tenants.size);
    }
    const tenantRuntime = runtime;
    return {
      id,
      run: (transformation, input, options) => this.track(tenantRuntime, transformation, input, options),
    };
  }

  compile(source: string | object): CompiledTransformation {
    return this.compiler.compile(source);
  }

  async evictTenant(id: string): Promise<void> {
    const runtime = this.tenants.get(id);
    this.tenants.delete(id);
    if (runtime !== undefined) {
      this.metrics.increment(MetricNames.tenantEvictions, { reason: 'requested' });
      this.metrics.set(MetricNames.tenantsActive, this.tenants.size);
    }
    await runtime?.scope.dispose();
    await this.container.resolver.resolve(EXECUTOR).evictTenant(id);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await Promise.allSettled([...this.inFlight]);
    for (const runtime of this.tenants.values()) await runtime.scope.dispose();
    this.tenants.clear();
    for (const plugin of [...this.plugins].reverse()) await plugin.dispose?.();
  }

  private track(runtime: TenantRuntime, transformation: TransformationSource, input: unknown, options: RunOptions = {}): Promise<RunResult> {
    if (this.isClosed) {
      return Promise.resolve(runtime.rejected(ErrorCodes.ENGINE_CLOSED, 'The engine is closed.'));
    }
    const run = runtime.run(transformation, input, options);
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
    return run;
  }
}

/** Everything one tenant's runs need, resolved from the tenant's child container. */
class TenantRuntime {
  private readonly executor: Executor;
  private readonly profiles: SecurityProfileProvider;
  private readonly audit: AuditLog | undefined;
  private readonly metrics: MetricsSink;
  private readonly admission: AdmissionControl | undefined;
  private readonly secrets: SecretSource | undefined;

  constructor(
    readonly id: string,
    readonly scope: TenantScope,
    private readonly compiler: TransformationCompiler,
    private readonly logger: Logger,
    private readonly auditFailOpen: boolean,
  ) {
    this.executor = scope.resolver.resolve(EXECUTOR);
    this.profiles = scope.resolver.resolve(SECURITY_PROFILES);
    this.audit = scope.resolver.resolveOptional(AUDIT_LOG);
    this.metrics = scope.resolver.resolve(METRICS);
    this.admission = scope.resolver.resolveOptional(ADMISSION);
    this.secrets = scope.resolver.resolveOptional(SECRET_SOURCE);
  }

  async run(source: TransformationSource, input: unknown, options: RunOptions): Promise<RunResult> {
    const executionId = randomUUID();
    const started = performance.now();
    const timestamp = new Date().toISOString();
    const profile = this.profiles.profileFor(this.id);
    const context: RunContext = { executionId, started, timestamp, profile, input: null, transformation: null };
    try {
      this.normaliseInput(context, input);
      return await this.execute(source, context, options);
    } catch (error) {
      // Executors report guest failures as outcomes; anything thrown here is our own fault.
      this.logger.error('internal error during run', { executionId, error: error instanceof Error ? error.message : String(error) });
      return this.finish(context, failure(ErrorCodes.INTERNAL, 'Internal error during the run.'), zeroMetrics(started));
    }
  }

  /**
   * Normalised once: the guest, the schema and the audit all see this one value (run-values.ts).
   * The size is checked against the profile's cap (transformations only tighten it) before the
   * text is parsed back, so an oversize input costs the host one serialisation and no parse.
   */
  private normaliseInput(context: RunContext, input: unknown): void {
    const text = runValueText(input);
    if (!text.ok) {
      context.inputRefusal = failure(ErrorCodes.INPUT_INVALID, `The input ${text.message}.`, { path: 'input' });
      return;
    }
    context.inputBytes = text.bytes;
    if (text.bytes > context.profile.limits.maxInputBytes) {
      context.inputRefusal = inputTooLarge(text.bytes, context.profile.limits.maxInputBytes);
      return;
    }
    const value = runValueFromJson(text.json);
    if (!value.ok) {
      context.inputRefusal = failure(ErrorCodes.INPUT_INVALID, `The input ${value.message}.`, { path: 'input' });
      return;
    }
    context.input = value.value;
    context.inputJson = value.json;
  }

  rejected(code: ErrorCode, message: string): RunResult {
    return {
      ok: false,
      executionId: randomUUID(),
      tenant: this.id,
      transformation: null,
      error: failure(code, message),
      metrics: { durationMs: 0, cpuMs: 0, heapBytes: 0 },
    };
  }

  private async execute(source: TransformationSource, context: RunContext, options: RunOptions): Promise<RunResult> {
    let compiled: CompiledTransformation;
    try {
      compiled = isCompiled(source) ? source : this.compiler.compile(source);
    } catch (error) {
      context.transformation = { name: '', version: '', sha256: safeTransformationId(source) };
      return this.finish(context, errorInfo(error), zeroMetrics(context.started));
    }
    context.transformation = compiled.ref;
    const limits = tightenLimits(context.profile.limits, compiled.limits);

    if (compiled.plan.steps.length > limits.maxSteps) {
      return this.finish(
        context,
        failure(ErrorCodes.INVALID_TRANSFORMATION, `The transformation has ${compiled.plan.steps.length} steps; the profile allows ${limits.maxSteps}.`, { path: 'spec.steps' }),
        zeroMetrics(context.started),
      );
    }
    const { inputJson, inputBytes } = context;
    if (context.inputRefusal !== undefined || inputJson === undefined || inputBytes === undefined) {
      return this.finish(context, context.inputRefusal ?? failure(ErrorCodes.INPUT_INVALID, 'The input is not JSON.'), zeroMetrics(context.started));
    }
    if (inputBytes > limits.maxInputBytes) {
      return this.finish(context, inputTooLarge(inputBytes, limits.maxInputBytes), zeroMetrics(context.started));
    }
    const inputProblems = compiled.validateInput(context.input);
    if (inputProblems.length > 0) {
      return this.finish(context, problemsFailure(ErrorCodes.INPUT_INVALID, 'The input does not match spec.inputSchema', inputProblems), zeroMetrics(context.started));
    }

    if (options.heapSnapshotPath !== undefined && !context.profile.allowHeapSnapshots) {
      return this.finish(
        context,
        failure(ErrorCodes.CAPABILITY_DENIED, `Heap snapshots are not allowed for tenant ${this.id}: its profile "${context.profile.id}" does not set allowHeapSnapshots.`),
        zeroMetrics(context.started),
      );
    }
    let release: (() => void) | undefined;
    try {
      release = await this.admission?.admit(this.id, context.profile);
    } catch (error) {
      return this.finish(context, errorInfo(error), zeroMetrics(context.started));
    }
    let outcome;
    try {
      outcome = await this.executor.execute({
        executionId: context.executionId,
        tenantId: this.id,
        plan: compiled.plan,
        inputJson,
        limits,
        capabilities: this.capabilitiesFor(context.profile.capabilities),
        dedicatedWorker: context.profile.dedicatedWorker,
        ...(options.heapSnapshotPath === undefined ? {} : { heapSnapshotPath: options.heapSnapshotPath }),
      });
    } finally {
      release?.();
    }
    context.logs = outcome.logs;
    context.heapSnapshot = outcome.heapSnapshot;
    const metrics: RunMetrics = {
      durationMs: performance.now() - context.started,
      cpuMs: outcome.metrics.cpuMs,
      heapBytes: outcome.metrics.heapBytes,
    };
    if (!outcome.ok) {
      const { code, message, step } = outcome.error;
      return this.finish(context, failure(code, message, step === undefined ? {} : { step }), metrics);
    }
    if (outcome.metrics.heapBytes > context.profile.maxExecutionHeapBytes) {
      return this.finish(
        context,
        failure(ErrorCodes.MEMORY_LIMIT, `The execution used ${outcome.metrics.heapBytes} bytes of heap; the profile allows ${context.profile.maxExecutionHeapBytes} per execution.`),
        metrics,
      );
    }
    const outputValue = runValueFromJson(outcome.outputJson);
    if (!outputValue.ok) {
      return this.finish(context, failure(ErrorCodes.OUTPUT_INVALID, `The output ${outputValue.message}.`, { path: 'output' }), metrics);
    }
    const output = outputValue.value;
    const outputProblems = compiled.validateOutput(output);
    if (outputProblems.length > 0) {
      return this.finish(context, problemsFailure(ErrorCodes.OUTPUT_INVALID, 'The output does not match spec.outputSchema', outputProblems), metrics);
    }
    return this.finish(context, { output }, metrics);
  }

  /** Audits the run (fail closed), then shapes the result. */
  private async finish(context: RunContext, outcome: ErrorInfo | { output: unknown }, metrics: RunMetrics): Promise<RunResult> {
    const base = { executionId: context.executionId, tenant: this.id, transformation: context.transformation };
    const isSuccess = 'output' in outcome;
    let receipt;
    let auditError: ErrorInfo | undefined;
    if (this.audit !== undefined) {
      const ref = context.transformation ?? { name: '', version: '', sha256: '' };
      const auditStarted = performance.now();
      try {
        receipt = await this.audit.append({
          tenantId: this.id,
          executionId: context.executionId,
          timestamp: context.timestamp,
          transformation: { name: ref.name, version: ref.version, sourceSha256: ref.sha256 },
          input: context.input,
          output: isSuccess ? outcome.output : null,
          profileId: context.profile.id,
          status: isSuccess ? 'ok' : 'error',
          errorCode: isSuccess ? null : outcome.code,
          metrics,
        });
        this.metrics.observe(MetricNames.auditAppend, (performance.now() - auditStarted) / 1000, { tenant: this.id, status: 'ok' });
      } catch (error) {
        this.metrics.observe(MetricNames.auditAppend, (performance.now() - auditStarted) / 1000, { tenant: this.id, status: 'error' });
        this.logger.error(this.auditFailOpen ? 'audit append failed; returning the result unaudited (fail-open)' : 'audit append failed; failing the run closed', {
          executionId: context.executionId,
          error: error instanceof Error ? error.message : String(error),
        });
        auditError = failure(ErrorCodes.AUDIT_UNAVAILABLE, 'The audit record could not be written; this result is not in the audit log.');
      }
      if (auditError !== undefined && !this.auditFailOpen) {
        const finalMetrics = { ...metrics, durationMs: performance.now() - context.started };
        this.record(finalMetrics, ErrorCodes.AUDIT_UNAVAILABLE);
        return { ...base, ok: false, error: failure(ErrorCodes.AUDIT_UNAVAILABLE, 'The audit record could not be written, so no result is returned.'), metrics: finalMetrics };
      }
    }
    const finalMetrics = { ...metrics, durationMs: performance.now() - context.started };
    this.record(finalMetrics, isSuccess ? null : outcome.code);
    const withReceipt = {
      ...(receipt === undefined ? {} : { receipt }),
      ...(context.logs === undefined ? {} : { logs: context.logs }),
      ...(context.heapSnapshot === undefined ? {} : { heapSnapshot: context.heapSnapshot }),
      ...(auditError === undefined ? {} : { auditError }),
    };
    if (isSuccess) {
      this.logger.debug('run ok', { executionId: context.executionId, durationMs: finalMetrics.durationMs });
      return { ...base, ok: true, output: outcome.output, metrics: finalMetrics, ...withReceipt };
    }
    this.logger.info('run failed', { executionId: context.executionId, code: outcome.code, step: outcome.step });
    return { ...base, ok: false, error: outcome, metrics: finalMetrics, ...withReceipt };
  }

  /** Grants as plain data for the sandbox; secret values only for the allow-listed keys. */
  private capabilitiesFor(grants: CapabilityGrants): GuestCapabilities {
    const secrets: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const key of grants.secrets?.keys ?? []) {
      const value = this.secrets?.read(this.id, key);
      if (value !== undefined) secrets[key] = value;
    }
    return {
      ...(grants.log === undefined ? {} : { log: grants.log }),
      ...(grants.clock === undefined ? {} : { clock: grants.clock }),
      ...(grants.random === undefined ? {} : { random: true }),
      ...(grants.hash === undefined ? {} : { hash: true }),
      ...(grants.secrets === undefined ? {} : { secrets: { ...secrets } }),
    };
  }

  private record(metrics: RunMetrics, code: ErrorCode | null): void {
    const status = code === null ? 'ok' : 'error';
    this.metrics.increment(MetricNames.executions, { tenant: this.id, status, code: code ?? 'none' });
    this.metrics.observe(MetricNames.executionDuration, metrics.durationMs / 1000, { tenant: this.id, status });
    this.metrics.observe(MetricNames.executionCpu, metrics.cpuMs / 1000, { tenant: this.id });
    this.metrics.observe(MetricNames.executionHeap, metrics.heapBytes, { tenant: this.id });
  }
}

interface RunContext {
  readonly executionId: string;
  readonly started: number;
  readonly timestamp: string;
  readonly profile: SecurityProfile;
  /** The normalised input; null when the caller's input was refused (see run-values.ts). */
  input: unknown;
  /** The same input as JSON text, for the sandbox; absent when the input was refused. */
  inputJson?: string;
  /** UTF-8 size of the input's JSON text. */
  inputBytes?: number;
  /** Why the caller's input was refused (not JSON, too deep, over the profile's size cap). */
  inputRefusal?: ErrorInfo;
  transformation: TransformationRef | null;
  logs?: readonly string[] | undefined;
  heapSnapshot?: HeapSnapshotInfo | undefined;
}

function isCompiled(source: TransformationSource): source is CompiledTransformation {
  return typeof source === 'object' && source !== null && 'plan' in source && 'validateInput' in source && typeof source.validateInput === 'function';
}

function safeTransformationId(source: TransformationSource): string {
  try {
    return transformationId(source);
  } catch {
    return '';
  }
}

function zeroMetrics(started: number): RunMetrics {
  return { durationMs: performance.now() - started, cpuMs: 0, heapBytes: 0 };
}

function failure(code: ErrorCode, message: string, extra: { step?: string; path?: string; details?: readonly ProblemDetail[] } = {}): ErrorInfo {
  return new BeddelError(code, message, extra).toInfo();
}

function inputTooLarge(bytes: number, limit: number): ErrorInfo {
  return failure(ErrorCodes.INPUT_TOO_LARGE, `The input is ${bytes} bytes; the limit is ${limit} bytes.`);
}

function problemsFailure(code: ErrorCode, summary: string, problems: readonly ProblemDetail[]): ErrorInfo {
  const first = problems[0];
  const message = first === undefined ? summary : `${summary}: ${first.path} ${first.message}`;
  return failure(code, message, { ...(first === undefined ? {} : { path: first.path }), details: problems });
}

function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof BeddelError) return error.toInfo();
  return failure(ErrorCodes.INTERNAL, error instanceof Error ? error.message : String(error));
}
