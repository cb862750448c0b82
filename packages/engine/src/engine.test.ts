import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_LOG, BeddelError, createToken, EXECUTOR, TENANT_ID } from '@beddel/contracts';
import type { AuditEntry, AuditLog, AuditReceipt, EnginePlugin, ExecutionOutcome, ExecutionRequest, Executor, RunResult } from '@beddel/contracts';
import { isolatedVmExecutor } from '@beddel/executor-isolated-vm';
import { createEngine } from './engine.js';
import type { Engine } from './engine.js';

const ORDER_TOTAL = `
apiVersion: beddel/v1
kind: Transformation
metadata: { name: order-total, version: 1.0.0 }
spec:
  inputSchema: { type: object, required: [items] }
  outputSchema: { type: object, required: [total] }
  steps:
    - name: total
      run: |
        return input.items.reduce((s, i) => s + i.qty * i.price, 0);
    - name: result
      run: |
        return { id: input.id, total: steps.total };
`;

function transformation(body: string, extraSpec = ''): string {
  return `apiVersion: beddel/v1
kind: Transformation
metadata: { name: t, version: 1.0.0 }
spec:${extraSpec}
  steps:
    - name: only
      run: |
        ${body}
`;
}

function codeOf(result: RunResult): string {
  return result.ok ? 'ok' : result.error.code;
}

