/**
 * The isolation suite: tenant code attacking the sandbox. Each test states what the attacker
 * tries and asserts the exact outcome. It runs on the in-process sandbox (same code as in the
 * workers); attacks that can abort a whole process live in supervision.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ExecutionLimits, ExecutionOutcome } from '@beddel/contracts';
import { IsolateSandbox } from './isolate-sandbox.js';
import { planOf, testLimits } from './test-support/plans.js';

const sandbox = new IsolateSandbox();
afterAll(() => sandbox.close());

function run(bodies: string | string[], input: unknown = {}, tenantId = 'attacker', limits: ExecutionLimits = testLimits): ExecutionOutcome {
  const steps = Array.isArray(bodies) ? bodies : [bodies];
  return sandbox.run({ tenantId, plan: planOf(...steps), inputJson: JSON.stringify(input), limits });
}

function output(outcome: ExecutionOutcome): unknown {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.message}`);
  return JSON.parse(outcome.outputJson);
}

function expectFailure(outcome: ExecutionOutcome, code: string, message?: RegExp): void {
  expect(outcome.ok).toBe(false);
  if (outcome.ok) return;
  expect(outcome.error.code).toBe(code);
  if (message !== undefined) expect(outcome.error.message).toMatch(message);
}

/** After any attack, the same tenant must still be served. */
function expectStillServing(tenantId = 'attacker'): void {
  expect(output(run('return input.n + 1', { n: 41 }, tenantId))).toBe(42);
}

describe('host globals are unreachable', () => {
  const hostNames = [
    'require', 'process', 'module', 'exports', 'Buffer', 'fetch', 'setTimeout', 'setInterval', 'setImmediate',
    'clearTimeout', 'queueMicrotask', 'global', 'console', 'SharedArrayBuffer', 'Atomics', 'WebAssembly',
    'FinalizationRegistry', 'WeakRef', '__dirname', '__filename', 'structuredClone', 'XMLHttpRequest', 'performance',
  ];

  it.each(hostNames)('typeof %s is "undefined"', (name) => {
    expect(output(run(`return typeof ${name};`))).toBe('undefined');
  });

  it('the guest global object holds only ECMAScript built-ins', () => {
    const names = output(run('return Object.getOwnPropertyNames(globalThis);')) as string[];
    for (const name of hostNames) expect(names).not.toContain(name);
    expect(names).toContain('JSON');
  });
});

describe('constructor chains to Function reach only the guest realm, whose constructors refuse code', () => {
  // Code generation from strings is refused in the guest realm (ADR 0005; every variant is in
  // code-generation.test.ts), so no chain gets as far as evaluating anything.
  const chains = [
    'return (function () {}).constructor("return typeof process")();',
    'return [].constructor.constructor("return typeof require")();',
    'return input.constructor.constructor("return typeof process")();',
    'return Object.getPrototypeOf(function* () {}).constructor("yield typeof process")().next().value;',
    'return (() => {}).constructor("return this")().process === undefined ? "undefined" : "leak";',
    'return eval("typeof process");',
    'return new Function("return typeof Buffer")();',
  ];
  it.each(chains)('%s', (body) => {
    expectFailure(run(body, { a: 1 }), 'BEDDEL_CAPABILITY_DENIED', /generate code from a string/);
  });

  it('every chain ends at the guest realm\'s own Function', () => {
    const body = `return [(function () {}).constructor, [].constructor.constructor, input.constructor.constructor, (() => {}).constructor,
      Object.getPrototypeOf(Object.getPrototypeOf(function* () {}).constructor)].every((constructor) => constructor === Function);`;
    expect(output(run(body, { a: 1 }))).toBe(true);
  });

  it('`this` in a step is undefined (strict mode), so this.constructor fails', () => {
    expectFailure(run('return this.constructor.constructor("return process")();'), 'BEDDEL_RUNTIME_ERROR', /^TypeError: /);
  });
});

