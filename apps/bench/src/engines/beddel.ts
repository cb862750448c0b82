import { availableParallelism } from 'node:os';
import { EXECUTOR } from '@beddel/contracts';
import type { EnginePlugin } from '@beddel/contracts';
import { createEngine } from '@beddel/engine';
import { IsolatedVmExecutor } from '@beddel/executor-isolated-vm';
import type { IsolatedVmExecutorOptions } from '@beddel/executor-isolated-vm';
import type { CompiledTransformation } from '@beddel/transformation';
import { transformationYaml } from '../corpus.js';
import type { BenchTransformation } from '../corpus.js';
import type { BenchEngine, EngineFactory, ExecResult } from './types.js';

/**
 * Beddel through its public API: `engine.tenant(id).run(compiled, input)`, default profile, no
 * audit plugin. The executor is built here (not through `isolatedVmExecutor()`) only to read its
 * worker pids for RSS; it is registered exactly as the plugin registers it.
 */
export async function createBeddelBench(id: string, options: IsolatedVmExecutorOptions): Promise<BeddelBench> {
  const executor = new IsolatedVmExecutor(options);
  const plugin: EnginePlugin = {
    name: 'bench-executor',
    register: (registrar) => registrar.value(EXECUTOR, executor),
    init: () => executor.start(),
    dispose: () => executor.close(),
  };
  const engine = await createEngine({ plugins: [plugin] });
  // Supervised mode may start fewer workers and scale up under load: size the in-flight count by
  // the workers it may use, not by the ones running right now.
  const parallelism = executor.mode === 'supervised' ? Math.max(1, Math.floor(options.workers ?? Math.min(4, availableParallelism()))) : 1;
  return new BeddelBench(id, engine, executor, parallelism);
}

type Engine = Awaited<ReturnType<typeof createEngine>>;

export class BeddelBench implements BenchEngine {
  private readonly compiled = new Map<string, CompiledTransformation>();

  constructor(
    readonly id: string,
    readonly engine: Engine,
    readonly executor: IsolatedVmExecutor,
    /** Executions worth keeping in flight: the worker processes the executor may run. */
    readonly parallelism: number,
  ) {}

  prepare(transformation: BenchTransformation): void {
    if (!this.compiled.has(transformation.id)) this.compiled.set(transformation.id, this.engine.compile(transformationYaml(transformation)));
  }

  async run(transformation: BenchTransformation, input: unknown, tenant: string): Promise<ExecResult> {
    const compiled = this.compiled.get(transformation.id);
    if (compiled === undefined) throw new Error(`${transformation.id} was not prepared`);
    const result = await this.engine.tenant(tenant).run(compiled, input);
    if (!result.ok) return { ok: false, heapBytes: result.metrics.heapBytes, error: `${result.error.code}: ${result.error.message}` };
    return { ok: true, heapBytes: result.metrics.heapBytes, output: result.output };
  }

  workerPids(): readonly number[] {
    return this.executor.workerPids.filter((pid): pid is number => pid !== undefined);
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}

export function beddelEngine(id: string, description: string, options: IsolatedVmExecutorOptions): EngineFactory {
  return { id, description, create: () => createBeddelBench(id, options) };
}
