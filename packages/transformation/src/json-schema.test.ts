import { describe, expect, it } from 'vitest';
import { compileJsonSchema } from './json-schema.js';
import type { SchemaCompilation } from './json-schema.js';

function compiled(schema: Parameters<typeof compileJsonSchema>[0]): Extract<SchemaCompilation, { ok: true }> {
  const result = compileJsonSchema(schema);
  if (!result.ok) throw new Error(`expected the schema to compile: ${result.problems.map((problem) => problem.message).join('; ')}`);
  return result;
}

function messages(schema: Parameters<typeof compileJsonSchema>[0]): readonly string[] {
  const result = compileJsonSchema(schema);
  return result.ok ? [] : result.problems.map((problem) => problem.message);
}

const ORDER = {
  type: 'object',
  required: ['id', 'items'],
  additionalProperties: false,
  properties: {
    id: { type: 'string' },
    items: { type: 'array', items: { type: 'object', properties: { qty: { type: 'integer', minimum: 1 } } } },
    'first name': { type: 'string' },
  },
};

describe('compileJsonSchema', () => {
  it('returns no problems for valid values', () => {
    const { check } = compiled(ORDER);
    expect(check({ id: 'a', items: [{ qty: 2 }] }, 'input')).toEqual([]);
  });

  it('maps ajv errors to paths under the root, listing all of them', () => {
    const { check } = compiled(ORDER);
    expect(check({ items: [{ qty: 2 }, { qty: 0 }, { qty: 'x' }], extra: 1, 'first name': 3 }, 'input')).toEqual([
      { path: 'input.id', message: 'is required' },
      { path: 'input.extra', message: 'is not allowed by the schema (additionalProperties)' },
      { path: 'input.items[1].qty', message: 'must be >= 1' },
      { path: 'input.items[2].qty', message: 'must be integer' },
      { path: 'input["first name"]', message: 'must be string' },
    ]);
  });

  it('reports a wrong type at the root with the bare root path', () => {
    expect(compiled(ORDER).check([], 'output')).toEqual([{ path: 'output', message: 'must be object' }]);
  });

  it('tells array indexes from keys that look like numbers, and unescapes JSON pointers', () => {
    const { check } = compiled({ type: 'object', properties: { '0': { type: 'string' }, 'a/b~c': { type: 'string' }, list: { items: { type: 'string' } } } });
    expect(check({ '0': 1, 'a/b~c': 1, list: [1] }, 'input')).toEqual([
      { path: 'input["0"]', message: 'must be string' },
      { path: 'input["a/b~c"]', message: 'must be string' },
      { path: 'input.list[0]', message: 'must be string' },
    ]);
  });

  it('accepts boolean schemas', () => {
    expect(compiled(true).check(42, 'input')).toEqual([]);
    expect(compiled(false).check(42, 'input')).toEqual([{ path: 'input', message: 'boolean schema is false' }]);
  });

  it('ignores keywords it does not know and formats (strict: false, no formats)', () => {
    expect(compiled({ type: 'string', format: 'email', 'x-owner': 'billing' }).check('not an email', 'input')).toEqual([]);
  });

  it('returns frozen problem lists', () => {
    const problems = compiled(ORDER).check({}, 'input');
    expect(Object.isFrozen(problems)).toBe(true);
    expect(Object.isFrozen(problems[0])).toBe(true);
  });

  it('rejects schemas that break the draft-07 meta-schema, naming the place', () => {
    expect(messages({ type: 'object', properties: { a: { minimum: 'x' } } })).toEqual(['is not a valid JSON Schema: /properties/a/minimum must be number']);
    expect(messages({ type: 'objekt' })).toContain('is not a valid JSON Schema: /type must be equal to one of the allowed values');
  });

  it('rejects values that are not schemas at all', () => {
    expect(messages(5)).toEqual(['must be a JSON Schema: a mapping (object) or a boolean']);
    expect(messages(['type'])).toEqual(['must be a JSON Schema: a mapping (object) or a boolean']);
  });

  it('never loads remote references', () => {
    expect(messages({ $ref: 'https://example.com/schema.json' })).toEqual([
      '$ref "https://example.com/schema.json" cannot be resolved: only references inside the schema work, nothing is loaded from elsewhere',
    ]);
  });

  it('resolves references inside the schema', () => {
    const { check } = compiled({ definitions: { qty: { type: 'integer' } }, properties: { qty: { $ref: '#/definitions/qty' } } });
    expect(check({ qty: 1.5 }, 'input')).toEqual([{ path: 'input.qty', message: 'must be integer' }]);
    expect(messages({ $ref: '#/definitions/missing' })[0]).toMatch(/cannot be resolved/);
  });

  it('rejects an unknown $schema and invalid regular expressions', () => {
    expect(messages({ $schema: 'https://json-schema.org/draft/2020-12/schema' })[0]).toMatch(/^is not a valid JSON Schema: no schema with key or ref/);
    expect(messages({ type: 'string', pattern: '(' })[0]).toMatch(/^is not a valid JSON Schema: Invalid regular expression/);
  });

  it('rejects asynchronous schemas', () => {
    expect(messages({ $async: true, type: 'object' })).toEqual(['asynchronous schemas ($async) are not supported']);
  });

  it('keeps schemas of different transformations apart even when they share an $id', () => {
    const first = compiled({ $id: 'https://example.com/order', type: 'string' });
    const second = compiled({ $id: 'https://example.com/order', type: 'number' });
    expect(first.check('a', 'input')).toEqual([]);
    expect(second.check(1, 'input')).toEqual([]);
    // A third schema cannot reach either of them through $ref.
    expect(messages({ $ref: 'https://example.com/order' })[0]).toMatch(/cannot be resolved/);
  });

  it('caps the number of problems reported for one value', () => {
    const { check } = compiled({ type: 'array', items: { type: 'string' } });
    const problems = check(Array.from({ length: 500 }, (_, i) => i), 'input');
    expect(problems).toHaveLength(100);
    expect(problems[99]).toEqual({ path: 'input', message: '401 more problems not listed' });
  });
});
