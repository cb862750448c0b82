/**
 * Backend-neutral metrics. The engine and plugins report through `MetricsSink`; a plugin such as
 * @beddel/metrics-prometheus maps the calls to a backend. Names and label keys are stable.
 */
export const MetricNames = {
  /** counter; labels: tenant, status (ok|error), code (error code or "none") */
  executions: 'beddel_executions_total',
  /** histogram, seconds; labels: tenant, status */
  executionDuration: 'beddel_execution_duration_seconds',
  /** histogram, seconds of isolate CPU; labels: tenant */
  executionCpu: 'beddel_execution_cpu_seconds',
  /** histogram, bytes of isolate heap added by one execution; labels: tenant */
  executionHeap: 'beddel_execution_heap_bytes',
  /** histogram, seconds waiting for a sandbox worker; labels: worker */
  queueWait: 'beddel_queue_wait_seconds',
  /** counter; labels: worker, reason (deadline|out-of-memory|crashed) */
  workerRestarts: 'beddel_worker_restarts_total',
  /** gauge; labels: worker */
  workerQueueDepth: 'beddel_worker_queue_depth',
  /** histogram, seconds from append to durable acknowledgement; labels: tenant, status (ok|error) */
  auditAppend: 'beddel_audit_append_seconds',
  /** gauge: tenants with a live container in the engine */
  tenantsActive: 'beddel_tenants_active',
  /** counter; labels: reason (requested, and from worker pools: lru, budget, idle) */
  tenantEvictions: 'beddel_tenant_evictions_total',
  /** counter; labels: reason (executions|heap|limit) */
  isolateRecycles: 'beddel_isolate_recycles_total',
  /** gauge: tenants with a live isolate; labels: worker */
  poolTenants: 'beddel_pool_tenants',
  /** gauge: heap accounted to pooled isolates, bytes; labels: worker */
  poolHeapBytes: 'beddel_pool_heap_bytes',
  /** gauge: sandbox worker processes running */
  workers: 'beddel_workers',
} as const;

export type MetricName = (typeof MetricNames)[keyof typeof MetricNames];
export type MetricLabels = Readonly<Record<string, string>>;

export interface MetricsSink {
  increment(name: MetricName, labels?: MetricLabels, delta?: number): void;
  observe(name: MetricName, value: number, labels?: MetricLabels): void;
  set(name: MetricName, value: number, labels?: MetricLabels): void;
}

export const noopMetrics: MetricsSink = {
  increment: () => undefined,
  observe: () => undefined,
  set: () => undefined,
};