describe('stack trace tricks expose no host frames or objects', () => {
  it('Error.prepareStackTrace sees only guest call sites', () => {
    const body = `
      Error.prepareStackTrace = (error, sites) => sites.map((site) => [
        String(site.getFileName()), typeof site.getThis(), typeof site.getFunction(), String(site.getTypeName()),
      ]);
      const captured = new Error('x').stack;
      return { captured, frames: captured.length };`;
    const result = output(run(body)) as { captured: string[][]; frames: number };
    expect(result.frames).toBeGreaterThan(0);
    const text = JSON.stringify(result.captured);
    expect(text).not.toMatch(/node:|\/work\/|isolated-vm|\.ts|\.js/);
    for (const [fileName = ''] of result.captured) expect(fileName === 'undefined' || fileName.startsWith('beddel:')).toBe(true);
  });

  it('a thrown error reaches the host as a message only, without any stack', () => {
    const outcome = run(['return 1;', 'function deep() { throw new RangeError("deep failure"); } deep();']);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_RUNTIME_ERROR', message: 'RangeError: deep failure', step: 's1' } });
  });

  it('a thrown object with a throwing getter is described safely', () => {
    expectFailure(run('throw { get name() { throw new Error("no"); } };'), 'BEDDEL_RUNTIME_ERROR', /^a value was thrown that cannot be described$/);
  });

  it('a thrown object with a looping getter is stopped by the guest timeout', () => {
    expectFailure(run('throw { get message() { while (true) {} } };'), 'BEDDEL_TIMEOUT');
    expectStillServing();
  });

  it('a thrown primitive is reported', () => {
    expectFailure(run('throw 42;'), 'BEDDEL_RUNTIME_ERROR', /^a non-Error value was thrown: 42$/);
  });
});

describe('resource exhaustion ends the execution, not the sandbox', () => {
  it('stack overflow', () => {
    expectFailure(run('function r() { return r(); } return r();'), 'BEDDEL_RUNTIME_ERROR', /Maximum call stack size exceeded/);
    expectStillServing();
  });

  it('infinite loop', () => {
    const started = performance.now();
    expectFailure(run('while (true) {}'), 'BEDDEL_TIMEOUT');
    expect(performance.now() - started).toBeLessThan(testLimits.timeoutMs + 1000);
    expectStillServing();
  });

  it('infinite microtask chain after the step returned', () => {
    expectFailure(run('const spin = () => { Promise.resolve().then(spin); }; spin(); return 1;'), 'BEDDEL_TIMEOUT');
    expectStillServing();
  });

  it('a never-settling promise is refused at once', () => {
    expectFailure(run('return new Promise(() => {});'), 'BEDDEL_RUNTIME_ERROR', /promise or thenable/);
  });

  it('a thenable is never resolved by the host', () => {
    expectFailure(run('return { then(resolve) { resolve(1); } };'), 'BEDDEL_RUNTIME_ERROR', /promise or thenable/);
  });

  it('memory bomb hits the isolate limit and the tenant gets a fresh isolate', () => {
    // A generous timeout, so the memory limit (not the clock) is what stops it.
    const roomy = { ...testLimits, timeoutMs: 10_000 };
    expectFailure(run('const a = []; while (true) a.push({ i: a.length, s: "xxxxxxxx" + a.length });', {}, 'attacker', roomy), 'BEDDEL_MEMORY_LIMIT');
    expectStillServing();
  });

  it('one huge ArrayBuffer is refused', () => {
    expectFailure(run('return new ArrayBuffer(2 ** 30).byteLength;'), 'BEDDEL_MEMORY_LIMIT', /Array buffer allocation failed/);
    expectStillServing();
  });

  it('string doubling hits the maximum string length', () => {
    expectFailure(run('let s = "x"; while (true) s += s;'), 'BEDDEL_MEMORY_LIMIT', /Invalid string length/);
  });

  it('resizable ArrayBuffers (uncounted by memoryLimit) are refused, even through the prototype chain', () => {
    expectFailure(run('return new ArrayBuffer(8, { maxByteLength: 2 ** 30 }).byteLength;'), 'BEDDEL_RUNTIME_ERROR', /Resizable ArrayBuffers are not available/);
    expectFailure(
      run('const C = new Uint8Array(1).buffer.constructor; return Reflect.construct(C, [8, { maxByteLength: 2 ** 30 }]).resizable;'),
      'BEDDEL_RUNTIME_ERROR',
      /Resizable ArrayBuffers are not available/,
    );
    expect(output(run('return typeof ArrayBuffer.prototype.resize;'))).toBe('undefined');
    expect(output(run('return new ArrayBuffer(16).byteLength;'))).toBe(16);
    expect(output(run('class Mine extends ArrayBuffer {} return new Mine(4) instanceof ArrayBuffer;'))).toBe(true);
  });

  it('output over the cap is refused before it is copied out', () => {
    expectFailure(run('return "x".repeat(100000);'), 'BEDDEL_OUTPUT_TOO_LARGE');
  });

  it('output over the cap in UTF-8 bytes (multi-byte characters) is refused by the host check', () => {
    // 40,000 characters but 80,000 UTF-8 bytes: passes the guest's length check, fails the host's.
    expectFailure(run('return "\\u00e9".repeat(40000);'), 'BEDDEL_OUTPUT_TOO_LARGE', /80002 bytes/);
  });
});

