/**
 * Harness integrity: once tenant code has run, the harness must touch nothing the tenant can
 * modify (inherited setters and traps, `toJSON`, prototype getters). Each test poisons a
 * built-in the way a tenant can, then calls into the harness, and asserts the exact outcome.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExecutionOutcome, GuestCapabilities } from '@beddel/contracts';
import { IsolateSandbox } from './isolate-sandbox.js';
import { planOf, testLimits } from './test-support/plans.js';

const sandboxes = { fresh: new IsolateSandbox(), frozen: new IsolateSandbox({ realm: 'frozen' }) };
afterAll(() => {
  sandboxes.fresh.close();
  sandboxes.frozen.close();
});

function run(bodies: string | string[], capabilities?: GuestCapabilities): ExecutionOutcome {
  const steps = Array.isArray(bodies) ? bodies : [bodies];
  return sandboxes.fresh.run({ tenantId: 'integrity', plan: planOf(...steps), inputJson: '{}', limits: testLimits, ...(capabilities === undefined ? {} : { capabilities }) });
}

function output(outcome: ExecutionOutcome): unknown {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.message}`);
  return JSON.parse(outcome.outputJson);
}

/** Names a Proxy consults on its handler, plus the fields ToPropertyDescriptor reads. */
const PROXY_TRAPS = [
  'get', 'set', 'has', 'deleteProperty', 'defineProperty', 'getOwnPropertyDescriptor', 'ownKeys',
  'apply', 'construct', 'getPrototypeOf', 'setPrototypeOf', 'isExtensible', 'preventExtensions',
];
const DESCRIPTOR_FIELDS = ['value', 'writable', 'enumerable', 'configurable', 'get', 'set'];

