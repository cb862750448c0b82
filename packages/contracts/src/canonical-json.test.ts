import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from './canonical-json.js';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], A: { d: 2, c: 1 } })).toBe('{"A":{"c":1,"d":2},"a":[true,null,"x"],"b":1}');
    // RFC 8785 §3.2.3 sorting example: code-unit order, not locale order.
    expect(canonicalJson({ '\u20ac': 1, '\r': 2, '\ud83d\ude00': 3, '1': 4, '\u00f6': 5 })).toBe(
      '{"\\r":2,"1":4,"\u00f6":5,"\u20ac":1,"\ud83d\ude00":3}',
    );
  });

  it('serialises numbers the ECMAScript way', () => {
    expect(canonicalJson([1e21, 1e-7, 0.1 + 0.2, -0, 100])).toBe('[1e+21,1e-7,0.30000000000000004,0,100]');
  });

  it('rejects values a hash could not cover', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalJson(10n)).toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/cyclic/);
  });

  it('allows shared (non-cyclic) references', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });

  it('hashes with SHA-256', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
