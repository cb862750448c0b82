import { describe, expect, it } from 'vitest';
import { deepFreeze, toPlainData } from './plain-data.js';

const limits = { maxJsonChars: 10_000, maxDepth: 8 };

describe('toPlainData', () => {
  it('copies JSON data into fresh plain objects and arrays', () => {
    const source = { a: [1, 'two', true, null, { b: 2.5 }], c: { d: 'e' } };
    const result = toPlainData(source, limits);
    expect(result).toEqual({ ok: true, value: source });
    if (!result.ok) return;
    expect(result.value).not.toBe(source);
    expect(Object.getPrototypeOf(result.value)).toBe(Object.prototype);
  });

  it('accepts objects with a null prototype and drops undefined properties, as JSON does', () => {
    const source = Object.assign(Object.create(null) as object, { a: 1, b: undefined });
    expect(toPlainData(source, limits)).toEqual({ ok: true, value: { a: 1 } });
  });

  it('rejects own __proto__ keys (as JSON.parse creates them) without touching any prototype', () => {
    const source: unknown = JSON.parse('{"a": {"__proto__": {"polluted": true}}}');
    const result = toPlainData(source, limits);
    expect(result).toEqual({ ok: false, problems: [{ path: ['a', '__proto__'], message: 'the key "__proto__" is not allowed' }] });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects values JSON cannot hold, with their paths', () => {
    const source = {
      n: Number.NaN,
      i: [Number.POSITIVE_INFINITY],
      f: () => 1,
      s: Symbol('x'),
      b: 1n,
      d: new Date(0),
      m: new Map(),
      u: [undefined],
      get g() {
        return 1;
      },
    };
    const result = toPlainData(source, limits);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => [p.path.join('.'), p.message])).toEqual([
      ['n', 'must be a finite number (NaN is not JSON)'],
      ['i.0', 'must be a finite number (Infinity is not JSON)'],
      ['f', 'must be JSON data (found a function)'],
      ['s', 'must be JSON data (found a symbol)'],
      ['b', 'must be JSON data (found a bigint)'],
      ['d', 'must be a plain object (found a Date)'],
      ['m', 'must be a plain object (found a Map)'],
      ['u.0', 'must be JSON data (found undefined)'],
      ['g', 'must be a data property, not a getter or setter'],
    ]);
  });

  it('rejects class instances', () => {
    class Point {
      x = 1;
    }
    const result = toPlainData({ p: new Point() }, limits);
    expect(result).toEqual({ ok: false, problems: [{ path: ['p'], message: 'must be a plain object (found an object with a custom prototype)' }] });
  });

  it('rejects cycles', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    const result = toPlainData(cyclic, limits);
    expect(result).toEqual({ ok: false, problems: [{ path: ['self', 'back'], message: 'contains itself (a cyclic reference or recursive alias)' }] });
  });

  it('accepts the same object referenced twice (no cycle) and copies it twice', () => {
    const shared = { x: 1 };
    const result = toPlainData({ a: shared, b: [shared] }, limits);
    expect(result).toEqual({ ok: true, value: { a: { x: 1 }, b: [{ x: 1 }] } });
  });

  it('limits nesting depth', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 9; i++) deep = [deep];
    const result = toPlainData(deep, limits);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems[0]?.message).toBe('is nested too deeply (at most 8 levels)');
    expect(result.problems[0]?.path).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('measures size as JSON characters', () => {
    const value = { ab: 'cd', e: [1, 22] };
    const json = JSON.stringify(value);
    expect(toPlainData(value, { maxJsonChars: json.length, maxDepth: 8 }).ok).toBe(true);
    expect(toPlainData(value, { maxJsonChars: json.length - 1, maxDepth: 8 }).ok).toBe(false);
    const escaped = { s: 'a"\n' };
    expect(toPlainData(escaped, { maxJsonChars: JSON.stringify(escaped).length, maxDepth: 8 }).ok).toBe(true);
    expect(toPlainData(escaped, { maxJsonChars: JSON.stringify(escaped).length - 1, maxDepth: 8 }).ok).toBe(false);
  });

  it('stops early on data that shared references blow up (a billion laughs built from objects)', () => {
    let bomb: unknown = 'lol';
    for (let i = 0; i < 40; i++) bomb = [bomb, bomb];
    const started = Date.now();
    const result = toPlainData(bomb, { maxJsonChars: 100_000, maxDepth: 64 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]?.message).toMatch(/larger than 100000 characters as JSON/);
  });
});

describe('deepFreeze', () => {
  it('freezes nested objects and arrays', () => {
    const value = deepFreeze({ a: { b: [{ c: 1 }] } });
    expect(Object.isFrozen(value)).toBe(true);
    expect(Object.isFrozen(value.a)).toBe(true);
    expect(Object.isFrozen(value.a.b)).toBe(true);
    expect(Object.isFrozen(value.a.b[0])).toBe(true);
  });
});