describe('the host does not trust error text from the guest (security review)', () => {
  it('an unhandled rejection that claims a timeout is not reported as BEDDEL_TIMEOUT', () => {
    const outcome = run('Promise.reject(new Error("Script execution timed out.")); return 1;');
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_RUNTIME_ERROR' } });
  });

  it('an unhandled rejection that claims disposal is not reported as BEDDEL_MEMORY_LIMIT', () => {
    const outcome = run('Promise.reject(new Error("Isolate was disposed during execution due to memory limit")); return 1;');
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_RUNTIME_ERROR' } });
    expectStillServing();
  });
});

describe('outputs are copied as JSON, never handed over as objects', () => {
  it('a Proxy whose traps throw fails in the guest, on the thenable check', () => {
    expectFailure(run('return new Proxy({}, { get() { throw new Error("trap ran"); } });'), 'BEDDEL_RUNTIME_ERROR', /trap ran/);
  });

  it('a Proxy whose traps throw during serialisation is refused as not serialisable', () => {
    expectFailure(
      run('return new Proxy({}, { get(target, key) { if (key === "then") return undefined; throw new Error("trap ran"); } });'),
      'BEDDEL_OUTPUT_INVALID',
      /trap ran/,
    );
  });

  it('a Proxy whose traps loop times out inside the guest', () => {
    expectFailure(run('return new Proxy({}, { ownKeys() { while (true) {} } });'), 'BEDDEL_TIMEOUT');
  });

  it('getters and toJSON run in the guest and only their JSON crosses', () => {
    expect(output(run('return { get a() { return 1; }, b: { toJSON() { return "b"; } }, f() {}, u: undefined };'))).toEqual({ a: 1, b: 'b' });
  });

  it('cyclic and BigInt outputs are refused with BEDDEL_OUTPUT_INVALID', () => {
    expectFailure(run('const o = {}; o.o = o; return o;'), 'BEDDEL_OUTPUT_INVALID', /not JSON-serialisable/);
    expectFailure(run('return 10n;'), 'BEDDEL_OUTPUT_INVALID');
  });

  it('undefined becomes null', () => {
    expect(output(run('return undefined;'))).toBeNull();
  });
});

