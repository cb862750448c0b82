import type { RunResult } from '@beddel/contracts';
import type { Engine } from '@beddel/engine';

export type AttackCategory = 'escape' | 'host-access' | 'cross-tenant' | 'cross-execution' | 'resource' | 'crash-containment' | 'capability' | 'payload';

export interface AttackContext {
  readonly engine: Engine;
  /** A tenant id unique to this selftest run, so attacks never touch real tenants' isolates. */
  readonly tenant: (name: string) => string;
}

export interface AttackVerdict {
  readonly blocked: boolean;
  /** What was observed: the error code, or what the attack got back. */
  readonly observed: string;
}

export interface Attack {
  readonly id: string;
  readonly category: AttackCategory;
  /** What the attacker tries, and what "blocked" means. */
  readonly checks: string;
  run(context: AttackContext): Promise<AttackVerdict>;
}

/** A one-step transformation around a step body. */
export function transformation(body: string, limits = ''): string {
  const indented = body
    .split('\n')
    .map((line) => `        ${line}`)
    .join('\n');
  return `apiVersion: beddel/v1
kind: Transformation
metadata: { name: selftest, version: 1.0.0 }
spec:${limits === '' ? '' : `\n  limits: { ${limits} }`}
  steps:
    - name: attack
      run: |
${indented}
`;
}

function observed(result: RunResult): string {
  return result.ok ? `ok: ${JSON.stringify(result.output).slice(0, 200)}` : result.error.code;
}

/** Blocked when the run fails with one of `codes`. */
function expectCode(result: RunResult, ...codes: string[]): AttackVerdict {
  return { blocked: !result.ok && codes.includes(result.error.code), observed: observed(result) };
}

/** Blocked when the run succeeds and its output satisfies `safe`. */
function expectOutput(result: RunResult, safe: (output: unknown) => boolean): AttackVerdict {
  return { blocked: result.ok && safe(result.output), observed: observed(result) };
}

const HOST_NAMES = ['require', 'process', 'module', 'exports', 'Buffer', 'fetch', 'setTimeout', 'setInterval', 'setImmediate', 'global', 'console', 'SharedArrayBuffer', 'Atomics', 'WebAssembly', 'XMLHttpRequest', '__dirname'];

const PLANT = `globalThis.selftestSecret = input.secret;
Object.prototype.selftestLeak = input.secret;
JSON.parse = () => input.secret;
Array.prototype.map = function () { return [input.secret]; };
return 'planted';`;

const PROBE = `const found = [];
if (typeof globalThis.selftestSecret !== 'undefined') found.push('global');
if (({}).selftestLeak !== undefined) found.push('prototype');
if (JSON.parse('1') !== 1) found.push('JSON.parse');
if ([1, 2].map((x) => x * 2)[0] !== 2) found.push('Array.prototype.map');
return found;`;

