import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { canonicalJson } from '@beddel/contracts';
import type { AuditEntry, RunResult } from '@beddel/contracts';
import { isolatedVmExecutor } from '@beddel/executor-isolated-vm';
import { createEngine } from './engine.js';
import { recordingAuditPlugin } from './test-support/recording-audit.js';
import { returning } from './test-support/documents.js';
import type { Engine } from './engine.js';

/**
 * Security review of "one input, one output" (8788564). `it.fails` marks a demonstrated hole (the
 * assertion states the behaviour we want, and it does not hold today); plain `it` marks a defence
 * that held against the payload.
 */

function echo(inputSchema = '{}'): string {
  return `apiVersion: beddel/v1
kind: Transformation
metadata: { name: echo, version: 1.0.0 }
spec:
  inputSchema: ${inputSchema}
  steps:
    - name: echo
      run: |
        return { seen: input, own: input !== null && typeof input === 'object' ? Object.getOwnPropertyNames(input) : [], proto: input !== null && typeof input === 'object' && Object.getPrototypeOf(input) === Object.prototype };
`;
}


/**
 * The longest gap between 5 ms ticks of this process's event loop while `work` runs: how long the
 * host was blocked. The stretch after the last tick counts too (ticks that never came are lag).
 */
async function maxEventLoopLag(work: () => Promise<void>): Promise<number> {
  let lag = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    lag = Math.max(lag, now - last);
    last = now;
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(ticker);
  }
  return Math.max(lag, performance.now() - last);
}

const codeOf = (result: RunResult): string => (result.ok ? 'ok' : result.error.code);

