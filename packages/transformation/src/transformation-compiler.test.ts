import { readFileSync, readdirSync } from 'node:fs';
import { BeddelError, canonicalJson, sha256Hex } from '@beddel/contracts';
import type { ProblemDetail } from '@beddel/contracts';
import { Ajv } from 'ajv';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Composer } from 'yaml';
import { DEFAULT_TRANSFORMATION_COMPILER_OPTIONS, TransformationCompiler, transformationId } from './transformation-compiler.js';
import type { TransformationCompilerOptions } from './transformation-compiler.js';

const ORDER_TOTAL = `apiVersion: beddel/v1
kind: Transformation
metadata: { name: order-total, version: 1.0.0, description: Adds up an order }
spec:
  inputSchema:
    type: object
    required: [id, items]
    properties:
      id: { type: string }
      items:
        type: array
        items:
          type: object
          required: [qty, price]
          properties: { qty: { type: integer, minimum: 1 }, price: { type: number } }
  outputSchema:
    type: object
    required: [id, total]
    properties: { total: { type: number } }
  limits: { timeoutMs: 1000, memoryLimitMb: 16 }
  steps:
    - name: total
      run: |
        return input.items.reduce((s, i) => s + i.qty * i.price, 0);
    - name: result
      run: |
        return { id: input.id, total: steps.total };
`;

// Tests reshape documents freely, including into wrong shapes: that is what they check.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LooseDocument = Record<string, any>;

/** A valid document as data; tests change one part of it at a time. */
function documentWith(change: (doc: LooseDocument) => void = () => undefined): Record<string, unknown> {
  const doc: LooseDocument = {
    apiVersion: 'beddel/v1',
    kind: 'Transformation',
    metadata: { name: 'doubler', version: '1.0.0' },
    spec: { steps: [{ name: 'double', run: 'return input * 2;' }] },
  };
  change(doc);
  return doc;
}

function problemsOf(source: string | object, options?: TransformationCompilerOptions): readonly ProblemDetail[] {
  const result = new TransformationCompiler(options).validate(source);
  return result.problems;
}

function compileError(source: string | object, options?: TransformationCompilerOptions): BeddelError {
  try {
    new TransformationCompiler(options).compile(source);
  } catch (error) {
    if (error instanceof BeddelError) return error;
    throw error;
  }
  throw new Error('expected compile to throw');
}

describe('TransformationCompiler.compile', () => {
  it('compiles the order-total example into a plan, a ref and limits', () => {
    const compiled = new TransformationCompiler().compile(ORDER_TOTAL);
    const id = sha256Hex(ORDER_TOTAL);
    expect(compiled.plan).toEqual({
      id,
      name: 'order-total',
      version: '1.0.0',
      steps: [
        { name: 'total', run: 'return input.items.reduce((s, i) => s + i.qty * i.price, 0);\n' },
        { name: 'result', run: 'return { id: input.id, total: steps.total };\n' },
      ],
    });
    expect(compiled.ref).toEqual({ name: 'order-total', version: '1.0.0', sha256: id });
    expect(compiled.limits).toEqual({ timeoutMs: 1000, memoryLimitMb: 16 });
  });

  it('returns deep-frozen plain data that survives a JSON round trip', () => {
    const compiled = new TransformationCompiler().compile(ORDER_TOTAL);
    for (const value of [compiled, compiled.plan, compiled.plan.steps, compiled.plan.steps[0], compiled.ref, compiled.limits]) {
      expect(Object.isFrozen(value)).toBe(true);
    }
    expect(JSON.parse(JSON.stringify(compiled.plan))).toEqual(compiled.plan);
    expect(Object.getPrototypeOf(compiled.plan)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(compiled.plan.steps[0])).toBe(Object.prototype);
    expect(Object.keys(compiled.plan)).toEqual(['id', 'name', 'version', 'steps']);
  });

  it('leaves limits empty when the document sets none', () => {
    expect(new TransformationCompiler().compile(documentWith()).limits).toEqual({});
  });

  it('throws BEDDEL_INVALID_TRANSFORMATION listing every problem, the message naming the first', () => {
    const error = compileError(
      documentWith((doc) => {
        doc.kind = 'Pipeline';
        doc.metadata.version = 2;
        doc.spec.steps[0].run = 'return (;';
      }),
    );
    expect(error.code).toBe('BEDDEL_INVALID_TRANSFORMATION');
    expect(error.path).toBe('kind');
    expect(error.message).toBe('Invalid transformation: kind: must be "Transformation" (and 2 more problems)');
    expect(error.details.map((d) => d.path)).toEqual(['kind', 'metadata.version', 'spec.steps[0].run']);
    expect(error.hint).toMatch(/beddel validate/);
  });
});