export const ATTACKS: readonly Attack[] = [
  {
    id: 'host-globals',
    category: 'host-access',
    checks: `Reads ${HOST_NAMES.join(', ')} from guest code; blocked when every one is undefined.`,
    async run({ engine, tenant }) {
      const body = `return [${HOST_NAMES.map((name) => `typeof ${name}`).join(', ')}];`;
      const result = await engine.tenant(tenant('a')).run(transformation(body), {});
      return expectOutput(result, (output) => Array.isArray(output) && output.every((type) => type === 'undefined'));
    },
  },
  {
    id: 'function-constructor-chains',
    category: 'escape',
    checks: 'Climbs constructor chains (function, array, input object, generator, eval) to a Function and asks it for `process`; blocked when each chain refuses to generate code from the string, or reaches only the guest realm.',
    async run({ engine, tenant }) {
      const body = `const chains = [
  () => (function () {}).constructor('return typeof process')(),
  () => [].constructor.constructor('return typeof require')(),
  () => input.constructor.constructor('return typeof process')(),
  () => Object.getPrototypeOf(function* () {}).constructor('yield typeof process')().next().value,
  () => eval('typeof process'),
];
return chains.map((chain) => { try { return chain(); } catch (e) { return e instanceof Error && e.name === 'CapabilityDenied' ? 'refused' : 'threw ' + String(e); } });`;
      const result = await engine.tenant(tenant('a')).run(transformation(body), { a: 1 });
      return expectOutput(result, (output) => Array.isArray(output) && output.length === 5 && output.every((type) => type === 'refused' || type === 'undefined'));
    },
  },
  {
    id: 'code-generation-from-strings',
    category: 'resource',
    checks: 'Generates code from strings (direct and indirect eval, the Function, AsyncFunction, GeneratorFunction and AsyncGeneratorFunction constructors), then compiles 8 MB of code, which V8 does without checking the timeout; blocked with BEDDEL_CAPABILITY_DENIED when every route refuses.',
    async run({ engine, tenant }) {
      const body = `const routes = [() => eval('1'), () => (0, eval)('1'), () => Function('return 1'), () => Object.getPrototypeOf(async function () {}).constructor('return 1'),
  () => Object.getPrototypeOf(function* () {}).constructor('yield 1'), () => Object.getPrototypeOf(async function* () {}).constructor('yield 1')];
const generated = [];
for (const route of routes) { try { route(); generated.push(String(route)); } catch (e) { if (!(e instanceof Error) || e.name !== 'CapabilityDenied') generated.push(String(route)); } }
if (generated.length > 0) return generated;
return new Function('1;'.repeat(4e6));`;
      return expectCode(await engine.tenant(tenant('a')).run(transformation(body, 'timeoutMs: 100'), {}), 'BEDDEL_CAPABILITY_DENIED');
    },
  },
  {
    id: 'uninterruptible-parsers',
    category: 'resource',
    checks: 'Feeds huge text to parsers V8 runs without checking the timeout: JSON.parse of 2.4 MB, `new RegExp` and String.prototype.match with huge sources; blocked when each refuses with a RangeError inside a 200 ms limit.',
    async run({ engine, tenant }) {
      const body = `const refused = [];
try { JSON.parse('{' + '"a":1,'.repeat(4e5) + '"a":1}'); } catch (e) { if (e instanceof RangeError) refused.push('JSON.parse'); }
try { new RegExp('\\\\p{L}'.repeat(20000), 'u').test('x'); } catch (e) { if (e instanceof RangeError) refused.push('RegExp'); }
try { 'x'.match('(?:a|b)'.repeat(3000)); } catch (e) { if (e instanceof RangeError) refused.push('match'); }
return refused;`;
      return expectOutput(await engine.tenant(tenant('a')).run(transformation(body, 'timeoutMs: 200'), {}), (output) => Array.isArray(output) && output.length === 3);
    },
  },
  {
    id: 'this-constructor',
    category: 'escape',
    checks: '`this.constructor.constructor("return process")()` from a step; blocked when it throws (steps are strict-mode, `this` is undefined).',
    async run({ engine, tenant }) {
      return expectCode(await engine.tenant(tenant('a')).run(transformation('return this.constructor.constructor("return process")();'), {}), 'BEDDEL_RUNTIME_ERROR');
    },
  },
  {
    id: 'prepare-stack-trace',
    category: 'escape',
    checks: 'Installs Error.prepareStackTrace to read CallSite objects (file names, this, functions); blocked when only guest frames are visible, or when installing it is refused (frozen realm).',
    async run({ engine, tenant }) {
      const body = `Error.prepareStackTrace = (e, sites) => sites.map((s) => String(s.getFileName()) + '|' + typeof s.getThis());
return new Error('x').stack;`;
      const result = await engine.tenant(tenant('a')).run(transformation(body), {});
      if (!result.ok) return expectCode(result, 'BEDDEL_RUNTIME_ERROR');
      return expectOutput(result, (output) => Array.isArray(output) && output.every((frame) => typeof frame === 'string' && !/node:|\/|\\\\/.test(frame.replace(/^beddel:[^|]*/, ''))));
    },
  },
  {
    id: 'host-stack-in-errors',
    category: 'host-access',
    checks: 'Throws from deep guest code; blocked when the error reaching the caller carries the message only, no stack frames or host paths.',
    async run({ engine, tenant }) {
      const result = await engine.tenant(tenant('a')).run(transformation('function deep() { throw new Error("selftest"); }\ndeep();'), {});
      const text = JSON.stringify(result);
      return { blocked: !result.ok && result.error.code === 'BEDDEL_RUNTIME_ERROR' && !/\bat |node:|\/work\/|\.js:\d/.test(text), observed: observed(result) };
    },
  },
  {
    id: 'thenable-output',
    category: 'escape',
    checks: 'Returns a thenable hoping the host calls `then` with host functions; blocked when the run fails without resolving it.',
    async run({ engine, tenant }) {
      return expectCode(await engine.tenant(tenant('a')).run(transformation('return { then(resolve) { resolve(globalThis); } };'), {}), 'BEDDEL_RUNTIME_ERROR');
    },
  },
  {
    id: 'proxy-output',
    category: 'escape',
    checks: 'Returns a Proxy whose traps loop, hoping host-side inspection runs them; blocked when the guest timeout stops it.',
    async run({ engine, tenant }) {
      return expectCode(await engine.tenant(tenant('a')).run(transformation('return new Proxy({}, { ownKeys() { while (true) {} } });', 'timeoutMs: 500'), {}), 'BEDDEL_TIMEOUT');
    },
  },
  {
    id: 'uncounted-memory',
    category: 'resource',
    checks: 'Allocates memory isolated-vm does not count (resizable ArrayBuffer, SharedArrayBuffer, WebAssembly.Memory); blocked when none is available.',
    async run({ engine, tenant }) {
      const body = `const found = [];
try { new ArrayBuffer(8, { maxByteLength: 2 ** 30 }); found.push('resizable'); } catch (e) {}
if (typeof ArrayBuffer.prototype.resize === 'function') found.push('resize');
if (typeof SharedArrayBuffer !== 'undefined') found.push('SharedArrayBuffer');
if (typeof WebAssembly !== 'undefined') found.push('WebAssembly');
return found;`;
      return expectOutput(await engine.tenant(tenant('a')).run(transformation(body), {}), (output) => Array.isArray(output) && output.length === 0);
    },
  },
  {
    id: 'cross-tenant-state',
    category: 'cross-tenant',
    checks: 'Tenant A plants a secret in globals, Object.prototype, JSON.parse and Array.prototype.map; tenant B looks for it; blocked when B finds nothing.',
    async run({ engine, tenant }) {
      await engine.tenant(tenant('a')).run(transformation(PLANT), { secret: 'selftest-secret' });
      return expectOutput(await engine.tenant(tenant('b')).run(transformation(PROBE), {}), (output) => Array.isArray(output) && output.length === 0);
    },
  },
  {
    id: 'cross-execution-state',
    category: 'cross-execution',
    checks: 'One execution plants state; the next execution of the same tenant looks for it; blocked when it finds nothing.',
    async run({ engine, tenant }) {
      const id = tenant('a');
      await engine.tenant(id).run(transformation(PLANT), { secret: 'selftest-secret' });
      return expectOutput(await engine.tenant(id).run(transformation(PROBE), {}), (output) => Array.isArray(output) && output.length === 0);
    },
  },
  {
    id: 'symbol-registry-carry-over',
    category: 'cross-execution',
    checks: 'One execution registers 6 MiB of keys with Symbol.for (a registry V8 keeps per isolate, not per context); the next execution of the same tenant measures, by the largest ArrayBuffer it can still allocate, whether that memory is still held; blocked when it is not.',
    async run({ engine, tenant }) {
      const id = tenant('a');
      const body = `if (input.plant) { for (let i = 0; i < 6; i++) Symbol.for(String.fromCharCode(97 + i) + 'x'.repeat(1024 * 1024 - 1)); return -1; }
let low = 0, high = 12 * 1024 * 1024;
while (high - low > 256 * 1024) { const middle = Math.floor((low + high) / 2); try { new ArrayBuffer(middle); low = middle; } catch (e) { high = middle; } }
return low;`;
      const source = transformation(body, 'timeoutMs: 5000, memoryLimitMb: 16');
      await engine.tenant(id).run(source, { plant: false });
      const before = await engine.tenant(id).run(source, { plant: false });
      await engine.tenant(id).run(source, { plant: true });
      const after = await engine.tenant(id).run(source, { plant: false });
      const mib = 1024 * 1024;
      const held = before.ok && after.ok && typeof before.output === 'number' && typeof after.output === 'number' ? (before.output - after.output) / mib : Number.NaN;
      // The probe searches up to 12 MiB only: its transient buffers count towards the run's heap
      // budget (external memory is counted), and the default budget is 16 MiB. With 6 MiB held
      // in a 16 MB isolate, at most ~10 MiB would still be allocatable: well inside the range.
      return { blocked: before.ok && (before.output as number) > 11 * mib && held < 2, observed: `${observed(before)}; after planting: ${observed(after)}` };
    },
  },
  {
    id: 'infinite-loop',
    category: 'resource',
    checks: '`while (true) {}`; blocked when the run ends with BEDDEL_TIMEOUT.',
    async run({ engine, tenant }) {
      return expectCode(await engine.tenant(tenant('a')).run(transformation('while (true) {}', 'timeoutMs: 500'), {}), 'BEDDEL_TIMEOUT');
    },
  },
  {
    id: 'microtask-loop',
    category: 'resource',
    checks: 'An endless microtask chain started after the step returned; blocked when the run ends with BEDDEL_TIMEOUT.',
    async run({ engine, tenant }) {
      return expectCode(await engine.tenant(tenant('a')).run(transformation('const spin = () => { Promise.resolve().then(spin); };\nspin();\nreturn 1;', 'timeoutMs: 500'), {}), 'BEDDEL_TIMEOUT');
    },
  },
  {
    id: 'never-settling-promise',
    category: 'resource',
    checks: 'Returns a promise that never settles, hoping the host waits forever; blocked when the run fails at once.',
    async run({ engine, tenant }) {
      return expectCode(await engine.tenant(tenant('a')).run(transformation('return new Promise(() => {});'), {}), 'BEDDEL_RUNTIME_ERROR');
    },
  },
  {
    id: 'memory-bomb',
    category: 'resource',
    checks: 'Grows an array of objects without end; blocked when the run ends with BEDDEL_MEMORY_LIMIT.',
    async run({ engine, tenant }) {
      return expectCode(await engine.tenant(tenant('a')).run(transformation('const a = [];\nwhile (true) a.push({ i: a.length, s: "x" + a.length });'), {}), 'BEDDEL_MEMORY_LIMIT');
    },
  },
  {
    id: 'stack-overflow',
    category: 'resource',
    checks: 'Unbounded recursion; blocked when the run ends with a runtime error and the sandbox survives.',
    async run({ engine, tenant }) {
      return expectCode(await engine.tenant(tenant('a')).run(transformation('function r() { return r(); }\nreturn r();'), {}), 'BEDDEL_RUNTIME_ERROR');
    },
  },
  {
    id: 'output-bomb',
    category: 'resource',
    checks: 'Returns a 64 MB string; blocked when the output cap or the memory limit refuses it.',
    async run({ engine, tenant }) {
      return expectCode(await engine.tenant(tenant('a')).run(transformation('return "x".repeat(64 * 1024 * 1024);'), {}), 'BEDDEL_OUTPUT_TOO_LARGE', 'BEDDEL_MEMORY_LIMIT');
    },
  },
  {
    id: 'fatal-allocation',
    category: 'crash-containment',
    checks: 'One huge array (a V8 fatal out-of-memory that ends a process); blocked when the run fails with BEDDEL_MEMORY_LIMIT or BEDDEL_WORKER_CRASHED and both this tenant and another are served right after.',
    async run({ engine, tenant }) {
      const id = tenant('a');
      const bomb = await engine.tenant(id).run(transformation('return new Array(2 ** 28).fill(1.5).length;'), {});
      const same = await engine.tenant(id).run(transformation('return input.n + 1;'), { n: 1 });
      const other = await engine.tenant(tenant('b')).run(transformation('return input.n + 1;'), { n: 2 });
      const contained = !bomb.ok && ['BEDDEL_MEMORY_LIMIT', 'BEDDEL_WORKER_CRASHED'].includes(bomb.error.code);
      return { blocked: contained && same.ok && same.output === 2 && other.ok && other.output === 3, observed: `${observed(bomb)}; then ${observed(same)}, ${observed(other)}` };
    },
  },
  {
    id: 'secret-not-allow-listed',
    category: 'capability',
    checks: 'Asks `beddel.secret()` for a key no profile lists; blocked with BEDDEL_CAPABILITY_DENIED.',
    async run({ engine, tenant }) {
      return expectCode(await engine.tenant(tenant('a')).run(transformation('return beddel.secret("BEDDEL_SELFTEST_NOT_ALLOWED");'), {}), 'BEDDEL_CAPABILITY_DENIED');
    },
  },
  {
    id: 'capability-tamper',
    category: 'capability',
    checks: 'Replaces `beddel.secret` and `globalThis.beddel` to forge capabilities; blocked when both assignments fail.',
    async run({ engine, tenant }) {
      const body = `const failed = [];
try { beddel.secret = () => 'forged'; } catch (e) { failed.push('secret'); }
try { globalThis.beddel = {}; } catch (e) { failed.push('global'); }
return failed;`;
      return expectOutput(await engine.tenant(tenant('a')).run(transformation(body), {}), (output) => Array.isArray(output) && output.length === 2);
    },
  },
  {
    id: 'grant-injection',
    category: 'capability',
    checks: 'Adds clock, random and hash "grants" to Object.prototype, then reads the clock; blocked with BEDDEL_CAPABILITY_DENIED (grants are prototype-free), or when the poisoning itself is refused (frozen realm).',
    async run({ engine, tenant }) {
      const body = 'Object.prototype.clock = { resolutionMs: 1 };\nObject.prototype.random = true;\nObject.prototype.hash = true;\nreturn [Date.now(), Math.random(), beddel.sha256("x")];';
      return expectCode(await engine.tenant(tenant('a')).run(transformation(body), {}), 'BEDDEL_CAPABILITY_DENIED', 'BEDDEL_RUNTIME_ERROR');
    },
  },
  {
    id: 'harness-intrinsic-hijack',
    category: 'capability',
    checks: 'Replaces Reflect and Function.prototype.call to catch the native Date and ArrayBuffer constructors the sandbox wraps; blocked when nothing is caught, or when replacing them is refused (frozen realm).',
    async run({ engine, tenant }) {
      const body = `const caught = [];
const R = Reflect;
const apply = R.apply;
globalThis.Reflect = { construct(t, a, n) { caught.push('construct'); return R.construct(t, a, n); }, apply: R.apply };
Function.prototype.call = function (thisArg, ...args) { caught.push('call'); return apply(this, thisArg, args); };
new Date(0);
new ArrayBuffer(8);
new Intl.DateTimeFormat('en', { timeZone: 'UTC' }).format(0);
return caught;`;
      const result = await engine.tenant(tenant('a')).run(transformation(body), {});
      if (!result.ok) return expectCode(result, 'BEDDEL_RUNTIME_ERROR');
      return expectOutput(result, (output) => Array.isArray(output) && output.length === 0);
    },
  },
  {
    id: 'harness-trap-poisoning',
    category: 'capability',
    checks: 'Defines Proxy trap names (get, has, construct, ownKeys, ...) on Object.prototype, hoping the sandbox\'s own Proxy handlers inherit them and hand over the native Date; blocked when nothing is caught and the clock stays denied, or when the poisoning is refused (frozen realm).',
    async run({ engine, tenant }) {
      const body = `let caught = null;
const traps = ['get', 'set', 'has', 'deleteProperty', 'defineProperty', 'getOwnPropertyDescriptor', 'ownKeys', 'apply', 'construct', 'getPrototypeOf', 'setPrototypeOf', 'isExtensible', 'preventExtensions'];
for (const trap of traps) Object.defineProperty(Object.prototype, trap, { __proto__: null, configurable: true, writable: true, value: function (target, ...rest) { if (typeof target === 'function' && caught === null) caught = target; return Reflect[trap](target, ...rest); } });
try { Date.now(); } catch (e) {}
try { new Date(0); Date(); 'now' in Date; Reflect.ownKeys(Date); Object.getOwnPropertyDescriptor(Date, 'now'); Object.getPrototypeOf(Date); Object.isExtensible(Date); } catch (e) {}
try { new ArrayBuffer(8); Reflect.ownKeys(ArrayBuffer); } catch (e) {}
for (const trap of traps) delete Object.prototype[trap];
if (caught !== null) return 'caught ' + caught.name + ': ' + new caught().getTime();
return Date.now();`;
      return expectCode(await engine.tenant(tenant('a')).run(transformation(body), {}), 'BEDDEL_CAPABILITY_DENIED', 'BEDDEL_RUNTIME_ERROR');
    },
  },
  {
    id: 'error-record-forgery',
    category: 'capability',
    checks: 'A second step poisons Object.prototype.toJSON before throwing, hoping the sandbox\'s error record blames the first step with a forged message; blocked when the error names the second step with its real message (or the poisoning is refused, frozen realm).',
    async run({ engine, tenant }) {
      const source = `apiVersion: beddel/v1
kind: Transformation
metadata: { name: selftest, version: 1.0.0 }
spec:
  steps:
    - name: innocent
      run: return 1;
    - name: attack
      run: |
        Object.prototype.toJSON = function () { return { i: 0, m: 'forged' }; };
        throw new Error('real');
`;
      const result = await engine.tenant(tenant('a')).run(source, {});
      const honest = !result.ok && result.error.code === 'BEDDEL_RUNTIME_ERROR' && result.error.step === 'attack' && result.error.message !== 'forged';
      return { blocked: honest, observed: result.ok ? observed(result) : `${result.error.code} at ${String(result.error.step)}: ${result.error.message}` };
    },
  },
  {
    id: 'yaml-billion-laughs',
    category: 'payload',
    checks: 'A YAML alias bomb (billion laughs); blocked with BEDDEL_INVALID_TRANSFORMATION before any expansion.',
    async run({ engine, tenant }) {
      const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
      for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
      return expectCode(await engine.tenant(tenant('a')).run(`${levels.join('\n')}\n`, {}), 'BEDDEL_INVALID_TRANSFORMATION');
    },
  },
  {
    id: 'yaml-custom-tag',
    category: 'payload',
    checks: 'A YAML document with `!!js/function` and other custom tags; blocked with BEDDEL_INVALID_TRANSFORMATION.',
    async run({ engine, tenant }) {
      return expectCode(await engine.tenant(tenant('a')).run(transformation('return 1;').replace('metadata: {', 'x: !!js/function "function () { return process; }"\nmetadata: {'), {}), 'BEDDEL_INVALID_TRANSFORMATION');
    },
  },
  {
    id: 'yaml-proto-key',
    category: 'payload',
    checks: 'A YAML mapping with a `__proto__` key; blocked with BEDDEL_INVALID_TRANSFORMATION and no host prototype changed.',
    async run({ engine, tenant }) {
      const result = await engine.tenant(tenant('a')).run(transformation('return 1;').replace('metadata: {', '__proto__: { selftestPolluted: true }\nmetadata: {'), {});
      const verdict = expectCode(result, 'BEDDEL_INVALID_TRANSFORMATION');
      return { ...verdict, blocked: verdict.blocked && (({}) as Record<string, unknown>).selftestPolluted === undefined };
    },
  },
  {
    id: 'step-wrapper-breakout',
    category: 'payload',
    checks: 'A step body that closes its function and opens another (`}); ... (function () {`); blocked with BEDDEL_INVALID_TRANSFORMATION.',
    async run({ engine, tenant }) {
      return expectCode(await engine.tenant(tenant('a')).run(transformation('return 1; }, function () { return typeof process;'), {}), 'BEDDEL_INVALID_TRANSFORMATION');
    },
  },
  {
    id: 'json-proto-input',
    category: 'payload',
    checks: 'Input JSON with `__proto__` and `constructor.prototype` keys; blocked when neither the guest nor the host sees a polluted prototype.',
    async run({ engine, tenant }) {
      const input: unknown = JSON.parse('{"__proto__": {"selftestPolluted": 1}, "constructor": {"prototype": {"selftestPolluted": 1}}}');
      const result = await engine.tenant(tenant('a')).run(transformation('return [({}).selftestPolluted === undefined, input.selftestPolluted === undefined];'), input);
      const verdict = expectOutput(result, (output) => Array.isArray(output) && output[0] === true && output[1] === true);
      return { ...verdict, blocked: verdict.blocked && (({}) as Record<string, unknown>).selftestPolluted === undefined };
    },
  },
  {
    id: 'input-bomb',
    category: 'payload',
    checks: 'A 24 MB input; blocked with BEDDEL_INPUT_TOO_LARGE before anything runs.',
    async run({ engine, tenant }) {
      return expectCode(await engine.tenant(tenant('a')).run(transformation('return 1;'), { blob: 'x'.repeat(24 * 1024 * 1024) }), 'BEDDEL_INPUT_TOO_LARGE');
    },
  },
];
