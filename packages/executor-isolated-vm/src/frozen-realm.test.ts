/**
 * The frozen-realm mode reuses one locked-down context per tenant + transformation. Its promise:
 * nothing set by one execution is visible to the next. Each test here tries a way to carry state
 * over and asserts the exact outcome; the default `fresh` mode is covered by isolation.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ExecutionOutcome, GuestCapabilities } from '@beddel/contracts';
import { IsolateSandbox } from './isolate-sandbox.js';
import { planOf, testLimits } from './test-support/plans.js';

const sandbox = new IsolateSandbox({ realm: 'frozen' });
afterAll(() => sandbox.close());

/** One plan per test: plant then probe run in the same reused context (plan = its steps). */
function reused(tenantId: string, ...bodies: string[]) {
  // The step picks its behaviour from input.phase, so both phases share one plan and one context.
  const plan = planOf(...bodies);
  return (phase: string, input: Record<string, unknown> = {}, capabilities?: GuestCapabilities): ExecutionOutcome =>
    sandbox.run({ tenantId, plan, inputJson: JSON.stringify({ ...input, phase }), limits: testLimits, ...(capabilities === undefined ? {} : { capabilities }) });
}

function output(outcome: ExecutionOutcome): unknown {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.message}`);
  return JSON.parse(outcome.outputJson);
}

describe('frozen realm: executions share a context but no state', () => {
  it('runs transformations correctly, again and again', () => {
    const run = reused('t-basic', 'return input.items.reduce((s, i) => s + i.qty * i.price, 0);', 'return { total: steps.s0, phase: input.phase };');
    for (let i = 1; i <= 20; i++) expect(output(run(`p${i}`, { items: [{ qty: i, price: 2 }] }))).toEqual({ total: 2 * i, phase: `p${i}` });
  });

  it.each([
    ['a global property', 'globalThis.planted = input.secret;', 'return typeof globalThis.planted;', 'undefined'],
    ['Object.prototype', 'Object.prototype.planted = input.secret;', 'return ({}).planted === undefined ? "undefined" : "leaked";', 'undefined'],
    ['Array.prototype.push', 'Array.prototype.push = () => "hijacked";', 'const a = []; return String(a.push(1));', '1'],
    ['JSON.parse', 'JSON.parse = () => "forged";', 'return JSON.parse("\\"real\\"");', 'real'],
    ['Function.prototype.toString', 'Function.prototype.toString = () => "forged";', 'return (function f() {}).toString().startsWith("function f") ? "intact" : "forged";', 'intact'],
    ['the generator prototype (reachable through syntax only)', 'Object.getPrototypeOf(function* () {}).planted = input.secret;', 'return typeof Object.getPrototypeOf(function* () {}).planted;', 'undefined'],
    ['the array iterator prototype', 'Object.getPrototypeOf([][Symbol.iterator]()).planted = input.secret;', 'return typeof Object.getPrototypeOf([][Symbol.iterator]()).planted;', 'undefined'],
    ['the TypedArray prototype', 'Object.getPrototypeOf(Uint8Array.prototype).planted = input.secret;', 'return typeof Object.getPrototypeOf(Uint8Array.prototype).planted;', 'undefined'],
    ['Error.prepareStackTrace', 'Error.prepareStackTrace = () => input.secret;', 'return typeof Error.prepareStackTrace;', 'undefined'],
    ['Error.stackTraceLimit', 'Error.stackTraceLimit = 0;', 'return Error.stackTraceLimit === 0 ? "changed" : "undefined";', 'undefined'],
    ['the beddel capability object', 'beddel.extra = input.secret;', 'return typeof beddel.extra;', 'undefined'],
    ['Date', 'Date.planted = input.secret;', 'return typeof Date.planted;', 'undefined'],
  ])('%s', (_what, plant, probe, expected) => {
    const run = reused(`t-${_what.replace(/[^a-z]/gi, '')}`, `if (input.phase === 'plant') { ${plant} return 'planted'; } ${probe}`);
    const planted = run('plant', { secret: 's3cr3t' });
    // Planting is refused (a frozen object throws in strict mode) or, where it could run, invisible.
    if (!planted.ok) expect(planted.error.code).toBe('BEDDEL_RUNTIME_ERROR');
    expect(output(run('probe'))).toBe(expected);
  });

  it.each([
    ['a global var', '(0, eval)("var plantedVar = 1");', 'return typeof plantedVar;'],
    ['a global lexical binding', '(0, eval)("let plantedLet = 1");', 'return typeof plantedLet;'],
    ['a global function', '(0, eval)("function plantedFn() { return 1; }");', 'return typeof plantedFn;'],
  ])('%s through indirect eval: refused (no code generation from strings, ADR 0005)', (_what, plant, probe) => {
    const run = reused(`t-eval-${_what.replace(/[^a-z]/gi, '')}`, `if (input.phase === 'plant') { ${plant} return 'planted'; } ${probe}`);
    expect(run('plant', { secret: 's3cr3t' })).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED' } });
    expect(output(run('probe'))).toBe('undefined');
  });

  it('prototypes reachable only through instances are frozen too (Intl.Segmenter segments, iterators)', () => {
    const run = reused('t-segmenter', `const segments = new Intl.Segmenter('en').segment('a b');
      const P = Object.getPrototypeOf(segments);
      const I = Object.getPrototypeOf(segments[Symbol.iterator]());
      if (input.phase === 'plant') { P.stash = input.secret; I.stash = input.secret; return 'planted'; }
      return [typeof P.stash, typeof I.stash, [...new Intl.Segmenter('en').segment('ok')].map((s) => s.segment).join('')];`);
    const planted = run('plant', { secret: 's3cr3t' });
    if (!planted.ok) expect(planted.error.code).toBe('BEDDEL_RUNTIME_ERROR');
    expect(output(run('probe'))).toEqual(['undefined', 'undefined', 'ok']);
  });

  it('every prototype of every built-in instance and iterator a step can make is frozen', () => {
    const run = reused('t-all-prototypes', `const samples = [
        [].values(), new Map().values(), new Set().values(), ''[Symbol.iterator](), /a/g[Symbol.matchAll]('a'),
        new Intl.Segmenter('en').segment('a'), new Intl.Segmenter('en').segment('a')[Symbol.iterator](),
        // A generator's own prototype object belongs to its (per-execution) function; the shared
        // ones are %GeneratorPrototype% and %AsyncGeneratorPrototype%, checked through these:
        Object.create(Object.getPrototypeOf(function* () {}).prototype),
        Object.create(Object.getPrototypeOf(async function* () {}).prototype),
        (async function () {})(), new Proxy({}, {}),
        Promise.resolve(), new Error('x'), /x/, new Date(0), new Map(), new Set(), new WeakMap(), new WeakSet(),
        new ArrayBuffer(1), new DataView(new ArrayBuffer(1)), new Uint8Array(1), new BigInt64Array(1), Symbol('s'), 1n,
        new Intl.Collator('en'), new Intl.NumberFormat('en'), new Intl.PluralRules('en'), new Intl.ListFormat('en'),
        new Intl.RelativeTimeFormat('en'), new Intl.DisplayNames('en', { type: 'region' }), new Intl.Locale('en'),
        new Intl.DateTimeFormat('en'), arguments, function () {}, () => {}, class {},
      ];
      const unfrozen = [];
      for (const sample of samples) {
        let proto = Object.getPrototypeOf(Object(sample));
        while (proto !== null) {
          if (!Object.isFrozen(proto)) unfrozen.push(Object.prototype.toString.call(proto));
          proto = Object.getPrototypeOf(proto);
        }
      }
      return unfrozen;`);
    expect(output(run('probe'))).toEqual([]);
  });

  it('RegExp match data does not carry over (legacy RegExp statics are removed)', () => {
    const run = reused('t-regexp', `if (input.phase === 'plant') { /(secret-\\d+)/.exec(input.text); return 'matched'; }
      return [typeof RegExp.$1, typeof RegExp.lastMatch, typeof RegExp.input, typeof RegExp.leftContext];`);
    expect(output(run('plant', { text: 'the secret-42 here' }))).toBe('matched');
    expect(output(run('probe'))).toEqual(['undefined', 'undefined', 'undefined', 'undefined']);
  });

  it('captured log lines and capability grants belong to one execution', () => {
    const run = reused('t-caps', `beddel.log('phase ' + input.phase); return typeof beddel.sha256 === 'function' ? beddel.sha256('x').length : 0;`);
    const first = run('one', {}, { log: { maxLines: 5, maxBytes: 100 }, hash: true });
    expect(first).toMatchObject({ ok: true, outputJson: '64', logs: ['phase one'] });
    const second = run('two', {}, { log: { maxLines: 5, maxBytes: 100 }, hash: true });
    expect(second).toMatchObject({ ok: true, logs: ['phase two'] });
    expect(run('three', {}, { log: { maxLines: 5, maxBytes: 100 } })).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED' } });
  });

  it('a truncated log does not stay truncated for the next execution', () => {
    const run = reused('t-log-trunc', `for (let i = 0; i < Number(input.n); i++) beddel.log('line ' + i); return 1;`);
    expect(run('flood', { n: 10 }, { log: { maxLines: 2, maxBytes: 1000 } }).logs).toHaveLength(3);
    expect(run('calm', { n: 1 }, { log: { maxLines: 2, maxBytes: 1000 } }).logs).toEqual(['line 0']);
  });

  it('different transformations of a tenant get different contexts; other tenants other isolates', () => {
    const a = reused('t-multi', 'return typeof input.phase;');
    const b = reused('t-multi', 'return input.phase + "!";');
    expect(output(a('x'))).toBe('string');
    expect(output(b('x'))).toBe('x!');
    expect(output(reused('t-other', 'return 1;')('x'))).toBe(1);
  });

  it('a timeout recycles the isolate, and the next execution runs in a fresh locked-down context', () => {
    const run = reused('t-timeout', `if (input.phase === 'loop') while (true) {} return 'fine';`);
    expect(run('loop')).toMatchObject({ ok: false, error: { code: 'BEDDEL_TIMEOUT' } });
    expect(output(run('after'))).toBe('fine');
  });

  it('reusing the context takes context creation off every execution: heap per execution stays small', () => {
    const run = reused('t-heap', 'return { n: input.n };');
    // Warm past V8's baseline-JIT tier-up of the reused functions (~16th run): after the pool's
    // garbage collection (retained-memory baseline) it needs a new code page, ~0.5 MB, once.
    for (let n = 0; n < 30; n++) run('warm', { n });
    const heaps = Array.from({ length: 20 }, (_, n) => run('x', { n }).metrics.heapBytes);
    expect(Math.max(...heaps)).toBeLessThan(64 * 1024);
  });
});

describe('frozen realm in supervised workers', () => {
  it('is passed to the worker processes', async () => {
    const { IsolatedVmExecutor } = await import('./isolated-vm-executor.js');
    const executor = new IsolatedVmExecutor({ workers: 1, realm: 'frozen' });
    await executor.start();
    const plan = planOf(`if (input.phase === 'plant') { globalThis.x = 1; } return typeof globalThis.x;`);
    const request = (phase: string) => ({ executionId: phase, tenantId: 'sup', plan, inputJson: JSON.stringify({ phase }), limits: testLimits });
    expect(await executor.execute(request('plant'))).toMatchObject({ ok: false, error: { code: 'BEDDEL_RUNTIME_ERROR' } });
    expect(await executor.execute(request('probe'))).toMatchObject({ ok: true, outputJson: '"undefined"' });
    await executor.close();
  });
});