describe('TransformationCompiler.validate', () => {
  it('returns the transformation and no problems for a valid document', () => {
    const compiler = new TransformationCompiler();
    const result = compiler.validate(ORDER_TOTAL);
    expect(result.ok).toBe(true);
    expect(result.problems).toEqual([]);
    if (result.ok) expect(result.transformation).toBe(compiler.compile(ORDER_TOTAL));
  });

  it('returns problems instead of throwing, with line and column for YAML sources', () => {
    const result = new TransformationCompiler().validate(ORDER_TOTAL.replace('kind: Transformation', 'kind: Pipeline'));
    expect(result).toEqual({ ok: false, problems: [{ path: 'kind', message: 'must be "Transformation" (line 2, column 7)' }] });
  });

  it('returns frozen problem lists', () => {
    const problems = problemsOf(documentWith((doc) => delete doc.kind));
    expect(Object.isFrozen(problems)).toBe(true);
    expect(Object.isFrozen(problems[0])).toBe(true);
  });

  it('reports a source that is neither text nor an object', () => {
    expect(problemsOf(42 as unknown as string)).toEqual([{ path: '', message: 'the source must be YAML text (a string) or a plain object, not number' }]);
    expect(problemsOf(null as unknown as object)).toEqual([{ path: '', message: 'the source must be YAML text (a string) or a plain object, not null' }]);
  });
});

