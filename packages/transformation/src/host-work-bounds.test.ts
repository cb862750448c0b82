import { BeddelError, ErrorCodes } from '@beddel/contracts';
import { describe, expect, it } from 'vitest';
import { TransformationCompiler } from './transformation-compiler.js';

/*
 * Attacks on the host thread: everything here runs in the engine's process, on its one event loop,
 * outside any deadline. Each payload fits inside the caps a tenant is given and took seconds before
 * the work was bounded; the bound asserted is generous for a noisy machine but far below that.
 */

/** yaml's own (linear) parse of 60 KB of broken YAML takes ~100 ms here; mapping every problem took 13 s at 100 KB. */
const YAML_BOUND_MS = 1_000;

function timed<T>(work: () => T): { result: T; ms: number } {
  const started = performance.now();
  const result = work();
  return { result, ms: performance.now() - started };
}

function compileError(source: string | object): BeddelError {
  try {
    new TransformationCompiler({ cacheSize: 0 }).compile(source);
  } catch (error) {
    if (error instanceof BeddelError) return error;
    throw error;
  }
  throw new Error('expected the transformation to be rejected');
}

describe('YAML problems are collected within a bound', () => {
  it('maps the paths of only the problems it lists (6,000 errors in a 60 KB document)', () => {
    // Every item carries two anchors: one YAML error each, 6,000 in all, inside the 256 KiB cap.
    const source = '- &a &b x\n'.repeat(6_000);
    expect(source.length).toBeLessThan(256 * 1024);
    const { result: error, ms } = timed(() => compileError(source));
    expect(error.code).toBe(ErrorCodes.INVALID_TRANSFORMATION);
    expect(error.details).toHaveLength(100);
    expect(error.details?.[0]).toEqual({ path: '', message: 'A node can have at most one anchor (line 1, column 6)' });
    expect(error.details?.[99]).toEqual({ path: '', message: '5901 more problems not listed' });
    expect(error.message).toBe('Invalid transformation: A node can have at most one anchor (line 1, column 6) (and 5999 more problems)');
    expect(ms).toBeLessThan(YAML_BOUND_MS);
  });

  it('maps the paths of only the problems it lists for node checks too (duplicate keys, tags)', () => {
    const source = `items:\n${'  - !!str x\n'.repeat(10_000)}`;
    const { result: error, ms } = timed(() => compileError(source));
    expect(error.code).toBe(ErrorCodes.INVALID_TRANSFORMATION);
    expect(error.details?.[0]).toEqual({ path: 'items[0]', message: 'explicit YAML tags are not allowed (found !!str) (line 2, column 11)' });
    expect(error.details?.[99]).toEqual({ path: '', message: '9901 more problems not listed' });
    expect(ms).toBeLessThan(YAML_BOUND_MS);
  });
});

describe('steps are checked within a bound', () => {
  it('parses the bodies of at most maxSteps steps (7,000 broken steps inside the size cap were each parsed)', () => {
    const steps = Array.from({ length: 7000 }, (_, i) => `  - { name: s${i}, run: "return (" }\n`).join('');
    const source = `apiVersion: beddel/v1\nkind: Transformation\nmetadata: { name: t, version: "1" }\nspec:\n  steps:\n${steps}`;
    expect(source.length).toBeLessThan(256 * 1024);
    const { result: error, ms } = timed(() => compileError(source));
    expect(error.code).toBe(ErrorCodes.INVALID_TRANSFORMATION);
    expect(error.details).toHaveLength(33);
    expect(error.details?.[0]).toEqual({ path: 'spec.steps', message: 'has 7000 steps; at most 32 are allowed (line 6, column 3)' });
    expect(error.details?.[32]?.path).toBe('spec.steps[31].run');
    expect(ms).toBeLessThan(YAML_BOUND_MS);
  });
});

/** Bound for one schema compile or one validation. Each payload took 1.5-40 s before. */
const SCHEMA_BOUND_MS = 500;
const LONG = 60_000;