/** A fake executor that records requests and answers with a fixed output. */
class RecordingExecutor implements Executor {
  readonly requests: ExecutionRequest[] = [];
  evicted: string[] = [];
  closed = false;
  async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
    this.requests.push(request);
    await Promise.resolve();
    return { ok: true, outputJson: '{"total":1}', metrics: { durationMs: 1, cpuMs: 0.5, heapBytes: 100 } };
  }
  evictTenant(tenantId: string): Promise<void> {
    this.evicted.push(tenantId);
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

function fakeExecutorPlugin(executor: Executor): EnginePlugin {
  return { name: 'fake-executor', register: (registrar) => registrar.value(EXECUTOR, executor) };
}

describe('createEngine: plugin composition', () => {
  it('refuses to build an engine without an executor, with a stable code', async () => {
    await expect(createEngine({ plugins: [] })).rejects.toMatchObject({ code: 'BEDDEL_PLUGIN_MISSING' });
  });

  it('registers and initialises plugins in order and disposes them in reverse', async () => {
    const calls: string[] = [];
    const plugin = (name: string): EnginePlugin => ({
      name,
      register: () => calls.push(`register:${name}`),
      init: () => void calls.push(`init:${name}`),
      dispose: () => void calls.push(`dispose:${name}`),
    });
    const engine = await createEngine({ plugins: [fakeExecutorPlugin(new RecordingExecutor()), plugin('a'), plugin('b')] });
    await engine.close();
    expect(calls).toEqual(['register:a', 'register:b', 'init:a', 'init:b', 'dispose:b', 'dispose:a']);
  });

  it('disposes already initialised plugins when a later init fails', async () => {
    const calls: string[] = [];
    await expect(
      createEngine({
        plugins: [
          fakeExecutorPlugin(new RecordingExecutor()),
          { name: 'ok', register: () => undefined, dispose: () => void calls.push('dispose:ok') },
          { name: 'bad', register: () => undefined, init: () => Promise.reject(new Error('no')) },
        ],
      }),
    ).rejects.toThrow('no');
    expect(calls).toEqual(['dispose:ok']);
  });

  it('gives each tenant its own child container: tenant-scoped providers are per tenant and disposed', async () => {
    const TENANT_STATE = createToken<{ tenant: string; disposed: boolean; dispose(): void }>('test.TenantState');
    const created: Array<{ tenant: string; disposed: boolean; dispose(): void }> = [];
    const statePlugin: EnginePlugin = {
      name: 'tenant-state',
      register(registrar) {
        registrar.factory(
          TENANT_STATE,
          (resolver) => {
            const state = { tenant: resolver.resolve(TENANT_ID), disposed: false, dispose() { state.disposed = true; } };
            created.push(state);
            return state;
          },
          { scope: 'tenant' },
        );
      },
    };
    // The tenant-scoped provider is resolved by an audit-log provider that is itself tenant-scoped.
    const audit: EnginePlugin = {
      name: 'per-tenant-audit',
      register(registrar) {
        registrar.factory<AuditLog>(
          AUDIT_LOG,
          (resolver) => {
            const state = resolver.resolve(TENANT_STATE);
            return { append: (entry: AuditEntry) => Promise.resolve({ tenantId: `${state.tenant}/${entry.tenantId}`, sequence: 0, recordHash: 'h' }) };
          },
          { scope: 'tenant' },
        );
      },
    };
    const engine = await createEngine({ plugins: [fakeExecutorPlugin(new RecordingExecutor()), statePlugin, audit] });
    const a = await engine.tenant('a').run(ORDER_TOTAL, { items: [] });
    const b = await engine.tenant('b').run(ORDER_TOTAL, { items: [] });
    await engine.tenant('a').run(ORDER_TOTAL, { items: [] });
    expect(a.receipt?.tenantId).toBe('a/a');
    expect(b.receipt?.tenantId).toBe('b/b');
    expect(created.map((state) => state.tenant)).toEqual(['a', 'b']);
    await engine.evictTenant('a');
    expect(created[0]?.disposed).toBe(true);
    expect(created[1]?.disposed).toBe(false);
    await engine.close();
    expect(created[1]?.disposed).toBe(true);
  });

  it('rejects invalid tenant ids with BEDDEL_INVALID_TENANT', async () => {
    const engine = await createEngine({ plugins: [fakeExecutorPlugin(new RecordingExecutor())] });
    for (const id of ['', '../etc', 'a b', 'x'.repeat(129), '__proto__/x']) {
      expect(() => engine.tenant(id)).toThrow(BeddelError);
      try {
        engine.tenant(id);
      } catch (error) {
        expect((error as BeddelError).code).toBe('BEDDEL_INVALID_TENANT');
      }
    }
    await engine.close();
  });

  it('fails closed when the audit log cannot persist: no output is returned', async () => {
    const failingAudit: EnginePlugin = {
      name: 'failing-audit',
      register: (registrar) => registrar.value<AuditLog>(AUDIT_LOG, { append: () => Promise.reject(new Error('disk full')) }),
    };
    const engine = await createEngine({ plugins: [fakeExecutorPlugin(new RecordingExecutor()), failingAudit] });
    const result = await engine.tenant('acme').run(ORDER_TOTAL, { items: [] });
    expect(result.ok).toBe(false);
    expect(codeOf(result)).toBe('BEDDEL_AUDIT_UNAVAILABLE');
    expect('output' in result).toBe(false);
    await engine.close();
  });

  it('fail-open (opt-in) returns the result when the audit log fails, marked as not audited', async () => {
    const failingAudit: EnginePlugin = {
      name: 'failing-audit',
      register: (registrar) => registrar.value<AuditLog>(AUDIT_LOG, { append: () => Promise.reject(new Error('disk full')) }),
    };
    const engine = await createEngine({ plugins: [fakeExecutorPlugin(new RecordingExecutor()), failingAudit], auditFailure: 'fail-open' });
    const result = await engine.tenant('acme').run(ORDER_TOTAL, { items: [] });
    expect(result).toMatchObject({ ok: true, output: { total: 1 }, auditError: { code: 'BEDDEL_AUDIT_UNAVAILABLE' } });
    expect(result.receipt).toBeUndefined();
    await engine.close();
  });

  it('audits every run, successful or not, with raw input for the log to hash', async () => {
    const entries: AuditEntry[] = [];
    const audit: EnginePlugin = {
      name: 'recording-audit',
      register: (registrar) =>
        registrar.value<AuditLog>(AUDIT_LOG, {
          append: (entry): Promise<AuditReceipt> => {
            entries.push(entry);
            return Promise.resolve({ tenantId: entry.tenantId, sequence: entries.length - 1, recordHash: `h${entries.length}` });
          },
        }),
    };
    const engine = await createEngine({ plugins: [fakeExecutorPlugin(new RecordingExecutor()), audit] });
    const ok = await engine.tenant('acme').run(ORDER_TOTAL, { items: [{ qty: 1, price: 1 }] });
    const bad = await engine.tenant('acme').run(ORDER_TOTAL, { noItems: true });
    const invalid = await engine.tenant('acme').run('kind: Nope', {});
    expect([codeOf(ok), codeOf(bad), codeOf(invalid)]).toEqual(['ok', 'BEDDEL_INPUT_INVALID', 'BEDDEL_INVALID_TRANSFORMATION']);
    expect(entries.map((entry) => [entry.status, entry.errorCode])).toEqual([
      ['ok', null],
      ['error', 'BEDDEL_INPUT_INVALID'],
      ['error', 'BEDDEL_INVALID_TRANSFORMATION'],
    ]);
    expect(entries[0]).toMatchObject({ tenantId: 'acme', profileId: 'default', input: { items: [{ qty: 1, price: 1 }] }, output: { total: 1 } });
    expect(entries[0]?.transformation).toMatchObject({ name: 'order-total', version: '1.0.0' });
    expect(entries[0]?.transformation.sourceSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(ok.receipt).toEqual({ tenantId: 'acme', sequence: 0, recordHash: 'h1' });
    await engine.close();
  });

  it('close() waits for runs in flight; later runs fail with BEDDEL_ENGINE_CLOSED', async () => {
    const executor = new RecordingExecutor();
    const engine = await createEngine({ plugins: [fakeExecutorPlugin(executor)] });
    const inFlight = engine.tenant('acme').run(ORDER_TOTAL, { items: [] });
    await engine.close();
    expect(codeOf(await inFlight)).toBe('ok');
    expect(codeOf(await engine.tenant('acme').run(ORDER_TOTAL, { items: [] }))).toBe('BEDDEL_ENGINE_CLOSED');
  });
});

describe('engine on the real isolated-vm executor', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await createEngine({ plugins: [isolatedVmExecutor({ workers: 1 })], limits: { timeoutMs: 2000, maxInputBytes: 10_000 } });
  });
  afterAll(() => engine.close());

  it('runs the order-total example end to end with measured metrics', async () => {
    const result = await engine.tenant('acme').run(ORDER_TOTAL, { id: 'o-1', items: [{ qty: 2, price: 5 }, { qty: 1, price: 3 }] });
    expect(result).toMatchObject({ ok: true, output: { id: 'o-1', total: 13 }, tenant: 'acme' });
    expect(result.executionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.transformation).toMatchObject({ name: 'order-total', version: '1.0.0' });
    expect(result.metrics.durationMs).toBeGreaterThan(0);
    expect(result.metrics.cpuMs).toBeGreaterThan(0);
    expect(result.metrics.heapBytes).toBeGreaterThan(0);
  });

  it('accepts a parsed document and a compiled transformation; compiles once per source', async () => {
    const compiled = engine.compile(ORDER_TOTAL);
    expect(engine.compile(ORDER_TOTAL)).toBe(compiled);
    const input = { items: [{ qty: 1, price: 2 }] };
    expect(await engine.tenant('acme').run(compiled, input)).toMatchObject({ ok: true, output: { total: 2 } });
  });

  it('reports invalid transformations with the path of the problem', async () => {
    const result = await engine.tenant('acme').run(transformation('return (;'), {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('BEDDEL_INVALID_TRANSFORMATION');
    expect(result.error.path).toBe('spec.steps[0].run');
    expect(result.error.hint).toMatch(/beddel validate/);
  });

  it('validates input and output against the schemas, with paths', async () => {
    const badInput = await engine.tenant('acme').run(ORDER_TOTAL, { notItems: [] });
    expect(codeOf(badInput)).toBe('BEDDEL_INPUT_INVALID');
    const badOutput = await engine.tenant('acme').run(
      transformation('return { nope: true };', '\n  outputSchema: { type: object, required: [total] }'),
      {},
    );
    expect(codeOf(badOutput)).toBe('BEDDEL_OUTPUT_INVALID');
    if (!badOutput.ok) expect(JSON.stringify(badOutput.error.details)).toMatch(/total/);
  });

  it('refuses oversized and non-JSON input before anything runs', async () => {
    expect(codeOf(await engine.tenant('acme').run(ORDER_TOTAL, { items: ['x'.repeat(20_000)] }))).toBe('BEDDEL_INPUT_TOO_LARGE');
    expect(codeOf(await engine.tenant('acme').run(ORDER_TOTAL, { items: [10n] }))).toBe('BEDDEL_INPUT_INVALID');
  });

  it('transformation limits tighten the profile but never loosen it', async () => {
    const tight = await engine.tenant('acme').run(transformation('while (true) {}', '\n  limits: { timeoutMs: 150 }'), {});
    expect(codeOf(tight)).toBe('BEDDEL_TIMEOUT');
    expect(tight.metrics.durationMs).toBeLessThan(1500);
    const loose = await engine.tenant('acme').run(transformation('while (true) {}', '\n  limits: { timeoutMs: 60000 }'), {});
    expect(codeOf(loose)).toBe('BEDDEL_TIMEOUT');
    expect(loose.metrics.durationMs).toBeLessThan(5000);
  });

  it('reports guest exceptions with the step name and message, never a host stack', async () => {
    const result = await engine.tenant('acme').run(transformation('throw new Error("bad data");'), {});
    expect(result).toMatchObject({ ok: false, error: { code: 'BEDDEL_RUNTIME_ERROR', message: 'Error: bad data', step: 'only' } });
    expect(JSON.stringify(result)).not.toMatch(/node:internal|\/work\/|at Object/);
  });

  it('keeps tenants apart through the whole engine', async () => {
    await engine.tenant('tenant-a').run(transformation('globalThis.secret = input.s; Object.prototype.s = input.s; return 1;'), { s: 'a-secret' });
    const probe = await engine.tenant('tenant-b').run(transformation('return [typeof globalThis.secret, ({}).s === undefined];'), {});
    expect(probe).toMatchObject({ ok: true, output: ['undefined', true] });
  });
});