describe('document structure', () => {
  it('requires a mapping at the root', () => {
    expect(problemsOf('- a\n- b\n')).toEqual([{ path: '', message: 'the document must be a mapping (object) with apiVersion, kind, metadata and spec, not a sequence (array) (line 1, column 1)' }]);
    expect(problemsOf('just text\n')[0]?.message).toMatch(/^the document must be a mapping .* not a string/);
  });

  it('requires every top-level key and checks apiVersion and kind', () => {
    expect(problemsOf({})).toEqual([
      { path: 'apiVersion', message: 'is required' },
      { path: 'kind', message: 'is required' },
      { path: 'metadata', message: 'is required' },
      { path: 'spec', message: 'is required' },
    ]);
    expect(problemsOf(documentWith((doc) => (doc.apiVersion = 'beddel/v2')))).toEqual([{ path: 'apiVersion', message: 'must be "beddel/v1"' }]);
  });

  it('rejects unknown keys at every level, suggesting the right spelling', () => {
    const problems = problemsOf(
      documentWith((doc) => {
        doc.extra = 1;
        doc.metadata.labels = {};
        doc.spec.inputschema = {};
        doc.spec.limits = { timeoutMS: 5 };
        doc.spec.steps[0].when = 'always';
      }),
    );
    expect(problems).toEqual([
      { path: 'extra', message: 'is not a known key; expected apiVersion, kind, metadata, spec' },
      { path: 'metadata.labels', message: 'is not a known key; expected name, version, description' },
      { path: 'spec.inputschema', message: 'is not a known key (did you mean "inputSchema"?); expected inputSchema, outputSchema, limits, steps' },
      { path: 'spec.limits.timeoutMS', message: 'is not a known key (did you mean "timeoutMs"?); expected timeoutMs, memoryLimitMb, maxInputBytes, maxOutputBytes' },
      { path: 'spec.steps[0].when', message: 'is not a known key; expected name, run' },
    ]);
  });

  it('requires metadata and spec to be mappings', () => {
    expect(problemsOf(documentWith((doc) => (doc.metadata = 'x')))).toEqual([{ path: 'metadata', message: 'must be a mapping (object) with name and version, not a string' }]);
    expect(problemsOf(documentWith((doc) => (doc.spec = [])))).toEqual([{ path: 'spec', message: 'must be a mapping (object) with steps, not a sequence (array)' }]);
  });

  it('checks metadata.name', () => {
    const nameProblem = (name: unknown): readonly ProblemDetail[] => problemsOf(documentWith((doc) => (doc.metadata.name = name)));
    expect(nameProblem('Order.Total_2-b')).toEqual([]);
    expect(nameProblem('a'.repeat(100))).toEqual([]);
    for (const bad of ['', '-order', 'order total', 'a'.repeat(101), 'ordér']) {
      expect(nameProblem(bad)).toEqual([{ path: 'metadata.name', message: 'must be 1-100 characters of [A-Za-z0-9._-] starting with a letter or digit' }]);
    }
    expect(nameProblem(7)).toEqual([{ path: 'metadata.name', message: 'must be a string, not the number 7' }]);
  });

  it('checks metadata.version and rejects numbers rather than guessing their text', () => {
    const versionProblem = (version: unknown): readonly ProblemDetail[] => problemsOf(documentWith((doc) => (doc.metadata.version = version)));
    expect(versionProblem('2.0.0-rc.1+build.5')).toEqual([]);
    expect(versionProblem('1')).toEqual([]);
    expect(versionProblem('')).toEqual([{ path: 'metadata.version', message: 'must be 1-64 characters of [0-9A-Za-z.+_-] starting with a letter or digit, e.g. "1.0.0"' }]);
    expect(versionProblem('1 0')[0]?.path).toBe('metadata.version');
    // YAML reads `version: 1.10` as the number 1.1.
    expect(problemsOf(ORDER_TOTAL.replace('version: 1.0.0', 'version: 1.10'))).toEqual([
      { path: 'metadata.version', message: 'must be a string, not the number 1.1; quote it in YAML, e.g. version: "1.0" (line 3, column 41)' },
    ]);
  });

  it('checks metadata.description', () => {
    expect(problemsOf(documentWith((doc) => (doc.metadata.description = 5)))).toEqual([{ path: 'metadata.description', message: 'must be a string, not the number 5' }]);
    expect(problemsOf(documentWith((doc) => (doc.metadata.description = 'x'.repeat(2001))))).toEqual([{ path: 'metadata.description', message: 'must be at most 2000 characters' }]);
  });

  it('checks limits: positive integers, only the four known keys, memory at least 8 MB', () => {
    expect(problemsOf(documentWith((doc) => (doc.spec.limits = { timeoutMs: 1, memoryLimitMb: 8, maxInputBytes: 1024, maxOutputBytes: 1024 })))).toEqual([]);
    expect(
      problemsOf(
        documentWith((doc) => (doc.spec.limits = { timeoutMs: 0, memoryLimitMb: 4, maxInputBytes: 1.5, maxOutputBytes: '1024', maxSteps: 3 })),
      ),
    ).toEqual([
      { path: 'spec.limits.maxSteps', message: 'is not a known key; expected timeoutMs, memoryLimitMb, maxInputBytes, maxOutputBytes' },
      { path: 'spec.limits.timeoutMs', message: 'must be a positive integer, not the number 0' },
      { path: 'spec.limits.memoryLimitMb', message: 'must be at least 8 (the smallest heap isolated-vm can run)' },
      { path: 'spec.limits.maxInputBytes', message: 'must be a positive integer, not the number 1.5' },
      { path: 'spec.limits.maxOutputBytes', message: 'must be a positive integer, not a string' },
    ]);
    expect(problemsOf(documentWith((doc) => (doc.spec.limits = [1])))).toEqual([
      { path: 'spec.limits', message: 'must be a mapping (object) of timeoutMs, memoryLimitMb, maxInputBytes, maxOutputBytes, not a sequence (array)' },
    ]);
  });

  it('checks that schemas are mappings or booleans', () => {
    expect(problemsOf(documentWith((doc) => (doc.spec.outputSchema = 'object')))).toEqual([
      { path: 'spec.outputSchema', message: 'must be a JSON Schema: a mapping (object) or a boolean, not a string' },
    ]);
    expect(problemsOf(documentWith((doc) => (doc.spec.inputSchema = true)))).toEqual([]);
  });

  it('compiles schemas and reports invalid ones at spec.inputSchema / spec.outputSchema', () => {
    expect(problemsOf(documentWith((doc) => (doc.spec.inputSchema = { type: 'object', properties: { a: { minimum: 'x' } } })))).toEqual([
      { path: 'spec.inputSchema', message: 'is not a valid JSON Schema: /properties/a/minimum must be number' },
    ]);
    expect(problemsOf(documentWith((doc) => (doc.spec.outputSchema = { $ref: 'http://evil.example/schema.json' })))).toEqual([
      { path: 'spec.outputSchema', message: '$ref "http://evil.example/schema.json" cannot be resolved: only references inside the schema work, nothing is loaded from elsewhere' },
    ]);
  });
});

