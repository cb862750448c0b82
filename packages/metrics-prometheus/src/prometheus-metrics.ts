import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { METRICS, MetricNames } from '@beddel/contracts';
import type { EnginePlugin, MetricLabels, MetricName, MetricsSink } from '@beddel/contracts';

/** Seconds; sub-millisecond buckets because a warm execution takes well under a millisecond of sandbox time. */
export const DURATION_BUCKETS: readonly number[] = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds spent waiting for a sandbox worker. */
export const QUEUE_WAIT_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
/** Bytes of isolate heap one execution adds; 256 KiB is the per-execution budget. */
export const HEAP_BUCKETS: readonly number[] = [4096, 16384, 65536, 131072, 262144, 524288, 1048576, 2097152, 4194304, 8388608, 16777216, 67108864];

type Kind = 'counter' | 'gauge' | 'histogram';

interface Definition {
  readonly kind: Kind;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly buckets?: readonly number[];
}

/** How each backend-neutral metric of the contract maps to Prometheus. */
export const METRIC_DEFINITIONS: Readonly<Record<MetricName, Definition>> = {
  [MetricNames.executions]: { kind: 'counter', help: 'Executions by tenant, status (ok|error) and error code ("none" on success).', labelNames: ['tenant', 'status', 'code'] },
  [MetricNames.executionDuration]: { kind: 'histogram', help: 'Wall-clock time of a run (validation, execution, audit), in seconds.', labelNames: ['tenant', 'status'], buckets: DURATION_BUCKETS },
  [MetricNames.executionCpu]: { kind: 'histogram', help: 'CPU time the isolate spent on a run, in seconds.', labelNames: ['tenant'], buckets: DURATION_BUCKETS },
  [MetricNames.executionHeap]: { kind: 'histogram', help: 'Isolate heap added by one execution, in bytes.', labelNames: ['tenant'], buckets: HEAP_BUCKETS },
  [MetricNames.queueWait]: { kind: 'histogram', help: 'Time an execution waited for its sandbox worker, in seconds.', labelNames: ['worker'], buckets: QUEUE_WAIT_BUCKETS },
  [MetricNames.workerRestarts]: { kind: 'counter', help: 'Sandbox worker processes replaced, by reason (deadline|out-of-memory|crashed).', labelNames: ['worker', 'reason'] },
  [MetricNames.workerQueueDepth]: { kind: 'gauge', help: 'Executions waiting for a sandbox worker.', labelNames: ['worker'] },
  [MetricNames.auditAppend]: { kind: 'histogram', help: 'Time from audit append to durable acknowledgement, in seconds.', labelNames: ['tenant', 'status'], buckets: DURATION_BUCKETS },
  [MetricNames.tenantsActive]: { kind: 'gauge', help: 'Tenants with a live container in the engine.', labelNames: [] },
  [MetricNames.tenantEvictions]: { kind: 'counter', help: 'Tenants evicted, by reason (requested; from worker pools: lru, budget, idle).', labelNames: ['reason'] },
  [MetricNames.isolateRecycles]: { kind: 'counter', help: 'Tenant isolates disposed and rebuilt, by reason (executions|heap|limit).', labelNames: ['reason'] },
  [MetricNames.poolTenants]: { kind: 'gauge', help: 'Tenants with a live isolate, per worker.', labelNames: ['worker'] },
  [MetricNames.poolHeapBytes]: { kind: 'gauge', help: 'Heap accounted to pooled isolates, in bytes, per worker.', labelNames: ['worker'] },
  [MetricNames.workers]: { kind: 'gauge', help: 'Sandbox worker processes running.', labelNames: [] },
};

export interface PrometheusMetricsOptions {
  /** Registry to register the metrics in. Default: a new one owned by the sink (never the global default registry). */
  readonly registry?: Registry;
  /** Prepended to every metric name, e.g. `myapp_` gives `myapp_beddel_executions_total`. */
  readonly prefix?: string;
  /**
   * Whether metrics carry a `tenant` label (default true). With many thousands of tenants, turn it
   * off to keep Prometheus' series count bounded; the figures are then totals over tenants.
   */
  readonly tenantLabel?: boolean;
}

type Metric = { readonly kind: 'counter'; readonly metric: Counter } | { readonly kind: 'gauge'; readonly metric: Gauge } | { readonly kind: 'histogram'; readonly metric: Histogram };

interface Entry {
  readonly labelNames: readonly string[];
  readonly instrument: Metric;
}

/**
 * The contract's `MetricsSink` on prom-client. It never throws into the engine: a call with an
 * unknown metric name, or a value that is not a finite number, is dropped; labels the metric does
 * not declare are dropped, declared labels that are missing become "".
 */