describe('review: one input, one output', () => {
  let engine: Engine;
  const entries: AuditEntry[] = [];
  const recordingAudit = recordingAuditPlugin(entries);

  beforeAll(async () => {
    engine = await createEngine({ plugins: [isolatedVmExecutor({ mode: 'in-process' }), recordingAudit] });
  });
  afterAll(async () => {
    await engine.close();
  });

  // Was a HOLE (medium), closed in 173e292: the input normaliser ran before TenantRuntime.run's try block, and its catch calls
  // String(error). A toJSON (or a Proxy trap, or a getter) of the caller's input that throws a
  // value with no string form (Object.create(null), an object whose Symbol.toPrimitive throws)
  // makes String() throw inside that catch: engine.run() rejects with a raw TypeError, no error
  // code, no audit record; and BeddelEngine.track's `void run.finally(...)` leaves a derived
  // promise rejected unhandled, which ends the host process (Node's default) even though the
  // caller caught its own rejection. Run in a child process for that reason.
  // Measured: exit status 1, stdout "caller caught: Cannot convert object to primitive value"
  // and no "still alive"; stderr "TypeError: Cannot convert object to primitive value
  // at messageOf (run-values.js)".
  // Closed: the input is normalised inside run()'s try, and a thrown value without a text form
  // becomes a message (run-values.ts messageOf).
  it('an input whose toJSON throws Object.create(null) is BEDDEL_INPUT_INVALID, audited, and the host survives', () => {
    const script = `import { createEngine } from '@beddel/engine';
import { isolatedVmExecutor } from '@beddel/executor-isolated-vm';
import { AUDIT_LOG } from '@beddel/contracts';
const audited = [];
const audit = { name: 'a', register: (r) => r.value(AUDIT_LOG, { append: (e) => { audited.push(e); return Promise.resolve({ tenantId: e.tenantId, sequence: 0, recordHash: 'h' }); } }) };
const engine = await createEngine({ plugins: [isolatedVmExecutor({ mode: 'in-process' }), audit] });
const src = 'apiVersion: beddel/v1\\nkind: Transformation\\nmetadata: { name: e, version: 1.0.0 }\\nspec:\\n  steps:\\n    - name: e\\n      run: return input;\\n';
try {
  const result = await engine.tenant('t').run(src, { a: { toJSON: () => { throw Object.create(null); } } });
  console.log('code=' + (result.ok ? 'ok' : result.error.code) + ' audited=' + audited.length);
} catch (error) { console.log('caller caught: ' + error.message); }
await new Promise((resolve) => setTimeout(resolve, 200));
console.log('still alive');
await engine.close();`;
    const child = spawnSync(process.execPath, ['--no-node-snapshot', '--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url), encoding: 'utf8', timeout: 30_000 });
    // The payload reached the engine (the script itself is sound): the caller saw a result or a rejection.
    expect(child.stdout).toMatch(/code=|caller caught/);
    expect(child.stdout).toContain('code=BEDDEL_INPUT_INVALID audited=1');
    expect(child.stdout).toContain('still alive');
    expect(child.status).toBe(0);
  }, 40_000);

  // Same class, no regular expression: ajv's uniqueItems compares items pairwise (O(n^2) deep
  // equality) on the host. Measured with ajv alone: 2,000 / 5,000 / 10,000 one-element arrays
  // (13 / 34 / 69 KB of output) take 37 / 145 / 615 ms; the default 2 MiB maxOutputBytes allows
  // ~300,000 of them (~10 minutes by the same curve).
  // Closed by the bounded schemas (json-schema-bounds.ts: caps, RE2, linear keywords, work budget).
  it('a tenant output cannot block the host event loop through uniqueItems (max lag < 300 ms)', async () => {
    const attacker = returning('return Array.from({ length: 15000 }, (_, i) => [i]);', '{ type: array, uniqueItems: true, maxItems: 1 }');
    await engine.tenant('attacker').run(returning('return 1;'), null);
    const lag = await maxEventLoopLag(async () => {
      const result = await engine.tenant('attacker').run(attacker, null);
      expect(codeOf(result)).toBe('BEDDEL_OUTPUT_INVALID');
    });
    expect(lag).toBeLessThan(300);
  }, 120_000);

  // Was a HOLE (critical), closed by the bounded schemas: same class, and it kills the host. A recursive anyOf in the tenant's output
  // schema makes ajv (allErrors: true) try both branches at every level and keep every error:
  // time and memory double per level of a ~2-byte-per-level output. Measured (default heap, ~4 GB
  // here): depth 14 / 16 / 18 take 506 / 1,691 / 6,344 ms; depth 20 ends the host process with V8's
  // fatal "JavaScript heap out of memory" after ~90 s (a 46-byte output). In the child below the
  // heap is capped at 128 MB so the same crash takes ~2 s: depth 12 answers BEDDEL_OUTPUT_INVALID
  // (exit 0), depth 16 aborts (exit 134, SIGABRT), no result, no audit record, every tenant gone.
  function anyOfChild(depth: number): { stdout: string; stderr: string; status: number | null } {
    const schema = "{ $ref: '#/definitions/n', definitions: { n: { anyOf: [ { type: array, items: { $ref: '#/definitions/n' } }, { type: array, items: { $ref: '#/definitions/n' } } ] } } }";
    const script = `import { createEngine } from '@beddel/engine';
import { isolatedVmExecutor } from '@beddel/executor-isolated-vm';
const engine = await createEngine({ plugins: [isolatedVmExecutor({ mode: 'in-process' })] });
const src = 'apiVersion: beddel/v1\\nkind: Transformation\\nmetadata: { name: x, version: 1.0.0 }\\nspec:\\n  outputSchema: ${schema.replaceAll("'", "\\'")}\\n  steps:\\n    - name: s\\n      run: |\\n        let v = 0; for (let i = 0; i < ${depth}; i++) v = [v]; return v;\\n';
const result = await engine.tenant('t').run(src, null);
console.log('code=' + (result.ok ? 'ok' : result.error.code));
await engine.close();`;
    return spawnSync(process.execPath, ['--no-node-snapshot', '--max-old-space-size=128', '--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url), encoding: 'utf8', timeout: 60_000 });
  }

  // Closed by the bounded schemas (json-schema-bounds.ts: caps, RE2, linear keywords, work budget).
  it('a tenant output against an exponential recursive anyOf schema cannot end the host process (depth 16)', () => {
    const child = anyOfChild(16);
    expect(child.stdout).toContain('code=BEDDEL_OUTPUT_INVALID');
    expect(child.status).toBe(0);
  }, 90_000);

  it('(control for the test above) the same child at depth 8 answers BEDDEL_OUTPUT_INVALID and exits 0', () => {
    const child = anyOfChild(8);
    expect(child.stdout).toContain('code=BEDDEL_OUTPUT_INVALID');
    expect(child.status).toBe(0);
  }, 90_000);

  // Was a HOLE (low, regression of 8788564), closed in 173e292: the caller's input is parsed back and depth-walked before
  // maxInputBytes is checked, so an oversize input costs the host a full parse before it is
  // refused. Measured: a 51 MB input (1,000,000 small items) takes 396 ms to stringify alone
  // (the old path) and 1,282 ms / +350 MB of host heap through runValueFrom, then is refused.
  // Closed: the size is checked against the profile's cap before the text is parsed back.
  it('an input over maxInputBytes is refused without being parsed on the host', async () => {
    const input = { blob: 'x'.repeat(2 * 1024 * 1024) };
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const result = await engine.tenant('values').run(echo(), input);
      expect(codeOf(result)).toBe('BEDDEL_INPUT_TOO_LARGE');
      const parsedLengths = parse.mock.calls.map(([text]) => text.length);
      expect(parsedLengths.filter((length) => length > 2 * 1024 * 1024)).toEqual([]);
    } finally {
      parse.mockRestore();
    }
  });

  // Defences that held: the guest, the schema and the audit see one value.
  it('a "__proto__" own key (from JSON text) stays an own data key for the guest, the schema and the audit', async () => {
    const input: unknown = JSON.parse('{"__proto__":{"polluted":true},"b":1}');
    const before = entries.length;
    const result = await engine.tenant('values').run(echo('{ type: object, required: ["__proto__", b] }'), input);
    expect(codeOf(result)).toBe('ok');
    const output = (result as { output: { seen: Record<string, unknown>; own: string[]; proto: boolean } }).output;
    expect(output.own).toEqual(['__proto__', 'b']);
    expect(output.proto).toBe(true);
    expect(Object.getPrototypeOf(output.seen)).toBe(Object.prototype);
    expect(Object.hasOwn(output.seen, '__proto__')).toBe(true);
    const entry = entries[before] as AuditEntry;
    expect(canonicalJson(entry.input)).toBe('{"__proto__":{"polluted":true},"b":1}');
    expect(canonicalJson(output.seen)).toBe(canonicalJson(entry.input));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a toJSON returning a new value per call, -0, lone surrogates and huge numbers: one value everywhere', async () => {
    let calls = 0;
    const sparse: unknown[] = [1];
    sparse[2] = 3;
    const input = { flip: { toJSON: () => ++calls }, z: -0, s: '\ud800x\udfff', big: 1.7976931348623157e308, tiny: 5e-324, sparse };
    const before = entries.length;
    const result = await engine.tenant('values').run(echo(), input);
    expect(calls).toBe(1);
    expect(codeOf(result)).toBe('ok');
    const seen = (result as { output: { seen: unknown } }).output.seen;
    const entry = entries[before] as AuditEntry;
    expect(seen).toEqual({ flip: 1, z: 0, s: '\ud800x\udfff', big: 1.7976931348623157e308, tiny: 5e-324, sparse: [1, null, 3] });
    expect(canonicalJson(entry.input)).toBe(canonicalJson(seen));
  });

  it('a Proxy input whose get trap answers differently on every read is read once: the guest, the schema and the audit agree', async () => {
    let reads = 0;
    const shifting = new Proxy({ v: 'x' }, { get: (target, key) => (key === 'v' ? (++reads === 1 ? 'good' : 'evil') : (Reflect.get(target, key) as unknown)) });
    const before = entries.length;
    const result = await engine.tenant('values').run(echo("{ type: object, properties: { v: { enum: [good] } } }"), shifting);
    expect(reads).toBe(1);
    expect(codeOf(result)).toBe('ok');
    const entry = entries[before] as AuditEntry;
    expect((result as { output: { seen: unknown } }).output.seen).toEqual({ v: 'good' });
    expect(canonicalJson(entry.input)).toBe('{"v":"good"}');
  });

  it('a guest output with __proto__ / lone-surrogate keys and -0 is hashable and the same in result and audit', async () => {
    const before = entries.length;
    const result = await engine.tenant('values').run(
      returning('const o = JSON.parse(\'{"__proto__":{"x":1}}\'); o["\\ud800"] = -0; o.n = 1e308 * 10 > 0 ? 1e308 : 0; return o;'),
      null,
    );
    expect(codeOf(result)).toBe('ok');
    const entry = entries[before] as AuditEntry;
    expect(entry.status).toBe('ok');
    expect(canonicalJson(entry.output)).toBe('{"__proto__":{"x":1},"n":1e+308,"\\ud800":0}');
    expect(canonicalJson((result as { output: unknown }).output)).toBe(canonicalJson(entry.output));
  });

  // Was a HOLE (high), closed by the bounded schemas: the output schema is tenant code (part of the transformation) and ajv runs its
  // `pattern` on the host's event loop with no time limit. A 33-byte output against `^(a+)+$`
  // blocks the engine's event loop: measured (default worker mode, a script outside vitest) for
  // n = 22 / 24 / 25 'a's + '!': max event-loop lag 147 / 92 / 211 ms, equal to the attacker's
  // durationMs (the first n runs interpreted, then tiered-up: doubling per character from there,
  // so n = 40 is hours). Every tenant of the engine waits meanwhile (nothing else is served).
  // Closed by the bounded schemas (json-schema-bounds.ts: caps, RE2, linear keywords, work budget).
  it('a tenant output cannot block the host event loop through its own schema pattern (max lag < 300 ms)', async () => {
    const attacker = returning("return { s: 'a'.repeat(25) + '!' };", "{ type: object, properties: { s: { type: string, pattern: '^(a+)+$' } } }");
    // Warm: compilation and isolate creation are out of the measurement.
    await engine.tenant('attacker').run(returning('return 1;'), null);
    const lag = await maxEventLoopLag(async () => {
      const result = await engine.tenant('attacker').run(attacker, null);
      expect(codeOf(result)).toBe('BEDDEL_OUTPUT_INVALID');
      // The run itself reports the block as its duration (guest time is ~1 ms).
      expect(result.metrics.durationMs).toBeLessThan(300);
    });
    expect(lag).toBeLessThan(300);
  }, 120_000);
});