function transformation(inputSchema: unknown, outputSchema?: unknown): object {
  return {
    apiVersion: 'beddel/v1',
    kind: 'Transformation',
    metadata: { name: 'attack', version: '1.0.0' },
    spec: { inputSchema, ...(outputSchema === undefined ? {} : { outputSchema }), steps: [{ name: 'echo', run: 'return input;' }] },
  };
}

/** Compiles, asserting the time it took, and returns the first problem (`{ path, message }`) of the rejection. */
function rejectedSchema(inputSchema: unknown): { path: string | undefined; message: string } {
  const { result: error, ms } = timed(() => compileError(transformation(inputSchema)));
  expect(error.code).toBe(ErrorCodes.INVALID_TRANSFORMATION);
  expect(ms).toBeLessThan(SCHEMA_BOUND_MS);
  const first = error.details?.[0];
  return { path: first?.path, message: first?.message ?? '' };
}

function validated(inputSchema: unknown, input: unknown): { problems: readonly { path: string; message: string }[]; ms: number } {
  const compiled = new TransformationCompiler({ cacheSize: 0 }).compile(transformation(inputSchema));
  const { result: problems, ms } = timed(() => compiled.validateInput(input));
  return { problems, ms };
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('JSON Schema compilation is bounded by caps', () => {
  it('refuses a schema over 64 KiB (3,000 patterns took 3.9 s to compile)', () => {
    const schema = { type: 'object', properties: Object.fromEntries(range(3000).map((i) => [`p${i}`, { type: 'string', pattern: `^a${i}$` }])) };
    const { path, message } = rejectedSchema(schema);
    expect(path).toBe('spec.inputSchema');
    expect(message).toMatch(/^the schema is \d+ bytes as JSON; at most 65536 are allowed \(MAX_SCHEMA_BYTES\)$/);
  });

  it('refuses more than 256 regular expressions, counting patternProperties keys', () => {
    const schema = { properties: Object.fromEntries(range(200).map((i) => [`p${i}`, { pattern: `^a${i}$` }])), patternProperties: Object.fromEntries(range(57).map((i) => [`^b${i}$`, {}])) };
    expect(rejectedSchema(schema)).toEqual({ path: 'spec.inputSchema.patternProperties["^b56$"]', message: 'the schema has more than 256 regular expressions (MAX_SCHEMA_PATTERNS)' });
  });

  it('refuses long and large regular expressions, and in total', () => {
    expect(rejectedSchema({ pattern: 'a'.repeat(1001) })).toEqual({ path: 'spec.inputSchema.pattern', message: 'the regular expression is 1001 characters long; at most 1000 are allowed (MAX_PATTERN_LENGTH)' });
    expect(rejectedSchema({ propertyNames: { pattern: '^(ab{20}){50}$' } })).toEqual({
      path: 'spec.inputSchema.propertyNames.pattern',
      message: 'the regular expression has size 1052 with their repetitions written out; at most 1000 is allowed (MAX_PATTERN_SIZE)'.replace('their', 'its'),
    });
    const many = { anyOf: range(17).map((i) => ({ pattern: `^.{0,990}${i}` })) };
    expect(rejectedSchema(many)).toEqual({ path: 'spec.inputSchema.anyOf[16].pattern', message: 'the regular expressions of the schema have a total size over 16000 with their repetitions written out (MAX_TOTAL_PATTERN_SIZE)' });
  });

  it('refuses what the linear-time engine cannot run (backreferences, lookaround) with the path', () => {
    const backreference = rejectedSchema({ properties: { a: { pattern: '^(a)\\1$' } } });
    expect(backreference.path).toBe('spec.inputSchema.properties.a.pattern');
    expect(backreference.message).toMatch(/^the regular expression cannot run on the linear-time engine \(RE2\), which has no lookahead, lookbehind or backreferences: /);
    expect(rejectedSchema({ patternProperties: { '^(?!x)': {} } }).path).toBe('spec.inputSchema.patternProperties["^(?!x)"]');
  });

  it('refuses combinators wider than 64 anywhere (a 2,000-branch anyOf overflowed the host stack)', () => {
    expect(rejectedSchema({ anyOf: range(2000).map((i) => ({ const: i })) })).toEqual({ path: 'spec.inputSchema.anyOf', message: 'has 2000 schemas; at most 64 are allowed (MAX_COMBINATOR_WIDTH)' });
    expect(rejectedSchema({ properties: { a: { not: { oneOf: range(65).map(() => ({})) } } } }).path).toBe('spec.inputSchema.properties.a.not.oneOf');
    expect(rejectedSchema({ items: range(65).map(() => true) }).path).toBe('spec.inputSchema.items');
    expect(rejectedSchema({ if: { allOf: range(65).map(() => true) } }).path).toBe('spec.inputSchema.if.allOf');
  });

  it('refuses an enum of more than 1,000 values', () => {
    expect(rejectedSchema({ items: { enum: range(1001) } })).toEqual({ path: 'spec.inputSchema.items.enum', message: 'has 1001 values; at most 1000 are allowed (MAX_ENUM_VALUES)' });
  });

  it('refuses more than 2,000 subschemas and nesting deeper than 32', () => {
    expect(rejectedSchema({ properties: Object.fromEntries(range(2001).map((i) => [`p${i}`, {}])) })).toEqual({
      path: 'spec.inputSchema.properties.p1999',
      message: 'the schema has more than 2000 subschemas (MAX_SUBSCHEMAS)',
    });
    let deep: object = {};
    for (let i = 0; i < 33; i++) deep = { not: deep };
    expect(rejectedSchema(deep).message).toBe('subschemas are nested more than 32 levels deep (MAX_SCHEMA_DEPTH)');
  });

  it('refuses $refs that multiply work (8 refs to the next definition, 6 levels: 8^6 checks per value)', () => {
    const definitions: Record<string, object> = { d6: { type: 'string' } };
    for (let i = 0; i < 6; i++) definitions[`d${i}`] = { allOf: range(8).map(() => ({ $ref: `#/definitions/d${i + 1}` })) };
    const { path, message } = rejectedSchema({ definitions, type: 'array', items: { $ref: '#/definitions/d0' } });
    expect(message).toBe('the schema expands to more than 10000 subschemas once each $ref is replaced by what it points to (MAX_EXPANDED_SUBSCHEMAS)');
    expect(path).toMatch(/^spec\.inputSchema\.definitions\.d\d/);
  });

  it('refuses a $ref back into itself that does not descend into the data (it overflowed the stack: BEDDEL_INTERNAL)', () => {
    expect(rejectedSchema({ definitions: { t: { anyOf: [{ type: 'string' }, { allOf: [{ $ref: '#/definitions/t' }] }] } }, $ref: '#/definitions/t' })).toEqual({
      path: 'spec.inputSchema.definitions.t.anyOf[1].allOf[0].$ref',
      message: 'refers back to a schema it is part of without descending into the data: validation would never end',
    });
  });

  it('follows $refs that name the schema by its $id like # ones, and refuses spellings it cannot be sure of', () => {
    const loop = { definitions: { t: { allOf: [{ $ref: 'https://example.com/order#/definitions/t' }] } }, $ref: '#/definitions/t' };
    expect(rejectedSchema({ $id: 'https://example.com/order', ...loop })).toEqual({
      path: 'spec.inputSchema.definitions.t.allOf[0].$ref',
      message: 'refers back to a schema it is part of without descending into the data: validation would never end',
    });
    const relative = { $id: 'order.json', definitions: { t: { allOf: [{ $ref: 'order.json#/definitions/t' }] } }, $ref: '#/definitions/t' };
    expect(rejectedSchema(relative)).toEqual({
      path: 'spec.inputSchema',
      message: '$ref "order.json#/definitions/t" cannot be resolved: only references inside the schema work, nothing is loaded from elsewhere',
    });
    const viaUrl = new TransformationCompiler({ cacheSize: 0 }).compile(
      transformation({ $id: 'https://example.com/order', definitions: { qty: { type: 'integer' } }, properties: { qty: { $ref: 'https://example.com/order#/definitions/qty' } } }),
    );
    expect(viaUrl.validateInput({ qty: 1.5 })).toEqual([{ path: 'input.qty', message: 'must be integer' }]);
  });

  it('refuses $refs to what is not a subschema, nested $ids and the reserved budget keyword', () => {
    expect(rejectedSchema({ enum: [{ pattern: '^(a+)+$' }], properties: { a: { $ref: '#/enum/0' } } })).toEqual({
      path: 'spec.inputSchema.properties.a.$ref',
      message: '$ref "#/enum/0" cannot be resolved: it does not point to a subschema of this schema',
    });
    expect(rejectedSchema({ properties: { a: { $id: 'other', type: 'string' } } }).path).toBe('spec.inputSchema.properties.a.$id');
    expect(rejectedSchema({ $beddelBudget: false }).path).toBe('spec.inputSchema.$beddelBudget');
  });

  it('applies the caps inside dependencies, contains, additionalItems and if/then/else too', () => {
    expect(rejectedSchema({ dependencies: { a: { anyOf: range(65).map(() => true) } } }).path).toBe('spec.inputSchema.dependencies.a.anyOf');
    expect(rejectedSchema({ contains: { pattern: '(?<=a)b' } }).path).toBe('spec.inputSchema.contains.pattern');
    expect(rejectedSchema({ items: [true], additionalItems: { enum: range(1001) } }).path).toBe('spec.inputSchema.additionalItems.enum');
    expect(rejectedSchema({ if: true, then: { pattern: 'x{1001}' }, else: true }).path).toBe('spec.inputSchema.then.pattern');
    // dependencies apply to the same object: a $ref back through them never descends.
    expect(rejectedSchema({ definitions: { t: { dependencies: { a: { $ref: '#/definitions/t' } } } }, $ref: '#/definitions/t' })).toEqual({
      path: 'spec.inputSchema.definitions.t.dependencies.a.$ref',
      message: 'refers back to a schema it is part of without descending into the data: validation would never end',
    });
  });

  it('still compiles a recursive schema that descends into the data, and validates it', () => {
    const tree = { definitions: { node: { type: 'object', required: ['value'], properties: { value: { type: 'number' }, left: { $ref: '#/definitions/node' }, right: { $ref: '#/definitions/node' } } } }, $ref: '#/definitions/node' };
    const compiled = new TransformationCompiler({ cacheSize: 0 }).compile(transformation(tree));
    expect(compiled.validateInput({ value: 1, left: { value: 2, right: { value: 3 } } })).toEqual([]);
    expect(compiled.validateInput({ value: 1, left: { value: 'x' } })).toEqual([{ path: 'input.left.value', message: 'must be number' }]);
  });
});

describe('validation of inputs and outputs is bounded', () => {
  it('checks uniqueItems on 8,000 objects in linear time (it took 1.7 s at 117 KB)', { timeout: LONG }, () => {
    const items = range(8000).map((i) => ({ id: i, name: 'x', tags: ['a', 'b'] }));
    const { problems, ms } = validated({ type: 'array', uniqueItems: true }, items);
    expect(problems).toEqual([]);
    expect(ms).toBeLessThan(SCHEMA_BOUND_MS);
    const duplicated = validated({ type: 'array', uniqueItems: true }, [...items, { tags: ['a', 'b'], name: 'x', id: 3 }]);
    expect(duplicated.problems).toEqual([{ path: 'input', message: 'must NOT have duplicate items (items ## 3 and 8000 are identical)' }]);
  });

  it('looks enum values up in constant time (1,000 values over 150,000 items)', { timeout: LONG }, () => {
    const { problems, ms } = validated({ type: 'array', items: { enum: range(1000).map((i) => `v${i}`) } }, range(150_000).map(() => 'nope'));
    expect(problems[0]).toEqual({ path: 'input[0]', message: 'must be equal to one of the allowed values' });
    expect(ms).toBeLessThan(SCHEMA_BOUND_MS);
  });

  it('compares big enum and const objects by canonical JSON, once per value', { timeout: LONG }, () => {
    const big = Object.fromEntries(range(100).map((i) => [`k${i}`, i]));
    const schema = { type: 'array', items: { anyOf: [{ const: { ...big, z: 'const' } }, { enum: range(50).map((j) => ({ ...big, z: j })) }] } };
    const { problems, ms } = validated(schema, range(3000).map(() => ({ ...big, z: -1 })));
    expect(problems[0]?.path).toBe('input[0]');
    expect(ms).toBeLessThan(SCHEMA_BOUND_MS);
    // Key order does not matter, as JSON Schema says.
    expect(validated(schema, [{ z: 7, ...big }]).problems).toEqual([]);
  });

  it('runs pattern in linear time (^(a+)+$ doubled with each character: 2.7 s at 26)', { timeout: LONG }, () => {
    const { problems, ms } = validated({ type: 'string', pattern: '^(a+)+$' }, `${'a'.repeat(26)}!`);
    expect(problems).toEqual([{ path: 'input', message: 'must match pattern "^(a+)+$"' }]);
    expect(ms).toBeLessThan(SCHEMA_BOUND_MS);
    expect(validated({ type: 'string', pattern: '^(a+)+$' }, 'a'.repeat(100_000)).problems).toEqual([]);
  });

  it('runs patternProperties and propertyNames patterns over input keys in linear time', { timeout: LONG }, () => {
    const key = `${'a'.repeat(26)}!`;
    const viaPatternProperties = validated({ type: 'object', patternProperties: { '^(a+)+$': {} }, additionalProperties: false }, { [key]: 1 });
    expect(viaPatternProperties.problems).toEqual([{ path: `input["${key}"]`, message: 'is not allowed by the schema (additionalProperties)' }]);
    expect(viaPatternProperties.ms).toBeLessThan(SCHEMA_BOUND_MS);
    const viaPropertyNames = validated({ type: 'object', propertyNames: { pattern: '^(a+)+$' } }, { [key]: 1 });
    expect(viaPropertyNames.problems[0]).toEqual({ path: 'input', message: 'must match pattern "^(a+)+$"' });
    expect(viaPropertyNames.ms).toBeLessThan(SCHEMA_BOUND_MS);
  });

  it('runs contains and dependencies patterns in linear time', { timeout: LONG }, () => {
    const evil = `${'a'.repeat(26)}!`;
    const viaContains = validated({ type: 'array', contains: { type: 'string', pattern: '^(a+)+$' } }, [evil, evil]);
    expect(viaContains.problems).toEqual([
      { path: 'input[0]', message: 'must match pattern "^(a+)+$"' },
      { path: 'input[1]', message: 'must match pattern "^(a+)+$"' },
      { path: 'input', message: 'must contain at least 1 valid item(s)' },
    ]);
    expect(viaContains.ms).toBeLessThan(SCHEMA_BOUND_MS);
    const viaDependencies = validated({ dependencies: { a: { properties: { b: { pattern: '^(a+)+$' } } } } }, { a: 1, b: evil });
    expect(viaDependencies.problems).toEqual([{ path: 'input.b', message: 'must match pattern "^(a+)+$"' }]);
    expect(viaDependencies.ms).toBeLessThan(SCHEMA_BOUND_MS);
  });

  it('stops recursion that fans out (three branches recursing on the same data: 3^22 before)', { timeout: LONG }, () => {
    const branch = { type: 'object', properties: { a: { $ref: '#/definitions/t' } } };
    const schema = { definitions: { t: { anyOf: [branch, { ...branch, minProperties: 0 }, { ...branch, maxProperties: 9 }] } }, $ref: '#/definitions/t' };
    const failing = JSON.parse(`${'{"a":'.repeat(22)}1${'}'.repeat(22)}`) as unknown;
    // Every path fails: errors pile up until MAX_VALIDATION_ERRORS stops the validation.
    const { problems, ms } = validated(schema, failing);
    expect(problems).toHaveLength(100);
    expect(problems[0]?.path).toMatch(/^input(\.a)+$/);
    expect(problems[99]?.message).toMatch(/^\d+ more problems not listed$/);
    expect(ms).toBeLessThan(SCHEMA_BOUND_MS);
    // The first branch passes at every level but only after the others failed below it: the work budget stops it.
    const schemaFirstFails = { definitions: { t: { anyOf: [{ ...branch, required: ['zz'] }, { ...branch, required: ['zz', 'a'] }, branch] } }, $ref: '#/definitions/t' };
    const passing = JSON.parse(`${'{"a":'.repeat(22)}{}${'}'.repeat(22)}`) as unknown;
    const stopped = validated(schemaFirstFails, passing);
    expect(stopped.problems).toEqual([
      { path: 'input', message: 'validating against the schema takes more than 100000 units of work (4 per value or character of the data, at least 100000); simplify the schema' },
    ]);
    expect(stopped.ms).toBeLessThan(SCHEMA_BOUND_MS);
  });

  it('refuses data nested deeper than a recursive schema validates (it overflowed the stack: BEDDEL_INTERNAL)', () => {
    const schema = { definitions: { t: { type: 'array', items: { $ref: '#/definitions/t' } } }, $ref: '#/definitions/t' };
    const data = JSON.parse(`${'['.repeat(30_000)}${']'.repeat(30_000)}`) as unknown;
    expect(validated(schema, data).problems).toEqual([
      { path: 'input', message: 'is nested 30000 levels deep; this recursive schema validates at most 256 (MAX_RECURSIVE_DATA_DEPTH, fewer for large recursive schemas)' },
    ]);
    const within = JSON.parse(`${'['.repeat(256)}${']'.repeat(256)}`) as unknown;
    expect(validated(schema, within).problems).toEqual([]);
    // Deep data under a schema that does not recurse is not walked by the validator, so it is fine.
    expect(validated({ type: 'array' }, data).problems).toEqual([]);
  });

  it('allows less depth to a large recursive schema, whose every level takes a large stack frame', () => {
    // 600 properties: the stack ran out at 39 levels of data (BEDDEL_INTERNAL before).
    const properties = Object.fromEntries(range(600).map((i) => [`p${i}`, { type: 'integer', minimum: 0 }]));
    const schema = { definitions: { t: { type: 'object', properties: { ...properties, a: { $ref: '#/definitions/t' } } } }, $ref: '#/definitions/t' };
    const nested = (depth: number): unknown => JSON.parse(`${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`);
    expect(validated(schema, nested(4)).problems).toEqual([]);
    expect(validated(schema, nested(40)).problems).toEqual([
      { path: 'input', message: 'is nested 40 levels deep; this recursive schema validates at most 4 (MAX_RECURSIVE_DATA_DEPTH, fewer for large recursive schemas)' },
    ]);
  });

  it('stops collecting errors at 10,000 (64 failing branches per item made millions of error objects)', { timeout: LONG }, () => {
    const schema = { type: 'array', items: { allOf: range(64).map(() => ({ type: 'number' })) } };
    const { problems, ms } = validated(schema, range(40_000).map(() => 'ab'));
    expect(problems[0]).toEqual({ path: 'input[0]', message: 'must be number' });
    expect(ms).toBeLessThan(SCHEMA_BOUND_MS);
    // A small value still gets every problem listed.
    expect(validated(schema, ['ab', 'cd']).problems).toHaveLength(100);
  });

  it('bounds the work of wide nested combinators on a big value', { timeout: LONG }, () => {
    const schema = { type: 'array', items: { not: { anyOf: range(64).map(() => ({ anyOf: range(30).map(() => ({ type: 'number' })) })) } } };
    const { problems, ms } = validated(schema, range(20_000).map(() => 'ab'));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/^validating against the schema takes more than \d+ units of work/);
    expect(ms).toBeLessThan(SCHEMA_BOUND_MS);
  });

  it('bounds the validation of guest outputs the same way, at the output path', { timeout: LONG }, () => {
    const compiled = new TransformationCompiler({ cacheSize: 0 }).compile(transformation(true, { type: 'object', properties: { text: { pattern: '^(a|aa)+$' } } }));
    const { result: problems, ms } = timed(() => compiled.validateOutput({ text: `${'a'.repeat(40)}!` }));
    expect(problems).toEqual([{ path: 'output.text', message: 'must match pattern "^(a|aa)+$"' }]);
    expect(ms).toBeLessThan(SCHEMA_BOUND_MS);
  });
});
