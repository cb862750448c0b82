export { DURATION_BUCKETS, HEAP_BUCKETS, METRIC_DEFINITIONS, PrometheusMetricsSink, QUEUE_WAIT_BUCKETS, prometheusMetrics, serveMetrics } from './prometheus-metrics.js';
export type { MetricsServer, PrometheusMetricsOptions, PrometheusMetricsPlugin, ServeMetricsOptions } from './prometheus-metrics.js';