describe('__proto__ payloads do not pollute anything', () => {
  it('input with __proto__ stays an own property inside the guest', () => {
    const input: unknown = JSON.parse('{"__proto__": {"polluted": "yes"}, "a": 1}');
    const result = output(run('return { viaInput: input.polluted === undefined, fresh: ({}).polluted === undefined, own: Object.keys(input) };', input));
    expect(result).toEqual({ viaInput: true, fresh: true, own: ['__proto__', 'a'] });
  });

  it('output with __proto__ is returned as JSON text and pollutes nothing on the host', () => {
    const outcome = run('return JSON.parse(\'{"__proto__": {"hostPolluted": true}}\');');
    expect(outcome.ok && outcome.outputJson).toBe('{"__proto__":{"hostPolluted":true}}');
    expect((({}) as Record<string, unknown>).hostPolluted).toBeUndefined();
  });
});

describe('no state survives between executions or crosses tenants', () => {
  const plant = `
    globalThis.secret = input.secret;
    Object.prototype.leaked = input.secret;
    Array.prototype.push = function () { return "hijacked"; };
    JSON.stringify = () => '"forged"';
    Math.max = () => 4;
    return "planted";`;
  const probe = `
    return {
      secret: typeof globalThis.secret,
      leaked: ({}).leaked === undefined,
      push: [].push(1),
      max: Math.max(1, 2) === 2,
    };`;

  it('the next execution of the same tenant starts from a clean realm', () => {
    expect(output(run(plant, { secret: 's3cr3t' }, 'tenant-a'))).toBe('planted');
    expect(output(run(probe, {}, 'tenant-a'))).toEqual({ secret: 'undefined', leaked: true, push: 1, max: true });
  });

  it('a pre-warmed context is as clean as a new one, and is used once', () => {
    sandbox.prepare('tenant-w');
    expect(output(run(plant, { secret: 'warm' }, 'tenant-w'))).toBe('planted');
    sandbox.prepare('tenant-w');
    expect(output(run(probe, {}, 'tenant-w'))).toEqual({ secret: 'undefined', leaked: true, push: 1, max: true });
    expect(output(run(probe, {}, 'tenant-w'))).toEqual({ secret: 'undefined', leaked: true, push: 1, max: true });
  });

  it('another tenant never sees what a tenant planted', () => {
    expect(output(run(plant, { secret: 'from-a' }, 'tenant-a'))).toBe('planted');
    expect(output(run(probe, {}, 'tenant-b'))).toEqual({ secret: 'undefined', leaked: true, push: 1, max: true });
  });

  it('a tenant that exhausts its isolate does not disturb another tenant', () => {
    expect(output(run('return 1;', {}, 'neighbour'))).toBe(1);
    expectFailure(run('const a = []; while (true) a.push([a.length]);', {}, 'bomber', { ...testLimits, timeoutMs: 10_000 }), 'BEDDEL_MEMORY_LIMIT');
    expect(output(run('return 2;', {}, 'neighbour'))).toBe(2);
  });

  it('steps of one execution share only `steps`, and results flow in order', () => {
    expect(output(run(['return input.x * 2;', 'return steps.s0 + 1;', 'return { a: steps.s0, b: steps.s1 };'], { x: 5 }))).toEqual({ a: 10, b: 11 });
  });
});

describe('metrics are measured', () => {
  it('reports wall time, CPU time and heap growth', () => {
    // A fresh tenant (fresh isolate, no garbage to collect) and Smi-only arithmetic, so no GC
    // runs during the execution and the heap delta is the execution's own allocation.
    const outcome = run('let x = 0; for (let i = 0; i < 1e6; i++) x = (x + i) | 0; globalThis.keep = new Array(10000).fill(x); return keep.length;', {}, 'metrics-tenant');
    expect(outcome.ok).toBe(true);
    expect(outcome.metrics.durationMs).toBeGreaterThan(0);
    expect(outcome.metrics.cpuMs).toBeGreaterThan(0);
    expect(outcome.metrics.heapBytes).toBeGreaterThan(10000);
  });
});
