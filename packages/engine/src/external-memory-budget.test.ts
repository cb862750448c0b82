/** The per-execution heap budget (`maxExecutionHeapBytes`) counts ArrayBuffer memory, end to end. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SECURITY_PROFILE } from '@beddel/contracts';
import { isolatedVmExecutor } from '@beddel/executor-isolated-vm';
import { createEngine } from './engine.js';
import type { Engine } from './engine.js';

function transformation(name: string, body: string): string {
  return `apiVersion: beddel/v1
kind: Transformation
metadata: { name: ${name}, version: 1.0.0 }
spec:
  steps:
    - name: only
      run: |
        ${body}
`;
}

let engine: Engine;
beforeAll(async () => {
  engine = await createEngine({ plugins: [isolatedVmExecutor({ workers: 1 })] });
});
afterAll(() => engine.close());

describe('maxExecutionHeapBytes and external memory', () => {
  it('a step that keeps 24 MiB of typed arrays is over the default 16 MiB budget: BEDDEL_MEMORY_LIMIT', async () => {
    const result = await engine.tenant('buffers').run(transformation('buffers', 'const keep = []; for (let i = 0; i < 24; i++) keep.push(new Uint8Array(1024 * 1024)); return keep.length;'), {});
    expect(result).toMatchObject({ ok: false, error: { code: 'BEDDEL_MEMORY_LIMIT' } });
    expect(result.metrics.heapBytes).toBeGreaterThan(DEFAULT_SECURITY_PROFILE.maxExecutionHeapBytes);
    expect(result.metrics.heapBytes).toBeGreaterThanOrEqual(24 * 1024 * 1024);
  });

  it('under the budget the same kind of step succeeds', async () => {
    const result = await engine.tenant('buffers').run(transformation('small-buffers', 'const keep = []; for (let i = 0; i < 4; i++) keep.push(new Uint8Array(1024 * 1024)); return keep.length;'), {});
    expect(result).toMatchObject({ ok: true, output: 4 });
    expect(result.metrics.heapBytes).toBeGreaterThanOrEqual(4 * 1024 * 1024);
  });
});
