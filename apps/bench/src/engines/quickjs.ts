import { getQuickJS, shouldInterruptAfterDeadline } from 'quickjs-emscripten';
import type { QuickJSWASMModule } from 'quickjs-emscripten';
import type { BenchTransformation } from '../corpus.js';
import { BENCH_MEMORY_LIMIT_MB, BENCH_TIMEOUT_MS, errorText, guestProgram } from './types.js';
import type { BenchEngine, EngineFactory, ExecResult } from './types.js';

interface MemoryUsage {
  readonly memory_used_size: number;
}

/**
 * quickjs-emscripten (release-sync WASM build), a new runtime + context per execution with the
 * same memory limit and a deadline interrupt. QuickJS has no compile cache across contexts here,
 * so the program is parsed every time. Heap per execution: the runtime's `memory_used_size` after
 * the run (the runtime is fresh, so it is the context plus what the run still holds; QuickJS frees
 * garbage by reference counting, so this is closer to live memory than V8's used heap).
 */
class QuickJsBench implements BenchEngine {
  readonly id = 'quickjs';
  readonly parallelism = 1;
  private readonly programs = new Map<string, string>();

  constructor(private readonly quickjs: QuickJSWASMModule) {}

  prepare(transformation: BenchTransformation): void {
    this.programs.set(transformation.id, guestProgram(transformation));
  }

  run(transformation: BenchTransformation, input: unknown): Promise<ExecResult> {
    const program = this.programs.get(transformation.id);
    if (program === undefined) throw new Error(`${transformation.id} was not prepared`);
    const inputJson = JSON.stringify(input);
    const runtime = this.quickjs.newRuntime();
    let heapBytes = 0;
    try {
      runtime.setMemoryLimit(BENCH_MEMORY_LIMIT_MB * 1024 * 1024);
      runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + BENCH_TIMEOUT_MS));
      const context = runtime.newContext();
      try {
        const inputHandle = context.newString(inputJson);
        context.setProp(context.global, '__benchInput', inputHandle);
        inputHandle.dispose();
        const result = context.evalCode(program, `bench:${transformation.id}`);
        const usage = runtime.computeMemoryUsage();
        heapBytes = (context.dump(usage) as MemoryUsage).memory_used_size;
        usage.dispose();
        if (result.error !== undefined) {
          const error: unknown = context.dump(result.error);
          result.error.dispose();
          return Promise.resolve({ ok: false, heapBytes, error: JSON.stringify(error) });
        }
        const outputJson = context.getString(result.value);
        result.value.dispose();
        return Promise.resolve({ ok: true, heapBytes, output: JSON.parse(outputJson) as unknown });
      } finally {
        context.dispose();
      }
    } catch (error) {
      return Promise.resolve({ ok: false, heapBytes, error: errorText(error) });
    } finally {
      runtime.dispose();
    }
  }

  workerPids(): readonly number[] {
    return [];
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export const quickJsEngine: EngineFactory = {
  id: 'quickjs',
  description: 'quickjs-emscripten (WASM), new runtime + context per execution, program parsed each time',
  create: async () => new QuickJsBench(await getQuickJS()),
};