describe('steps', () => {
  const stepsProblems = (steps: unknown, options?: TransformationCompilerOptions): readonly ProblemDetail[] =>
    problemsOf(documentWith((doc) => (doc.spec.steps = steps)), options);

  it('requires a non-empty sequence', () => {
    expect(problemsOf(documentWith((doc) => delete doc.spec.steps))).toEqual([{ path: 'spec.steps', message: 'is required' }]);
    expect(stepsProblems([])).toEqual([{ path: 'spec.steps', message: 'must have at least one step' }]);
    expect(stepsProblems({ a: 1 })).toEqual([{ path: 'spec.steps', message: 'must be a sequence (array) of steps, not a mapping (object)' }]);
  });

  it('allows at most maxSteps steps (32 by default)', () => {
    const many = (n: number): unknown[] => Array.from({ length: n }, (_, i) => ({ name: `s${i}`, run: 'return 1;' }));
    expect(stepsProblems(many(32))).toEqual([]);
    expect(stepsProblems(many(33))).toEqual([{ path: 'spec.steps', message: 'has 33 steps; at most 32 are allowed' }]);
    expect(stepsProblems(many(3), { maxSteps: 2 })).toEqual([{ path: 'spec.steps', message: 'has 3 steps; at most 2 are allowed' }]);
  });

  it('requires each step to be a mapping with a name and a run', () => {
    expect(stepsProblems(['return 1;', { name: 'a' }, { run: 'return 1;' }])).toEqual([
      { path: 'spec.steps[0]', message: 'must be a mapping (object) with name and run, not a string' },
      { path: 'spec.steps[1].run', message: 'is required' },
      { path: 'spec.steps[2].name', message: 'is required' },
    ]);
  });

  it('requires identifier-like, unique, non-reserved step names', () => {
    expect(
      stepsProblems([
        { name: '_ok$1', run: 'return 1;' },
        { name: '1st', run: 'return 1;' },
        { name: 'order-total', run: 'return 1;' },
        { name: '__proto__', run: 'return 1;' },
        { name: 'constructor', run: 'return 1;' },
        { name: 'prototype', run: 'return 1;' },
        { name: '_ok$1', run: 'return 1;' },
        { name: 3, run: 'return 1;' },
      ]),
    ).toEqual([
      { path: 'spec.steps[1].name', message: 'must be an identifier: [A-Za-z_$] followed by [A-Za-z0-9_$]' },
      { path: 'spec.steps[2].name', message: 'must be an identifier: [A-Za-z_$] followed by [A-Za-z0-9_$]' },
      { path: 'spec.steps[3].name', message: '"__proto__" is reserved; choose another step name' },
      { path: 'spec.steps[4].name', message: '"constructor" is reserved; choose another step name' },
      { path: 'spec.steps[5].name', message: '"prototype" is reserved; choose another step name' },
      { path: 'spec.steps[6].name', message: 'duplicate step name "_ok$1" (also used by spec.steps[0])' },
      { path: 'spec.steps[7].name', message: 'must be a string, not the number 3' },
    ]);
  });

  it('requires run to be a non-empty string within maxStepSourceBytes', () => {
    expect(stepsProblems([{ name: 'a', run: 5 }])).toEqual([{ path: 'spec.steps[0].run', message: 'must be a string holding a JavaScript function body, not the number 5' }]);
    expect(stepsProblems([{ name: 'a', run: '  \n ' }])).toEqual([{ path: 'spec.steps[0].run', message: 'must not be empty: write a function body that returns the step result' }]);
    const body = `return ${JSON.stringify('é'.repeat(50))};`; // 100 bytes of UTF-8 in the string
    expect(stepsProblems([{ name: 'a', run: body }], { maxStepSourceBytes: Buffer.byteLength(body) })).toEqual([]);
    expect(stepsProblems([{ name: 'a', run: body }], { maxStepSourceBytes: Buffer.byteLength(body) - 1 })).toEqual([
      { path: 'spec.steps[0].run', message: `is longer than ${Buffer.byteLength(body) - 1} bytes` },
    ]);
  });

  it('reports syntax errors in run bodies at spec.steps[i].run', () => {
    const problems = stepsProblems([
      { name: 'ok', run: 'return 1;' },
      { name: 'broken', run: 'return (;' },
    ]);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe('spec.steps[1].run');
    expect(problems[0]?.message).toMatch(/^SyntaxError: Unexpected token/);
  });

  it('rejects a body that tries to break out of a function wrapper', () => {
    const problems = stepsProblems([{ name: 'escape', run: '}); globalThis.escaped = true; (function(){' }]);
    expect(problems).toEqual([{ path: 'spec.steps[0].run', message: expect.stringMatching(/^SyntaxError: /) as unknown }]);
    expect((globalThis as Record<string, unknown>).escaped).toBeUndefined();
  });

  it('checks bodies in strict mode and as synchronous functions', () => {
    expect(stepsProblems([{ name: 'a', run: 'with (input) { return x; }' }])[0]?.message).toMatch(/^SyntaxError: Strict mode code may not include a with statement/);
    expect(stepsProblems([{ name: 'a', run: 'return await input;' }])[0]?.message).toMatch(/^SyntaxError: /);
  });

  it('gives the line of a syntax error in YAML sources', () => {
    const source = ORDER_TOTAL.replace('return { id: input.id, total: steps.total };', 'return { id: input.id total: steps.total };');
    expect(problemsOf(source)).toEqual([{ path: 'spec.steps[1].run', message: expect.stringMatching(/^SyntaxError: .*\(line 26, column 12\)$/) as unknown }]);
  });
});

