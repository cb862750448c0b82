import { afterEach, describe, expect, it } from 'vitest';
import { Registry, register as globalRegistry } from 'prom-client';
import { MetricNames } from '@beddel/contracts';
import { createEngine } from '@beddel/engine';
import type { Engine } from '@beddel/engine';
import { isolatedVmExecutor } from '@beddel/executor-isolated-vm';
import { PrometheusMetricsSink, prometheusMetrics, serveMetrics } from './prometheus-metrics.js';

const DOUBLE = `apiVersion: beddel/v1
kind: Transformation
metadata:
  name: double
  version: "1.0.0"
spec:
  steps:
    - name: double
      run: |
        return { value: input.value * 2 };
`;

const THROWS = `apiVersion: beddel/v1
kind: Transformation
metadata:
  name: throws
  version: "1.0.0"
spec:
  steps:
    - name: boom
      run: |
        throw new Error('boom');
`;

/** The value of one sample line of the exposition, e.g. `name{a="b"} 3`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const open = line.indexOf('{');
    const close = line.lastIndexOf('}');
    const labelText = open === -1 || open > name.length ? '' : line.slice(open + 1, close);
    const present = labelText === '' ? [] : labelText.split(',');
    if (present.length === wanted.length && wanted.every((label) => present.includes(label))) {
      return Number(line.slice((close === -1 ? name.length : close + 1)).trim());
    }
  }
  return undefined;
}

describe('prometheusMetrics with a real engine', () => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('counts executions by tenant, status and code, and fills the histograms', async () => {
    const metrics = prometheusMetrics();
    engine = await createEngine({ plugins: [isolatedVmExecutor({ workers: 1 }), metrics] });
    const double = engine.compile(DOUBLE);
    const throws = engine.compile(THROWS);
    for (let i = 0; i < 3; i++) expect((await engine.tenant('acme').run(double, { value: i })).ok).toBe(true);
    expect((await engine.tenant('globex').run(double, { value: 1 })).ok).toBe(true);
    const failed = await engine.tenant('acme').run(throws, {});
    expect(failed.ok).toBe(false);
    const code = failed.ok ? '' : failed.error.code;
    expect(code).toBe('BEDDEL_RUNTIME_ERROR');

    const text = await metrics.renderMetrics();
    const executions = MetricNames.executions;
    expect(text).toContain(`# TYPE ${executions} counter`);
    expect(sample(text, executions, { tenant: 'acme', status: 'ok', code: 'none' })).toBe(3);
    expect(sample(text, executions, { tenant: 'globex', status: 'ok', code: 'none' })).toBe(1);
    expect(sample(text, executions, { tenant: 'acme', status: 'error', code })).toBe(1);

    const duration = MetricNames.executionDuration;
    expect(text).toContain(`# TYPE ${duration} histogram`);
    expect(sample(text, `${duration}_count`, { tenant: 'acme', status: 'ok' })).toBe(3);
    expect(sample(text, `${duration}_bucket`, { tenant: 'acme', status: 'ok', le: '+Inf' })).toBe(3);
    expect(text).toMatch(new RegExp(`${duration}_bucket\\{le="0.00025"`));
    expect(sample(text, `${MetricNames.executionHeap}_count`, { tenant: 'acme' })).toBe(4);
    expect(sample(text, `${MetricNames.executionCpu}_count`, { tenant: 'globex' })).toBe(1);
    // Reported by the supervised executor: 5 executions waited for worker 0.
    expect(sample(text, `${MetricNames.queueWait}_count`, { worker: '0' })).toBe(5);
    expect(sample(text, MetricNames.tenantsActive, {})).toBe(2);
    // Set by the supervised pool when its workers start.
    expect(sample(text, MetricNames.workers, {})).toBeGreaterThanOrEqual(1);

    await engine.evictTenant('globex');
    const after = await metrics.renderMetrics();
    expect(sample(after, MetricNames.tenantEvictions, { reason: 'requested' })).toBe(1);
    expect(sample(after, MetricNames.tenantsActive, {})).toBe(1);
  });

  it('uses its own registry, never the global default one, and honours prefix and tenantLabel', async () => {
    const registry = new Registry();
    const metrics = prometheusMetrics({ registry, prefix: 'svc_', tenantLabel: false });
    expect(metrics.registry).toBe(registry);
    engine = await createEngine({ plugins: [isolatedVmExecutor({ workers: 1 }), metrics] });
    await engine.tenant('acme').run(engine.compile(DOUBLE), { value: 2 });
    const text = await registry.metrics();
    expect(sample(text, `svc_${MetricNames.executions}`, { status: 'ok', code: 'none' })).toBe(1);
    expect(text).not.toContain('tenant="acme"');
    expect(await globalRegistry.metrics()).not.toContain(MetricNames.executions);
  });
});

describe('PrometheusMetricsSink', () => {
  it('drops what it cannot map instead of throwing into the engine', async () => {
    const sink = new PrometheusMetricsSink();
    sink.increment(MetricNames.workerRestarts, { worker: '1', reason: 'crashed', extra: 'dropped' });
    sink.increment(MetricNames.workerRestarts, { worker: '1', reason: 'crashed' }, 2);
    sink.observe(MetricNames.executionDuration, Number.NaN, { tenant: 'a', status: 'ok' });
    sink.set(MetricNames.workerQueueDepth, 7, { worker: '0' });
    sink.increment('not_a_metric' as typeof MetricNames.executions);
    sink.observe(MetricNames.executions, 1); // not a histogram: ignored
    const text = await sink.render();
    expect(sample(text, MetricNames.workerRestarts, { worker: '1', reason: 'crashed' })).toBe(3);
    expect(sample(text, MetricNames.workerQueueDepth, { worker: '0' })).toBe(7);
    expect(text).not.toContain(`${MetricNames.executionDuration}_count{`);
    expect(text).not.toContain('extra=');
  });

  it('serves the exposition on 127.0.0.1 over node:http', async () => {
    const sink = new PrometheusMetricsSink();
    sink.observe(MetricNames.auditAppend, 0.002, { tenant: 'acme', status: 'ok' });
    const server = await serveMetrics(sink, { port: 0 });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const response = await fetch(server.url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      expect(sample(await response.text(), `${MetricNames.auditAppend}_count`, { tenant: 'acme', status: 'ok' })).toBe(1);
      expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
