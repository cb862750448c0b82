import { getHeapStatistics } from 'node:v8';
import vm from 'node:vm';
import type { BenchTransformation } from '../corpus.js';
import { BENCH_TIMEOUT_MS, errorText, guestProgram } from './types.js';
import type { BenchEngine, EngineFactory, ExecResult } from './types.js';

/**
 * `node:vm`, a new context per execution, the script compiled once and run in each context.
 * NOT a security boundary (code can reach the host through well-known escapes); it is the speed
 * reference. The input JSON is handed over by reference, not copied. Heap per execution: the
 * host's used heap after minus before (it shares the host heap, so it also counts host-side
 * allocations, and drops to 0 when a GC runs in between).
 */
class NodeVmBench implements BenchEngine {
  readonly id = 'node-vm';
  readonly parallelism = 1;
  private readonly scripts = new Map<string, vm.Script>();

  prepare(transformation: BenchTransformation): void {
    this.scripts.set(transformation.id, new vm.Script(guestProgram(transformation), { filename: `bench:${transformation.id}` }));
  }

  run(transformation: BenchTransformation, input: unknown): Promise<ExecResult> {
    const script = this.scripts.get(transformation.id);
    if (script === undefined) throw new Error(`${transformation.id} was not prepared`);
    const heapBefore = getHeapStatistics().used_heap_size;
    let heapBytes = 0;
    try {
      const inputJson = JSON.stringify(input);
      const context = vm.createContext({ __benchInput: inputJson });
      const outputJson: unknown = script.runInContext(context, { timeout: BENCH_TIMEOUT_MS });
      heapBytes = Math.max(0, getHeapStatistics().used_heap_size - heapBefore);
      if (typeof outputJson !== 'string') return Promise.resolve({ ok: false, heapBytes, error: 'no output string' });
      return Promise.resolve({ ok: true, heapBytes, output: JSON.parse(outputJson) as unknown });
    } catch (error) {
      return Promise.resolve({ ok: false, heapBytes, error: errorText(error) });
    }
  }

  workerPids(): readonly number[] {
    return [];
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export const nodeVmEngine: EngineFactory = {
  id: 'node-vm',
  description: 'node:vm, new context per execution (NOT a security boundary: the speed reference)',
  create: () => Promise.resolve(new NodeVmBench()),
};