describe('safe YAML', () => {
  const BILLION_LAUGHS = `apiVersion: beddel/v1
kind: Transformation
metadata: { name: lol, version: "1" }
x-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]
x-b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
x-c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
x-d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
x-e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
x-f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
x-g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
x-h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]
x-i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]
spec:
  steps:
    - name: boom
      run: return 1;
  inputSchema: *i
`;

  it('stops a billion-laughs document fast', () => {
    const started = Date.now();
    const error = compileError(BILLION_LAUGHS);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error.code).toBe('BEDDEL_INVALID_TRANSFORMATION');
    expect(error.message).toMatch(/aliases expand too much/);
  });

  it('uses anchors and aliases within the alias budget', () => {
    const source = ORDER_TOTAL.replace('properties: { total: { type: number } }', 'properties: { total: &num { type: number }, tax: *num }');
    expect(problemsOf(source)).toEqual([]);
  });

  it('rejects custom and explicit tags', () => {
    const source = ORDER_TOTAL.replace('run: |\n        return input.items', 'run: !!js/function |\n        return input.items').replace('name: result', 'name: !custom result');
    expect(problemsOf(source)).toEqual([
      { path: 'spec.steps[0].run', message: 'explicit YAML tags are not allowed (found !!js/function) (line 23, column 26)' },
      { path: 'spec.steps[1].name', message: 'explicit YAML tags are not allowed (found !custom) (line 25, column 21)' },
    ]);
  });

  it('rejects duplicate keys', () => {
    const source = ORDER_TOTAL.replace('kind: Transformation\n', 'kind: Transformation\nkind: Transformation\n');
    expect(problemsOf(source)).toEqual([{ path: 'kind', message: 'duplicate key "kind": keys must be unique (line 3, column 1)' }]);
  });

  it('rejects __proto__ keys anywhere, and nothing gets polluted', () => {
    const source = ORDER_TOTAL.replace('properties: { total: { type: number } }', 'properties: { total: { type: number } }\n    __proto__: { polluted: yes }');
    expect(problemsOf(source)).toEqual([{ path: 'spec.outputSchema.__proto__', message: 'the key "__proto__" is not allowed (line 20, column 16)' }]);
    expect(problemsOf(`__proto__: { polluted: yes }\n${ORDER_TOTAL}`)[0]?.path).toBe('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects __proto__ keys in object sources parsed from JSON', () => {
    const source: unknown = JSON.parse(JSON.stringify(documentWith()).replace('"kind"', '"__proto__":{"polluted":true},"kind"'));
    expect(problemsOf(source as object)).toEqual([{ path: '__proto__', message: 'the key "__proto__" is not allowed' }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects multi-document streams', () => {
    expect(problemsOf(`${ORDER_TOTAL}---\n${ORDER_TOTAL}`)).toEqual([{ path: '', message: 'the source must hold exactly one YAML document, found 2 (line 28, column 1)' }]);
  });

  it('reports YAML syntax errors with line and column', () => {
    const problems = problemsOf(ORDER_TOTAL.replace('limits: { timeoutMs: 1000, memoryLimitMb: 16 }', 'limits: { timeoutMs: 1000'));
    expect(problems[0]?.message).toMatch(/\(line \d+, column \d+\)$/);
  });

  it('rejects deeply nested documents', () => {
    const deep = ORDER_TOTAL.replace('outputSchema:\n', `outputSchema:\n    x-deep: ${'['.repeat(70)}${']'.repeat(70)}\n`);
    expect(problemsOf(deep)[0]?.message).toMatch(/^the YAML is nested too deeply \(at most 64 levels\)/);
  });

  it('rejects an empty document', () => {
    expect(problemsOf('')).toEqual([{ path: '', message: 'the document is empty' }]);
  });
});

describe('size caps', () => {
  it('rejects YAML text over maxSourceBytes (UTF-8 bytes, default 256 KiB)', () => {
    expect(DEFAULT_TRANSFORMATION_COMPILER_OPTIONS.maxSourceBytes).toBe(256 * 1024);
    const bytes = Buffer.byteLength(ORDER_TOTAL);
    expect(problemsOf(ORDER_TOTAL, { maxSourceBytes: bytes })).toEqual([]);
    expect(problemsOf(ORDER_TOTAL, { maxSourceBytes: bytes - 1 })).toEqual([{ path: '', message: `the source is ${bytes} bytes; at most ${bytes - 1} are allowed` }]);
    const huge = `${ORDER_TOTAL}# ${'x'.repeat(256 * 1024)}\n`;
    expect(problemsOf(huge)[0]?.message).toMatch(/^the source is \d+ bytes; at most 262144 are allowed$/);
  });

  it('rejects object sources whose canonical JSON is over maxSourceBytes', () => {
    const doc = documentWith();
    const bytes = Buffer.byteLength(canonicalJson(doc));
    expect(problemsOf(doc, { maxSourceBytes: bytes })).toEqual([]);
    expect(problemsOf(doc, { maxSourceBytes: bytes - 1 })[0]?.message).toMatch(/larger than|bytes as canonical JSON/);
  });

  it('counts aliases expanded when checking the size', () => {
    const source = ORDER_TOTAL.replace('outputSchema:\n', `outputSchema:\n    x-a: &a "${'x'.repeat(1000)}"\n    x-b: [*a, *a, *a, *a, *a, *a, *a, *a]\n`);
    // The text is about 2 KB; the data it expands to is about 10 KB.
    expect(Buffer.byteLength(source)).toBeLessThan(3_000);
    expect(problemsOf(source, { maxSourceBytes: 3_000 })).toEqual([
      { path: 'spec.outputSchema["x-b"][1]', message: 'the document is larger than 3000 characters as JSON (after expanding aliases) (line 18, column 15)' },
    ]);
  });

  it('rejects text that is not well-formed Unicode', () => {
    expect(problemsOf(`${ORDER_TOTAL}# \uD800\n`)[0]?.message).toMatch(/^the source is not well-formed Unicode \(lone surrogate at character \d+\)$/);
  });
});

describe('input and output schemas', () => {
  const compiled = new TransformationCompiler().compile(ORDER_TOTAL);

  it('accepts valid values', () => {
    expect(compiled.validateInput({ id: 'o-1', items: [{ qty: 2, price: 1.5 }] })).toEqual([]);
    expect(compiled.validateOutput({ id: 'o-1', total: 3 })).toEqual([]);
  });

  it('lists every input problem with its path under input', () => {
    expect(compiled.validateInput({ items: [{ qty: 2, price: 1 }, { qty: 0, price: 'x' }, {}] })).toEqual([
      { path: 'input.id', message: 'is required' },
      { path: 'input.items[1].qty', message: 'must be >= 1' },
      { path: 'input.items[1].price', message: 'must be number' },
      { path: 'input.items[2].qty', message: 'is required' },
      { path: 'input.items[2].price', message: 'is required' },
    ]);
    expect(compiled.validateInput('text')).toEqual([{ path: 'input', message: 'must be object' }]);
  });

  it('lists output problems with paths under output', () => {
    expect(compiled.validateOutput({ id: 'o-1', total: '3' })).toEqual([{ path: 'output.total', message: 'must be number' }]);
    expect(compiled.validateOutput(null)).toEqual([{ path: 'output', message: 'must be object' }]);
  });

  it('accepts anything when there is no schema', () => {
    const plain = new TransformationCompiler().compile(documentWith());
    expect(plain.validateInput(undefined)).toEqual([]);
    expect(plain.validateOutput({ anything: [1, 'x'] })).toEqual([]);
  });
});

describe('cache', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('returns the same object for the same source without parsing or compiling schemas again', () => {
    const compose = vi.spyOn(Composer.prototype, 'compose');
    const ajvCompile = vi.spyOn(Ajv.prototype, 'compile');
    const compiler = new TransformationCompiler();

    const first = compiler.compile(ORDER_TOTAL);
    expect(compose).toHaveBeenCalledTimes(1);
    expect(ajvCompile).toHaveBeenCalledTimes(2); // inputSchema and outputSchema

    expect(compiler.compile(ORDER_TOTAL)).toBe(first);
    const validated = compiler.validate(ORDER_TOTAL);
    expect(validated.ok && validated.transformation).toBe(first);
    expect(compose).toHaveBeenCalledTimes(1);
    expect(ajvCompile).toHaveBeenCalledTimes(2);
  });

  it('is per compiler and keyed by the exact source text', () => {
    const compiler = new TransformationCompiler();
    const first = compiler.compile(ORDER_TOTAL);
    expect(new TransformationCompiler().compile(ORDER_TOTAL)).not.toBe(first);
    const edited = compiler.compile(`${ORDER_TOTAL}# a comment\n`);
    expect(edited).not.toBe(first);
    expect(edited.ref.sha256).not.toBe(first.ref.sha256);
  });

  it('drops the least recently used entries beyond cacheSize', () => {
    const compiler = new TransformationCompiler({ cacheSize: 1 });
    const a = compiler.compile(ORDER_TOTAL);
    compiler.compile(documentWith());
    expect(compiler.compile(ORDER_TOTAL)).not.toBe(a);
  });

  it('keeps nothing with cacheSize 0', () => {
    const compiler = new TransformationCompiler({ cacheSize: 0 });
    expect(compiler.compile(ORDER_TOTAL)).not.toBe(compiler.compile(ORDER_TOTAL));
  });

  it('does not cache failures as successes', () => {
    const compiler = new TransformationCompiler();
    const bad = documentWith((doc) => delete doc.kind);
    expect(compiler.validate(bad).ok).toBe(false);
    expect(compiler.validate(bad).ok).toBe(false);
  });
});

describe('object (JSON) sources', () => {
  it('compiles an object parsed from JSON, with the canonical JSON hash as id', () => {
    const json = JSON.stringify(documentWith((doc) => (doc.spec.inputSchema = { type: 'number' })));
    const source = JSON.parse(json) as object;
    const compiled = new TransformationCompiler().compile(source);
    expect(compiled.plan).toEqual({ id: sha256Hex(canonicalJson(source)), name: 'doubler', version: '1.0.0', steps: [{ name: 'double', run: 'return input * 2;' }] });
    expect(compiled.validateInput('2')).toEqual([{ path: 'input', message: 'must be number' }]);
  });

  it('gives the same id and cached object whatever the key order', () => {
    const compiler = new TransformationCompiler();
    const a = documentWith();
    const b = { spec: a.spec, metadata: { version: '1.0.0', name: 'doubler' }, kind: a.kind, apiVersion: a.apiVersion };
    expect(compiler.compile(b)).toBe(compiler.compile(a));
  });

  it('does not keep references to the caller object', () => {
    const source = documentWith();
    const compiled = new TransformationCompiler().compile(source);
    (source.spec as { steps: { run: string }[] }).steps[0]!.run = 'return 0;';
    expect(compiled.plan.steps[0]?.run).toBe('return input * 2;');
  });

  it('rejects objects that are not JSON data', () => {
    expect(problemsOf(documentWith((doc) => (doc.metadata.created = new Date(0))))).toEqual([{ path: 'metadata.created', message: 'must be a plain object (found a Date)' }]);
    expect(problemsOf(documentWith((doc) => (doc.spec.steps[0].run = () => 1)))).toEqual([{ path: 'spec.steps[0].run', message: 'must be JSON data (found a function)' }]);
    const cyclic = documentWith();
    (cyclic.spec as Record<string, unknown>).self = cyclic;
    expect(problemsOf(cyclic)).toEqual([{ path: 'spec.self', message: 'contains itself (a cyclic reference or recursive alias)' }]);
  });

  it('ignores properties whose value is undefined, as JSON does', () => {
    expect(problemsOf(documentWith((doc) => (doc.spec.limits = undefined)))).toEqual([]);
  });
});

describe('transformationId', () => {
  it('is the SHA-256 of the text, or of the canonical JSON of an object', () => {
    expect(transformationId(ORDER_TOTAL)).toBe(sha256Hex(ORDER_TOTAL));
    const doc = documentWith();
    expect(transformationId(doc)).toBe(sha256Hex(canonicalJson(doc)));
    expect(transformationId(doc)).toBe(new TransformationCompiler().compile(doc).ref.sha256);
  });

  it('does not parse or validate the document', () => {
    expect(transformationId('not: [valid')).toBe(sha256Hex('not: [valid'));
  });

  it('throws BEDDEL_INVALID_TRANSFORMATION for sources it cannot hash', () => {
    expect(() => transformationId({ a: Number.NaN })).toThrow(BeddelError);
    expect(() => transformationId('x'.repeat(11), { maxSourceBytes: 10 })).toThrow(/the source is 11 bytes; at most 10 are allowed/);
    expect(() => transformationId('\uDC00')).toThrow(/not well-formed Unicode/);
  });
});

describe('options', () => {
  it('rejects options that are not integers in range', () => {
    for (const options of [{ maxSteps: 0 }, { maxSourceBytes: -1 }, { cacheSize: 1.5 }, { maxAliasCount: -1 }, { maxStepSourceBytes: Number.NaN }]) {
      expect(() => new TransformationCompiler(options)).toThrow(expect.objectContaining({ code: 'BEDDEL_CONFIGURATION' }));
    }
    expect(() => new TransformationCompiler({ cacheSize: 0, maxAliasCount: 0 })).not.toThrow();
  });
});

describe('examples in the repository', () => {
  const examples = new URL('../../../examples/', import.meta.url);
  // Only the YAML files that say they are transformations: examples/ holds other documents too.
  const files = readdirSync(examples, { recursive: true, encoding: 'utf8' }).filter(
    (file) => file.endsWith('.yaml') && /^kind: Transformation$/m.test(readFileSync(new URL(file, examples), 'utf8')),
  );

  it.each(files)('%s compiles, and its sample input (if any) passes its schema', (file) => {
    const compiled = new TransformationCompiler().compile(readFileSync(new URL(file, examples), 'utf8'));
    expect(compiled.plan.steps.length).toBeGreaterThan(0);
    const inputFile = new URL(file.replace(/\.yaml$/, '.input.json'), examples);
    let input: unknown;
    try {
      input = JSON.parse(readFileSync(inputFile, 'utf8'));
    } catch {
      return;
    }
    expect(compiled.validateInput(input)).toEqual([]);
  });
});

describe('documentation', () => {
  const read = (path: string): string => readFileSync(new URL(path, import.meta.url), 'utf8');

  it('the examples in docs/transformation-format.md compile and behave as described', () => {
    const text = read('../../../docs/transformation-format.md');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(text)?.[1];
    const json = /```json\n([\s\S]*?)```/.exec(text)?.[1];
    const compiler = new TransformationCompiler();
    expect(compiler.compile(yaml!).ref.name).toBe('order-total');
    const summary = compiler.compile(JSON.parse(json!) as object);
    expect(summary.validateInput({ users: [{ name: 'Ada', age: 36 }, { name: 'Tim', age: 'nine' }] })).toEqual([{ path: 'input.users[1].age', message: 'must be integer' }]);
    expect(summary.validateOutput({ count: 2, adults: ['Ada'] })).toEqual([]);
  });

  it('the README example is valid and its input check says what the comment says', () => {
    const source = /const source = `([\s\S]*?)`;/.exec(read('../README.md'))?.[1];
    const compiled = new TransformationCompiler().compile(source!);
    expect(compiled.limits).toEqual({ timeoutMs: 1000 });
    expect(compiled.validateInput({})).toEqual([{ path: 'input.items', message: 'is required' }]);
  });
});
