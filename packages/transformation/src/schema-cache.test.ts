import { describe, expect, it, vi } from 'vitest';
import * as jsonSchema from './json-schema.js';
import { TransformationCompiler } from './transformation-compiler.js';

vi.mock('./json-schema.js', async (importOriginal) => {
  const original = await importOriginal<typeof jsonSchema>();
  return { ...original, compileJsonSchema: vi.fn(original.compileJsonSchema) };
});

function source(comment: string, inputSchema: string): string {
  return `# ${comment}
apiVersion: beddel/v1
kind: Transformation
metadata: { name: cached, version: 1.0.0 }
spec:
  inputSchema: ${inputSchema}
  steps:
    - name: only
      run: return input;
`;
}

describe('compiled schema cache', () => {
  it('does not compile a schema again when only the rest of the document changed (a comment defeated the source cache)', () => {
    const compile = vi.mocked(jsonSchema.compileJsonSchema);
    compile.mockClear();
    const compiler = new TransformationCompiler();
    const first = compiler.compile(source('one', '{ type: object, required: [id] }'));
    const second = compiler.compile(source('two', '{ required: [id], type: object }'));
    expect(compile).toHaveBeenCalledTimes(1);
    // Still two transformations: the id is the SHA-256 of each source text.
    expect(second.ref.sha256).not.toBe(first.ref.sha256);
    expect(second.validateInput({})).toEqual([{ path: 'input.id', message: 'is required' }]);
    compiler.compile(source('three', '{ type: object, required: [other] }'));
    expect(compile).toHaveBeenCalledTimes(2);
  });

  it('keeps no compiled schemas with cacheSize 0', () => {
    const compile = vi.mocked(jsonSchema.compileJsonSchema);
    compile.mockClear();
    const compiler = new TransformationCompiler({ cacheSize: 0 });
    compiler.compile(source('one', '{ type: object }'));
    compiler.compile(source('two', '{ type: object }'));
    expect(compile).toHaveBeenCalledTimes(2);
  });
});