describe('inherited Proxy traps never reach the harness handlers (vm2 regression class)', () => {
  it.each(PROXY_TRAPS)('Object.prototype.%s does not receive the native Date or ArrayBuffer', (trap) => {
    // The trap forwards to Reflect so everything keeps working; it only keeps what it is given.
    const body = `let leaked = null;
Object.defineProperty(Object.prototype, ${JSON.stringify(trap)}, { __proto__: null, configurable: true, writable: true,
  value: function (target, ...rest) { if (typeof target === 'function' && leaked === null) leaked = target; return Reflect[${JSON.stringify(trap)}](target, ...rest); } });
try { Date.now(); } catch (e) {}
try { new Date(0); } catch (e) {}
try { Date(); } catch (e) {}
try { 'now' in Date; Object.getOwnPropertyDescriptor(Date, 'now'); Reflect.ownKeys(Date); } catch (e) {}
try { Date.planted = 1; delete Date.planted; Object.defineProperty(Date, 'planted', { __proto__: null, value: 1, configurable: true }); } catch (e) {}
try { Object.getPrototypeOf(Date); Object.isExtensible(Date); Object.setPrototypeOf(Date, Object.getPrototypeOf(Date)); } catch (e) {}
try { new ArrayBuffer(8); 'isView' in ArrayBuffer; Reflect.ownKeys(ArrayBuffer); ArrayBuffer.isView(1); } catch (e) {}
delete Object.prototype[${JSON.stringify(trap)}];
if (leaked === null) return { leaked: null };
// The native Date constructor reads the real clock, with no clock grant.
return { leaked: leaked.name, clock: typeof Reflect.construct(leaked, []).getTime() };`;
    expect(output(run(body))).toEqual({ leaked: null });
  });

  it.each([...new Set([...PROXY_TRAPS, ...DESCRIPTOR_FIELDS])])('with Object.prototype.%s poisoned, a denial is still BEDDEL_CAPABILITY_DENIED', (name) => {
    const body = `Object.defineProperty(Object.prototype, ${JSON.stringify(name)}, { __proto__: null, configurable: true, writable: true, value: function () {} });
return Date.now();`;
    expect(run(body)).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED', step: 's0' } });
  });

  it('Date() builds its string without calling a tenant Date.prototype.toString', () => {
    const text = output(run('Date.prototype.toString = function () { return "forged"; }; return Date();', { clock: { resolutionMs: 1000 } }));
    expect(text).toMatch(/^[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{4} \d{2}:\d{2}:\d{2} GMT/);
  });
});

describe('captured logs never pass through tenant code', () => {
  const grant: GuestCapabilities = { log: { maxLines: 5, maxBytes: 200 } };

  it('an index setter on Array.prototype never receives the log store', () => {
    const body = `let stolen = null;
Object.defineProperty(Array.prototype, '0', { __proto__: null, configurable: true, set(value) {
  stolen = this;
  Object.defineProperty(this, '0', { __proto__: null, value, writable: true, enumerable: true, configurable: true });
} });
beddel.log('first');
delete Array.prototype[0];
if (stolen !== null) for (let i = 0; i < 4000; i++) stolen.push('x'.repeat(1000));
return stolen === null ? 'nothing stolen' : 'stole the log store';`;
    const outcome = run(body, grant);
    expect(outcome).toMatchObject({ ok: true, outputJson: '"nothing stolen"', logs: ['first'] });
  });

  it('log.maxBytes counts UTF-8 bytes, not UTF-16 code units', () => {
    // 'é' is 2 bytes, '😀' is 4 (2 code units), a lone surrogate is written as U+FFFD (3 bytes).
    expect(run('beddel.log("\\u00e9".repeat(100)); return 1;', grant).logs).toEqual(['é'.repeat(100)]);
    expect(run('beddel.log("\\u00e9".repeat(101)); return 1;', grant).logs).toEqual(['[beddel: log truncated at 5 lines / 200 bytes]']);
    expect(run('beddel.log("\\u{1F600}".repeat(50)); return 1;', grant).logs).toEqual(['😀'.repeat(50)]);
    expect(run('beddel.log("\\u{1F600}".repeat(51)); return 1;', grant).logs).toEqual(['[beddel: log truncated at 5 lines / 200 bytes]']);
    expect(run('beddel.log("\\ud800".repeat(66)); beddel.log("\\ud800".repeat(1)); return 1;', grant).logs).toEqual([
      '\ud800'.repeat(66),
      '[beddel: log truncated at 5 lines / 200 bytes]',
    ]);
    // The budget is shared by all lines of the execution.
    expect(run('beddel.log("\\u00e9".repeat(60)); beddel.log("\\u00e9".repeat(41)); return 1;', grant).logs).toEqual([
      'é'.repeat(60),
      '[beddel: log truncated at 5 lines / 200 bytes]',
    ]);
  });

  it('the host receives at most maxBytes of log text in UTF-8', () => {
    const outcome = run('for (let i = 0; i < 100; i++) beddel.log("\\u20ac".repeat(30)); return 1;', grant);
    const kept = (outcome.logs ?? []).slice(0, -1);
    expect(kept.reduce((sum, line) => sum + Buffer.byteLength(line, 'utf8'), 0)).toBeLessThanOrEqual(200);
    expect(kept).toEqual(['€'.repeat(30), '€'.repeat(30)]);
  });
});

describe('error records are built without toJSON (the tenant cannot choose the blamed step or the code)', () => {
  it('Object.prototype.toJSON does not move the blame to another step or rewrite the message', () => {
    const outcome = run(['return 1;', 'Object.prototype.toJSON = function () { return { i: 0, m: "blamed s0" }; }; throw new Error("real");']);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_RUNTIME_ERROR', step: 's1', message: 'Error: real' } });
  });

  it('Object.prototype.toJSON does not turn a capability denial into a host SyntaxError', () => {
    const outcome = run(['return 1;', 'Object.prototype.toJSON = () => undefined; return Date.now();']);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED', step: 's1' } });
    expect(run(['return 1;', 'Object.prototype.toJSON = () => ({ i: 0, c: "secrets" }); return Date.now();'])).toMatchObject({
      ok: false,
      error: { code: 'BEDDEL_CAPABILITY_DENIED', step: 's1', message: expect.stringContaining('"clock"') as unknown },
    });
  });

  it('Object.prototype.toJSON does not change which step returned a thenable', () => {
    const outcome = run(['return 1;', 'Object.prototype.toJSON = () => ({ i: 0 }); return { then() {} };']);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_RUNTIME_ERROR', step: 's1', message: expect.stringMatching(/promise or thenable/) as unknown } });
  });

  it('Object.prototype.toJSON does not rewrite the serialisation error', () => {
    const body = `Object.prototype.toJSON = function () { return 'm' in this && !('o' in this) ? { m: 'forged' } : this; };
const o = {}; o.o = o; return o;`;
    const outcome = run(body);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_OUTPUT_INVALID' } });
    if (!outcome.ok) expect(outcome.error.message).toMatch(/circular/i);
  });
});

describe('the guest SHA-256 reads no prototype getter', () => {
  it.each([
    ['length returns 0', 'get() { return 0; }'],
    ['length returns a huge number', 'get() { return 2 ** 30; }'],
  ])('a redefined %TypedArray%.prototype.length (%s) changes nothing', (_what, getter) => {
    const body = `Object.defineProperty(Object.getPrototypeOf(Int32Array.prototype), 'length', { __proto__: null, configurable: true, ${getter} });
return [beddel.sha256('abc'), beddel.sha256('x'.repeat(200))];`;
    const expected = ['abc', 'x'.repeat(200)].map((text) => createHash('sha256').update(text, 'utf8').digest('hex'));
    expect(output(run(body, { hash: true }))).toEqual(expected);
  });
});

describe('every harness entry point works the same with the built-ins it could consult poisoned', () => {
  // Each poison counts that it ran and misbehaves; the harness must call none of them. The poisoning
  // itself avoids every poisoned path (index loops, captured Reflect.defineProperty, string counters).
  const POISON = `let hitCount = 0;
let hitNames = '';
const hit = (name) => { hitCount += 1; hitNames += name + ' '; };
const define = Reflect.defineProperty;
const poison = (name) => function () { hit(name); return undefined; };
const methods = [
  [Array.prototype, 'push'], [Array.prototype, 'join'], [Array.prototype, 'slice'], [Array.prototype, 'map'],
  [Function.prototype, 'call'], [Function.prototype, 'apply'], [Function.prototype, 'bind'],
  [Map.prototype, 'get'], [Map.prototype, 'set'], [Map.prototype, 'has'], [WeakMap.prototype, 'get'], [WeakMap.prototype, 'set'],
  [String.prototype, 'charCodeAt'], [String.prototype, 'slice'], [String.prototype, 'toString'], [Number.prototype, 'toString'],
  [Object.prototype, 'toString'], [Object.prototype, 'valueOf'], [Object.prototype, 'hasOwnProperty'], [Object.prototype, 'toJSON'],
  [Date.prototype, 'toString'], [RegExp.prototype, 'exec'], [Reflect, 'construct'], [Reflect, 'apply'],
  [Object, 'defineProperty'], [Object, 'create'], [Object, 'freeze'], [Object, 'assign'], [JSON, 'stringify'],
  [Array.prototype, Symbol.iterator],
];
for (let i = 0; i < methods.length; i++) {
  const key = methods[i][1];
  define(methods[i][0], key, { __proto__: null, value: poison(typeof key === 'symbol' ? 'iterator' : key), writable: true, configurable: true });
}
const accessors = ['0', '1', 'length', 'get', 'set', 'value', 'then', 'resolutionMs', 'maxBytes'];
for (let i = 0; i < accessors.length; i++) {
  const key = accessors[i];
  define(Object.prototype, key, { __proto__: null, configurable: true, get() { hit('get ' + key); return undefined; }, set(_v) { hit('set ' + key); } });
}
`;
  const grants: GuestCapabilities = { clock: { resolutionMs: 1000 }, hash: true, log: { maxLines: 5, maxBytes: 100 }, secrets: { KEY: 'value' } };

  it('clock, hash, secrets, log, Symbol.for, JSON.parse, RegExp and the code-generation refusal', () => {
    // The step reports through one string it builds by hand: its own Array and JSON methods are poisoned too.
    const body = `${POISON}
let report = '';
const add = (value) => { report += (value === true ? 'T' : value === false ? 'F' : value) + ','; };
const denied = (f) => { try { f(); return 'no error'; } catch (e) { return e instanceof Error ? e.name : 'odd'; } };
add(typeof Date.now() === 'number' && Date.now() % 1000 === 0); add(new Date(0).getTime() === 0); add(typeof Date() === 'string');
add(beddel.sha256('abc') === ${JSON.stringify(createHash('sha256').update('abc').digest('hex'))});
add(beddel.secret('KEY') === 'value'); add(denied(() => beddel.secret('OTHER')));
beddel.log('line one');
add(Symbol.for('k') === Symbol.for('k')); add(Symbol.keyFor(Symbol.for('k')) === 'k');
add(JSON.parse('{"a":[1]}').a[0] === 1); add(denied(() => eval('1'))); add(denied(() => new RegExp('x'.repeat(5000)))); add(new RegExp('a').source === 'a');
return report + '|' + hitCount + '|' + hitNames;`;
    const outcome = run(body, grants);
    expect(outcome).toMatchObject({ ok: true, logs: ['line one'] });
    if (outcome.ok) expect(JSON.parse(outcome.outputJson)).toBe('T,T,T,T,T,CapabilityDenied,T,T,T,CapabilityDenied,RangeError,T,|0|');
  });

  it('an uncaught denial, a thrown error and a refused eval are still reported exactly', () => {
    expect(run(`${POISON} return Math.random();`)).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED', step: 's0' } });
    expect(run(['return 1;', `${POISON} throw new TypeError('real');`])).toMatchObject({ ok: false, error: { code: 'BEDDEL_RUNTIME_ERROR', step: 's1', message: 'TypeError: real' } });
    expect(run(`${POISON} return eval('1');`)).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED', step: 's0' } });
  });
});

describe('the frozen realm keeps the harness working', () => {
  it('denials, logs and hashes behave the same in a reused locked-down context', () => {
    const plan = planOf('beddel.log("é".repeat(Number(input.n))); return beddel.sha256("abc");');
    const request = (n: number) => sandboxes.frozen.run({ tenantId: 'integrity-frozen', plan, inputJson: JSON.stringify({ n }), limits: testLimits, capabilities: { log: { maxLines: 5, maxBytes: 200 }, hash: true } });
    expect(request(100)).toMatchObject({ ok: true, logs: ['é'.repeat(100)] });
    expect(request(101)).toMatchObject({ ok: true, logs: ['[beddel: log truncated at 5 lines / 200 bytes]'] });
    expect(request(1)).toMatchObject({ ok: true, outputJson: JSON.stringify(createHash('sha256').update('abc').digest('hex')), logs: ['é'] });
  });
});
