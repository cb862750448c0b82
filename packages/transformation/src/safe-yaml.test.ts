import { describe, expect, it } from 'vitest';
import { parseYaml } from './safe-yaml.js';

const options = { maxAliasCount: 50, maxDepth: 64 };

function problemsOf(source: string, opts = options): { path: string; message: string }[] {
  return parseYaml(source, opts).problems.map((p) => ({ path: p.path.join('.'), message: p.message }));
}

const BILLION_LAUGHS = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`;

describe('parseYaml', () => {
  it('reads the YAML 1.2 core schema', () => {
    const parsed = parseYaml('a: 1\nb: [true, null, "x", 0x1F, 1.5]\nc: yes\nd: 2001-12-14\n', options);
    expect(parsed.problems).toEqual([]);
    // `yes` and dates are plain strings in YAML 1.2 core (they were booleans and timestamps in 1.1).
    expect(parsed.value).toEqual({ a: 1, b: [true, null, 'x', 31, 1.5], c: 'yes', d: '2001-12-14' });
  });

  it('reports syntax errors with line, column and path', () => {
    expect(problemsOf('a:\n  b: "unterminated\n')).toEqual([{ path: 'a.b', message: 'Missing closing "quote (line 3, column 1)' }]);
    expect(problemsOf('a:\n  b: {x: 1}}\n')).toEqual([{ path: 'a.b', message: 'Unexpected flow-map-end token in YAML stream: "}" (line 2, column 12)' }]);
  });

  it('rejects duplicate keys with the path of the second one', () => {
    expect(problemsOf('spec:\n  a: 1\n  b: 2\n  a: 3\n')).toEqual([{ path: 'spec.a', message: 'duplicate key "a": keys must be unique (line 4, column 3)' }]);
  });

  it('treats keys that only look different as duplicates when they become the same property', () => {
    expect(problemsOf('1: a\n"1": b\n')).toEqual([{ path: '1', message: 'duplicate key "1": keys must be unique (line 2, column 1)' }]);
  });

  it('finds duplicate keys in large mappings quickly', () => {
    const source = `${Array.from({ length: 20_000 }, (_, i) => `k${i}: 1`).join('\n')}\nk0: 2\n`;
    const started = Date.now();
    expect(problemsOf(source)).toEqual([{ path: 'k0', message: 'duplicate key "k0": keys must be unique (line 20001, column 1)' }]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('rejects custom and explicit tags, whatever they are', () => {
    expect(problemsOf('a: !foo x\nb: !!js/function "function () {}"\nc: !!str 1\nd: !!map {}\n')).toEqual([
      { path: 'a', message: 'explicit YAML tags are not allowed (found !foo) (line 1, column 9)' },
      { path: 'b', message: 'explicit YAML tags are not allowed (found !!js/function) (line 2, column 18)' },
      { path: 'c', message: 'explicit YAML tags are not allowed (found !!str) (line 3, column 10)' },
      { path: 'd', message: 'explicit YAML tags are not allowed (found !!map) (line 4, column 10)' },
    ]);
  });

  it('rejects tags on keys and tags declared with %TAG', () => {
    expect(problemsOf('!!str a: 1\n')[0]?.message).toMatch(/explicit YAML tags are not allowed \(found !!str\)/);
    expect(problemsOf('%TAG !e! tag:example.com,2000:\n---\na: !e!thing 1\n')[0]?.message).toMatch(/explicit YAML tags are not allowed \(found tag:example.com,2000:thing\)/);
  });

  it('rejects multi-document streams, even when the second document is empty', () => {
    expect(problemsOf('a: 1\n---\nb: 2\n')).toEqual([{ path: '', message: 'the source must hold exactly one YAML document, found 2 (line 2, column 1)' }]);
    expect(problemsOf('a: 1\n---\n')[0]?.message).toMatch(/exactly one YAML document, found 2/);
  });

  it('accepts explicit document markers around a single document', () => {
    expect(parseYaml('---\na: 1\n...\n', options).value).toEqual({ a: 1 });
  });

  it('reports an empty document', () => {
    expect(problemsOf('')).toEqual([{ path: '', message: 'the document is empty' }]);
    expect(problemsOf('# just a comment\n')).toEqual([{ path: '', message: 'the document is empty' }]);
    expect(problemsOf('~\n')).toEqual([{ path: '', message: 'the document is empty' }]);
  });

  it('stops a billion-laughs document fast', () => {
    const started = Date.now();
    const problems = problemsOf(BILLION_LAUGHS);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/^aliases expand too much \(maxAliasCount is 50\)/);
  });

  it('allows a few aliases, and none with maxAliasCount 0', () => {
    const source = 'base: &base { type: number }\nprops: { a: *base, b: *base }\n';
    expect(parseYaml(source, options).value).toEqual({ base: { type: 'number' }, props: { a: { type: 'number' }, b: { type: 'number' } } });
    expect(problemsOf(source, { ...options, maxAliasCount: 0 })[0]?.message).toMatch(/^aliases expand too much/);
  });

  it('does not apply << merge keys', () => {
    expect(parseYaml('a: &a { x: 1 }\nb: { <<: *a }\n', options).value).toEqual({ a: { x: 1 }, b: { '<<': { x: 1 } } });
  });

  it('rejects aliases to anchors that do not exist', () => {
    expect(problemsOf('a: [*nowhere]\n')).toEqual([{ path: 'a.0', message: 'the alias *nowhere has no anchor before it (line 1, column 5)' }]);
  });

  it('rejects mappings used as keys', () => {
    expect(problemsOf('? [a, b]\n: 1\n')[0]?.message).toMatch(/keys must be strings/);
  });

  it('rejects deep nesting before composing it, with little work', () => {
    const source = `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
    const started = Date.now();
    expect(problemsOf(source)).toEqual([{ path: '', message: 'the YAML is nested too deeply (at most 64 levels) (line 1, column 75)' }]);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('accepts nesting up to the limit', () => {
    const deep = `${'['.repeat(64)}${']'.repeat(64)}`;
    expect(parseYaml(deep, options).problems).toEqual([]);
  });

  it('reports yaml warnings such as unknown directives', () => {
    expect(problemsOf('%FOO bar\n---\na: 1\n')).toEqual([{ path: '', message: 'Unknown directive %FOO (line 1, column 1)' }]);
  });

  it('keeps __proto__ keys as plain data and never sets a prototype', () => {
    const parsed = parseYaml('__proto__: { polluted: true }\nb: { __proto__: { polluted: true } }\n', options);
    expect(parsed.problems).toEqual([]);
    const value = parsed.value as Record<string, Record<string, unknown>>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(value.b)).toBe(Object.prototype);
    expect(value.polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('locates a data path in the source', () => {
    const parsed = parseYaml('spec:\n  steps:\n    - name: a\n      run: x\n', options);
    expect(parsed.locate(['spec', 'steps', 0, 'run'])).toBe(' (line 4, column 12)');
    expect(parsed.locate(['spec', 'missing', 'deeper'])).toBe(' (line 2, column 3)');
    expect(parsed.locate([])).toBe(' (line 1, column 1)');
  });
});
