/**
 * Capabilities: the non-deterministic built-ins and the `beddel.*` functions are governed by the
 * profile's grants. Without a grant, each fails with BEDDEL_CAPABILITY_DENIED; with one, it works
 * within its bounds. Nothing here calls back into the host.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExecutionOutcome, GuestCapabilities } from '@beddel/contracts';
import { IsolateSandbox } from './isolate-sandbox.js';
import { planOf, testLimits } from './test-support/plans.js';

const sandbox = new IsolateSandbox();
afterAll(() => sandbox.close());

function run(body: string, capabilities?: GuestCapabilities): ExecutionOutcome {
  return sandbox.run({ tenantId: 'caps', plan: planOf(body), inputJson: '{}', limits: testLimits, ...(capabilities === undefined ? {} : { capabilities }) });
}

function output(outcome: ExecutionOutcome): unknown {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.message}`);
  return JSON.parse(outcome.outputJson);
}

describe('without grants, every capability is denied', () => {
  it.each([
    ['clock', 'return Date.now();'],
    ['clock', 'return new Date().getTime();'],
    ['clock', 'return Date();'],
    ['clock', 'return new (new Date(0).constructor)().getTime();'],
    ['clock', 'class Later extends Date {} return new Later().getTime();'],
    ['clock', 'return new Intl.DateTimeFormat("en").format();'],
    ['clock', 'return new Intl.DateTimeFormat("en").formatToParts().length;'],
    ['clock', 'return beddel.now();'],
    ['random', 'return Math.random();'],
    ['random', 'return beddel.random();'],
    ['log', 'beddel.log("hello"); return 1;'],
    ['hash', 'return beddel.sha256("abc");'],
    ['secrets', 'return beddel.secret("API_KEY");'],
  ])('%s: %s', (capability, body) => {
    const outcome = run(body);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED', step: 's0' } });
    if (!outcome.ok) expect(outcome.error.message).toContain(`"${capability}"`);
  });

  it('dates from explicit values still work', () => {
    expect(output(run('return [new Date(0).toISOString(), Date.UTC(2020, 0, 1), new Intl.DateTimeFormat("en", { timeZone: "UTC" }).format(0)];'))).toEqual([
      '1970-01-01T00:00:00.000Z',
      Date.UTC(2020, 0, 1),
      '1/1/1970',
    ]);
  });

  it('a denial caught by tenant code is still a denial, and a later unrelated error is reported as such', () => {
    expect(output(run('try { Math.random(); } catch (e) { return e.name; }'))).toBe('CapabilityDenied');
    const outcome = run('try { Math.random(); } catch (e) {} throw new TypeError("other");');
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_RUNTIME_ERROR', message: 'TypeError: other' } });
  });

  it('the beddel object cannot be replaced or extended', () => {
    expect(run('beddel.log = () => 1; return 1;')).toMatchObject({ ok: false, error: { code: 'BEDDEL_RUNTIME_ERROR' } });
    expect(run('globalThis.beddel = {}; return 1;')).toMatchObject({ ok: false, error: { code: 'BEDDEL_RUNTIME_ERROR' } });
  });
});

describe('granted capabilities work within their bounds', () => {
  it('clock: coarsened to the resolution', () => {
    const before = Date.now();
    const [now, viaDate] = output(run('return [beddel.now(), Date.now()];', { clock: { resolutionMs: 1000 } })) as [number, number];
    expect(now % 1000).toBe(0);
    expect(viaDate % 1000).toBe(0);
    expect(now).toBeGreaterThan(before - 2000);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('random: numbers in [0, 1)', () => {
    const values = output(run('return Array.from({ length: 100 }, () => beddel.random());', { random: true })) as number[];
    expect(values.every((value) => value >= 0 && value < 1)).toBe(true);
    expect(new Set(values).size).toBeGreaterThan(90);
  });

  it('hash: SHA-256 of the UTF-8 text, equal to node:crypto', () => {
    const texts = ['', 'abc', 'é€😀', 'x'.repeat(1000), 'a'.repeat(55), 'a'.repeat(56), 'a'.repeat(64)];
    const hashes = output(run(`return ${JSON.stringify(texts)}.map((text) => beddel.sha256(text));`, { hash: true })) as string[];
    expect(hashes).toEqual(texts.map((text) => createHash('sha256').update(text, 'utf8').digest('hex')));
  });

  it('log: lines are captured and returned with the result, bounded', () => {
    const outcome = run('beddel.log("a", 1, { b: 2 }); beddel.log("second"); return 1;', { log: { maxLines: 10, maxBytes: 1000 } });
    expect(outcome).toMatchObject({ ok: true, logs: ['a 1 {"b":2}', 'second'] });
    const flood = run('for (let i = 0; i < 100; i++) beddel.log("line " + i); return 1;', { log: { maxLines: 3, maxBytes: 1000 } });
    expect(flood.logs).toEqual(['line 0', 'line 1', 'line 2', '[beddel: log truncated at 3 lines / 1000 bytes]']);
  });

  it('log: lines are kept when the step then fails', () => {
    const outcome = run('beddel.log("before"); throw new Error("after");', { log: { maxLines: 10, maxBytes: 1000 } });
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_RUNTIME_ERROR' }, logs: ['before'] });
  });

  it('secrets: only allow-listed keys', () => {
    const secrets = { API_BASE_URL: 'https://api.example.test' };
    expect(output(run('return beddel.secret("API_BASE_URL");', { secrets }))).toBe('https://api.example.test');
    const outcome = run('return beddel.secret("DATABASE_PASSWORD");', { secrets });
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED' } });
    expect(run('return beddel.secret("__proto__");', { secrets })).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED' } });
  });

  it('grants of one execution do not carry into the next', () => {
    expect(output(run('return typeof Math.random();', { random: true }))).toBe('number');
    expect(run('return Math.random();')).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED' } });
  });
});

describe('capability checks cannot be subverted by tenant code (security review findings)', () => {
  it.each([
    ['clock', 'Object.prototype.clock = { resolutionMs: 1 }; return Date.now();'],
    ['random', 'Object.prototype.random = true; return Math.random();'],
    ['hash', 'Object.prototype.hash = true; return beddel.sha256("x");'],
    ['secrets', 'Object.prototype.secrets = { keys: ["X"] }; Object.prototype.X = "forged"; return beddel.secret("X");'],
  ])('grants injected through Object.prototype are ignored: %s', (capability, body) => {
    const outcome = run(body);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED' } });
    if (!outcome.ok) expect(outcome.error.message).toContain(`"${capability}"`);
  });

  it('a hijacked global Reflect never receives the native Date or ArrayBuffer constructor', () => {
    const body = `const seen = [];
const R = Reflect;
globalThis.Reflect = { construct(target, args, newTarget) { seen.push(typeof target); return R.construct(target, args, newTarget); } };
new Date(0);
new ArrayBuffer(8);
return seen;`;
    expect(output(run(body))).toEqual([]);
  });

  it('a hijacked Function.prototype.call sees none of the harness internals', () => {
    const body = `const seen = [];
const apply = Reflect.apply;
Function.prototype.call = function (thisArg, ...args) { seen.push(typeof this); return apply(this, thisArg, args); };
new Intl.DateTimeFormat('en', { timeZone: 'UTC' }).format(0);
new Intl.DateTimeFormat('en', { timeZone: 'UTC' }).formatToParts(0);
try { Date.now(); } catch (e) {}
try { Math.random(); } catch (e) {}
try { beddel.secret('X'); } catch (e) {}
return seen.length;`;
    expect(output(run(body, { secrets: {} }))).toBe(0);
  });

  it('with the clock granted, a hijacked Function.prototype.call cannot reach the uncoarsened clock', () => {
    const body = `let leaked;
const apply = Reflect.apply;
Function.prototype.call = function (thisArg, ...args) { if (typeof this === 'function' && this.name === 'now') leaked = this; return apply(this, thisArg, args); };
const coarse = Date.now();
return [coarse % 60000, typeof leaked];`;
    expect(output(run(body, { clock: { resolutionMs: 60_000 } }))).toEqual([0, 'undefined']);
  });

  it('a poisoned Array.prototype.toJSON cannot blow the log size limit', () => {
    const outcome = run('Array.prototype.toJSON = () => ["x".repeat(5e6)]; beddel.log("a"); return 1;', { log: { maxLines: 5, maxBytes: 100 } });
    expect(outcome).toMatchObject({ ok: true, logs: ['a'] });
  });
});
