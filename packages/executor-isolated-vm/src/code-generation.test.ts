/**
 * CPU the timeout cannot interrupt: V8 parses and compiles a string of code, a JSON text or a
 * regular expression source in one uninterruptible step, so a huge one runs past isolated-vm's
 * timeout until the supervisor's deadline. Code generation from strings is refused in the guest
 * realm (ADR 0005); JSON.parse and dynamic regular expressions take bounded text.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ExecutionLimits, ExecutionOutcome } from '@beddel/contracts';
import { IsolateSandbox } from './isolate-sandbox.js';
import { planOf, testLimits } from './test-support/plans.js';

const sandboxes = { fresh: new IsolateSandbox(), frozen: new IsolateSandbox({ realm: 'frozen' }) };
afterAll(() => {
  sandboxes.fresh.close();
  sandboxes.frozen.close();
});
type Realm = keyof typeof sandboxes;

function run(body: string, realm: Realm = 'fresh', limits: ExecutionLimits = testLimits, input: unknown = { a: 1 }): ExecutionOutcome {
  return sandboxes[realm].run({ tenantId: `codegen-${realm}`, plan: planOf(body), inputJson: JSON.stringify(input), limits });
}

function output(outcome: ExecutionOutcome): unknown {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.message}`);
  return JSON.parse(outcome.outputJson);
}

const CODE_GENERATION_ROUTES = [
  'eval("1")',
  '(0, eval)("1")',
  'globalThis.eval("1")',
  'new Function("return 1")',
  'Function("return 1")',
  'Function()',
  '(function () {}).constructor("return 1")',
  '(() => {}).constructor("return 1")',
  '(class {}).constructor("return 1")',
  '[].constructor.constructor("return 1")',
  'input.constructor.constructor("return 1")',
  'Function.prototype.constructor("return 1")',
  'Object.getOwnPropertyDescriptor(Function.prototype, "constructor").value("return 1")',
  'Object.getPrototypeOf(async function () {}).constructor("return 1")',
  '(async () => {}).constructor("return 1")',
  'Object.getPrototypeOf(function* () {}).constructor("yield 1")',
  'Object.getPrototypeOf(async function* () {}).constructor("yield 1")',
  // %AsyncFunction%'s own [[Prototype]] is %Function%.
  'Object.getPrototypeOf(Object.getPrototypeOf(async function () {}).constructor)("return 1")',
  'Object.getPrototypeOf(Object.getPrototypeOf(function* () {}).constructor)("return 1")',
  'Reflect.construct(Function, ["return 1"])',
  'Reflect.apply(Function, undefined, ["return 1"])',
  'Function.call(undefined, "return 1")',
  'Function.bind(undefined, "return 1")()',
  '(() => { class Sub extends Function {} return new Sub("return 1"); })()',
];

describe('code generation from strings is refused in the guest realm', () => {
  describe.each(['fresh', 'frozen'] as const)('%s realm', (realm) => {
    it.each(CODE_GENERATION_ROUTES)('%s', (route) => {
      const outcome = run(`return ${route};`, realm);
      expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED', step: 's0' } });
      if (!outcome.ok) expect(outcome.error.message).toMatch(/generat(e|ing) code from a string/);
    });
  });

  it('a refused route caught by the step reads as a denial, and the step goes on', () => {
    expect(output(run('try { eval("1"); } catch (e) { return [e.name, e instanceof Error]; }'))).toEqual(['CapabilityDenied', true]);
  });

  it('everything else about functions keeps working', () => {
    const body = `const results = [
  (function () {}) instanceof Function, (async () => {}) instanceof Function, (function* () {}) instanceof Function,
  (async function* () {}) instanceof Function, typeof Function, Function.name, Function.length,
  Function.prototype === Object.getPrototypeOf(() => {}), (function () {}).constructor === Function,
  Object.getPrototypeOf(async function () {}).constructor.name, Object.getPrototypeOf(function* () {}).constructor.name,
  Object.getPrototypeOf(async function* () {}).constructor.name,
  Object.getPrototypeOf(Object.getPrototypeOf(async function () {}).constructor) === Function,
  Math.max.call(null, 1, 2), Math.max.apply(null, [3, 4]), Math.max.bind(null, 5)(6), (function () { return 7; }).toString().includes('7'),
  eval(42), eval({ plain: 1 }).plain,
];
class Sub extends Function {}
results.push(typeof Sub);
return results;`;
    expect(output(run(body))).toEqual([true, true, true, true, 'function', 'Function', 1, true, true, 'AsyncFunction', 'GeneratorFunction', 'AsyncGeneratorFunction', true, 2, 4, 6, true, 42, 1, 'function']);
  });

  it('dynamic import() loads and runs nothing (isolated-vm has no module loader for guest code)', () => {
    const started = performance.now();
    expect(run('import("data:text/javascript,while (true) {}").catch(() => {}); return 1;')).toMatchObject({ ok: true, outputJson: '1' });
    expect(performance.now() - started).toBeLessThan(testLimits.timeoutMs);
    expect(run('import("data:text/javascript,1"); return 1;')).toMatchObject({ ok: false, error: { code: 'BEDDEL_RUNTIME_ERROR', message: 'Not supported' } });
  });

  it('a huge string of code fails at once instead of compiling past the timeout', () => {
    // Unrefused, new Function over 16 MB of code compiles for ~1.2 s here, uninterruptibly.
    const limits = { ...testLimits, timeoutMs: 100, memoryLimitMb: 64 };
    const started = performance.now();
    const outcome = run('const code = "1;".repeat(8e6); return new Function(code);', 'fresh', limits);
    const elapsed = performance.now() - started;
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED' } });
    expect(elapsed).toBeLessThan(400);
  });
});

describe('JSON.parse takes bounded text', () => {
  const limits = { ...testLimits, timeoutMs: 100, memoryLimitMb: 128 };

  it('a huge JSON text fails at once instead of parsing past the timeout', () => {
    // 31 MB of one object with a repeated key: ~0.85 s of uninterruptible parsing here, little memory.
    const started = performance.now();
    const outcome = run(`const text = "{" + '"a":1,'.repeat(5.2e6) + '"a":1}'; return Object.keys(JSON.parse(text)).length;`, 'fresh', limits);
    const elapsed = performance.now() - started;
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_RUNTIME_ERROR', message: expect.stringMatching(/^RangeError: JSON\.parse accepts at most 1048576 characters/) as unknown } });
    expect(elapsed).toBeLessThan(400);
  });

  it('the cap is the larger of 1 MiB and the execution input, counted after ToString', () => {
    expect(output(run('return JSON.parse(" ".repeat(1048574) + "1");', 'fresh', limits))).toBe(1);
    expect(run('return JSON.parse({ toString() { return " ".repeat(1048576) + "1"; } });', 'fresh', limits)).toMatchObject({ ok: false, error: { code: 'BEDDEL_RUNTIME_ERROR' } });
    // Text as large as the input itself (which the harness parsed already) is accepted.
    const blob = 'x'.repeat(1_200_000);
    const roomy = { ...limits, maxInputBytes: 4 * 1024 * 1024 };
    expect(output(run('return JSON.parse(JSON.stringify(input.blob)).length;', 'fresh', roomy, { blob }))).toBe(blob.length);
  });

  it('JSON.parse keeps its behaviour: revivers, errors, name and length', () => {
    const body = `let error;
try { JSON.parse('{bad'); } catch (e) { error = e.name; }
return [JSON.parse('{"a":[1,2]}', (k, v) => (typeof v === 'number' ? v * 10 : v)), JSON.parse(1), error, JSON.parse.name, JSON.parse.length];`;
    expect(output(run(body))).toEqual([{ a: [10, 20] }, 1, 'SyntaxError', 'parse', 2]);
  });
});

describe('regular expressions built at run time take bounded sources', () => {
  // Compiling \p{L} classes costs ~13 ms per KiB of source here, uninterruptibly.
  const huge = 'String.raw`\\p{L}`.repeat(20000)';
  const limits = { ...testLimits, timeoutMs: 100, memoryLimitMb: 64 };

  it.each([
    `new RegExp(${huge}, 'u').test('x')`,
    `RegExp(${huge}, 'u').test('x')`,
    `Reflect.construct(RegExp, [${huge}, 'u']).test('x')`,
    `new (/a/.constructor)(${huge}, 'u').test('x')`,
    `new RegExp({ toString: () => ${huge} }, 'u').test('x')`,
    `(() => { class Sub extends RegExp {} return new Sub(${huge}, 'u').test('x'); })()`,
    `/a/u.compile(${huge}, 'u').test('x')`,
    `'x'.match(${huge})`,
    `'x'.match({ toString: () => ${huge} })`,
    `'x'.search(${huge})`,
    `[...'x'.matchAll(${huge})]`,
  ])('%s', (expression) => {
    const started = performance.now();
    const outcome = run(`return ${expression};`, 'fresh', limits);
    const elapsed = performance.now() - started;
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_RUNTIME_ERROR', message: expect.stringMatching(/^RangeError: regular expressions built at run time accept at most 4096 characters/) as unknown } });
    expect(elapsed).toBeLessThan(400);
  });

  it('ordinary regular expressions keep working', () => {
    const body = `class Sub extends RegExp {}
const re = /b/g;
return [
  new RegExp('a+', 'g').test('caat'), RegExp('x').source, new RegExp(/abc/gi).flags, new RegExp(re, 'y').flags,
  'aXbX'.match(/X/g).length, 'abc'.match('b').index, 'abc'.match(null), 'abc'.search('c'), [...'a1b2'.matchAll(/\\d/g)].map((m) => m[0]),
  'a,b;c'.split(/[,;]/), 'abc'.replace(/b/, 'B'), /x/ instanceof RegExp, new Sub('s') instanceof RegExp, new Sub('s') instanceof Sub,
  /a/.constructor === RegExp, typeof RegExp.prototype.exec, new RegExp('a'.repeat(4096)).source.length,
  'aaa'.match({ [Symbol.match]: () => 'custom' }),
];`;
    expect(output(run(body))).toEqual([true, 'x', 'gi', 'y', 2, 1, null, 2, ['1', '2'], ['a', 'b', 'c'], 'aBc', true, true, true, true, 'function', 4096, 'custom']);
  });
});