export class PrometheusMetricsSink implements MetricsSink {
  readonly registry: Registry;
  private readonly entries = new Map<string, Entry>();

  constructor(options: PrometheusMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    const prefix = options.prefix ?? '';
    const tenantLabel = options.tenantLabel ?? true;
    for (const [name, definition] of Object.entries(METRIC_DEFINITIONS) as [MetricName, Definition][]) {
      const labelNames = definition.labelNames.filter((label) => tenantLabel || label !== 'tenant');
      const config = { name: `${prefix}${name}`, help: definition.help, labelNames, registers: [this.registry] };
      const instrument: Metric =
        definition.kind === 'counter'
          ? { kind: 'counter', metric: new Counter(config) }
          : definition.kind === 'gauge'
            ? { kind: 'gauge', metric: new Gauge(config) }
            : { kind: 'histogram', metric: new Histogram({ ...config, buckets: [...(definition.buckets ?? DURATION_BUCKETS)] }) };
      this.entries.set(name, { labelNames, instrument });
    }
  }

  increment(name: MetricName, labels?: MetricLabels, delta = 1): void {
    const entry = this.entries.get(name);
    if (entry === undefined || !Number.isFinite(delta) || delta < 0) return;
    const values = labelValues(entry, labels);
    if (entry.instrument.kind === 'counter') entry.instrument.metric.inc(values, delta);
    else if (entry.instrument.kind === 'gauge') entry.instrument.metric.inc(values, delta);
  }

  observe(name: MetricName, value: number, labels?: MetricLabels): void {
    const entry = this.entries.get(name);
    if (entry === undefined || !Number.isFinite(value)) return;
    if (entry.instrument.kind === 'histogram') entry.instrument.metric.observe(labelValues(entry, labels), value);
  }

  set(name: MetricName, value: number, labels?: MetricLabels): void {
    const entry = this.entries.get(name);
    if (entry === undefined || !Number.isFinite(value)) return;
    if (entry.instrument.kind === 'gauge') entry.instrument.metric.set(labelValues(entry, labels), value);
  }

  /** The Prometheus text exposition of this sink's registry. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function labelValues(entry: Entry, labels: MetricLabels | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  for (const label of entry.labelNames) {
    const value = labels?.[label];
    values[label] = typeof value === 'string' ? value : '';
  }
  return values;
}

export interface MetricsServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface ServeMetricsOptions {
  /** Port to listen on; 0 picks a free one. Default 9464. */
  readonly port?: number;
  /** Interface to bind. Default 127.0.0.1: expose it wider only on purpose. */
  readonly host?: string;
  /** Default `/metrics`. */
  readonly path?: string;
}

/** A minimal HTTP endpoint (node:http) serving the sink's exposition on GET `path`. */
export async function serveMetrics(sink: PrometheusMetricsSink, options: ServeMetricsOptions = {}): Promise<MetricsServer> {
  const path = options.path ?? '/metrics';
  const host = options.host ?? '127.0.0.1';
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== path || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    sink.render().then(
      (text) => {
        response.writeHead(200, { 'content-type': sink.contentType });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      () => {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics unavailable\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 9464, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}${path}`,
    port,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error === undefined ? resolve() : reject(error)))),
  };
}

export interface PrometheusMetricsPlugin extends EnginePlugin {
  readonly sink: PrometheusMetricsSink;
  readonly registry: Registry;
  /** The Prometheus text exposition. */
  renderMetrics(): Promise<string>;
  /** Serves the exposition over HTTP (127.0.0.1 by default); closed with the engine. */
  serveMetrics(options?: ServeMetricsOptions): Promise<MetricsServer>;
}

/**
 * The metrics plugin: `createEngine({ plugins: [isolatedVmExecutor(), prometheusMetrics()] })`.
 * It provides the contract's `METRICS` sink, so the engine and the executor report to Prometheus.
 */
export function prometheusMetrics(options: PrometheusMetricsOptions = {}): PrometheusMetricsPlugin {
  const sink = new PrometheusMetricsSink(options);
  const servers: MetricsServer[] = [];
  return {
    name: 'metrics-prometheus',
    sink,
    registry: sink.registry,
    register(registrar) {
      registrar.value<MetricsSink>(METRICS, sink);
    },
    renderMetrics: () => sink.render(),
    async serveMetrics(serveOptions) {
      const server = await serveMetrics(sink, serveOptions);
      servers.push(server);
      return server;
    },
    async dispose() {
      await Promise.allSettled(servers.splice(0).map((server) => server.close()));
    },
  };
}
