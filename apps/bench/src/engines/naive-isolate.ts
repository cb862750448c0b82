import ivm from 'isolated-vm';
import type { BenchTransformation } from '../corpus.js';
import { BENCH_MEMORY_LIMIT_MB, BENCH_TIMEOUT_MS, errorText, guestProgram } from './types.js';
import type { BenchEngine, EngineFactory, ExecResult } from './types.js';

/**
 * What most projects do with isolated-vm: a new Isolate and context per execution, the script
 * compiled in it, run synchronously, the isolate disposed. Same memory limit and timeout as
 * Beddel's default profile; no realm hardening. Heap per execution: the isolate's used heap after
 * the run minus right after the isolate was created (so the context counts, as in Beddel).
 */
class NaiveIsolateBench implements BenchEngine {
  readonly id = 'naive-isolate';
  readonly parallelism = 1;
  private readonly programs = new Map<string, string>();

  prepare(transformation: BenchTransformation): void {
    this.programs.set(transformation.id, guestProgram(transformation));
  }

  run(transformation: BenchTransformation, input: unknown): Promise<ExecResult> {
    const program = this.programs.get(transformation.id);
    if (program === undefined) throw new Error(`${transformation.id} was not prepared`);
    const inputJson = JSON.stringify(input);
    const isolate = new ivm.Isolate({ memoryLimit: BENCH_MEMORY_LIMIT_MB });
    let heapBytes = 0;
    try {
      const heapBefore = isolate.getHeapStatisticsSync().used_heap_size;
      const context = isolate.createContextSync();
      context.global.setSync('__benchInput', inputJson);
      const script = isolate.compileScriptSync(program);
      const outputJson: unknown = script.runSync(context, { timeout: BENCH_TIMEOUT_MS });
      heapBytes = Math.max(0, isolate.getHeapStatisticsSync().used_heap_size - heapBefore);
      if (typeof outputJson !== 'string') return Promise.resolve({ ok: false, heapBytes, error: 'no output string' });
      return Promise.resolve({ ok: true, heapBytes, output: JSON.parse(outputJson) as unknown });
    } catch (error) {
      return Promise.resolve({ ok: false, heapBytes, error: errorText(error) });
    } finally {
      isolate.dispose();
    }
  }

  workerPids(): readonly number[] {
    return [];
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export const naiveIsolateEngine: EngineFactory = {
  id: 'naive-isolate',
  description: 'isolated-vm, new Isolate + context per execution, script compiled each time',
  create: () => Promise.resolve(new NaiveIsolateBench()),
};
