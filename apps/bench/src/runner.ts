import type { Scenario } from './corpus.js';
import type { BenchEngine } from './engines/types.js';
import { mean, summariseLatencies } from './stats.js';
import type { LatencySummary } from './stats.js';
import { totalRssBytes } from './system.js';

export interface Budget {
  /** Warm-up runs per tenant (not measured; the first ones are checked against the reference output). */
  readonly warmupIterations: number;
  /** Stop warming up a tenant after this long even if fewer iterations ran. */
  readonly warmupMaxMs: number;
  /** Measure at least this long and at least `minIterations` runs ... */
  readonly minMs: number;
  readonly minIterations: number;
  /** ... but never longer than this, nor more than `maxIterations` runs. */
  readonly maxMs: number;
  readonly maxIterations: number;
}

export interface CellResult extends LatencySummary {
  readonly engine: string;
  readonly scenario: string;
  /** Executions kept in flight (1 = sequential latency). */
  readonly concurrency: number;
  readonly inputBytes: number;
  readonly opsPerSec: number;
  readonly avgHeapBytesPerExec: number;
  /** Share of measured runs that succeeded, times "the verified outputs matched the reference". */
  readonly successRate: number;
  readonly failures: number;
  readonly outputVerified: boolean;
  readonly firstError?: string;
  /**
   * CPU time of this (the host) process per measured execution: user + system from
   * `process.cpuUsage()` over the measured loop, divided by its executions. For engines whose
   * sandboxes live in worker processes this is the host's own cost; for in-process engines it
   * includes the guest code itself.
   */
  readonly hostCpuMsPerExec: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly workerRssBeforeBytes?: number;
  readonly workerRssAfterBytes?: number;
}

const VERIFY_RUNS = 3;

/** Runs warm-up on every tenant, checking the first outputs against the reference. */
async function warmUp(engine: BenchEngine, scenario: Scenario, tenants: readonly string[], budget: Budget): Promise<{ verified: boolean; error?: string }> {
  let verified = true;
  let error: string | undefined;
  for (const tenant of tenants) {
    const started = performance.now();
    for (let i = 0; i < Math.max(1, budget.warmupIterations); i++) {
      const result = await engine.run(scenario.transformation, scenario.input, tenant);
      if (i < VERIFY_RUNS) {
        if (!result.ok) {
          verified = false;
          error ??= result.error ?? 'failed';
        } else if (JSON.stringify(result.output) !== scenario.expectedOutputJson) {
          verified = false;
          error ??= 'the output differs from the reference output';
        }
      }
      if (performance.now() - started > budget.warmupMaxMs && i >= VERIFY_RUNS - 1) break;
    }
  }
  return error === undefined ? { verified } : { verified, error };
}

interface LoopOutcome {
  readonly latencies: number[];
  readonly heap: number[];
  readonly failures: number;
  readonly elapsedMs: number;
  readonly firstError?: string;
}

/**
 * Keeps `lanes.length` executions in flight, lane i always using tenant lanes[i] (or, when
 * `nextTenant` is given, taking the next tenant from it for every run), until the budget is spent.
 */
export async function measureLoop(
  engine: BenchEngine,
  scenario: Scenario,
  lanes: readonly string[],
  budget: Pick<Budget, 'minMs' | 'minIterations' | 'maxMs' | 'maxIterations'>,
  nextTenant?: () => string,
): Promise<LoopOutcome> {
  const latencies: number[] = [];
  const heap: number[] = [];
  let failures = 0;
  let firstError: string | undefined;
  let started = 0;
  const done = (): boolean => {
    const elapsed = performance.now() - started;
    const count = latencies.length;
    return count >= budget.maxIterations || elapsed >= budget.maxMs || (elapsed >= budget.minMs && count >= budget.minIterations);
  };
  const lane = async (tenant: string): Promise<void> => {
    while (!done()) {
      const t0 = performance.now();
      const result = await engine.run(scenario.transformation, scenario.input, nextTenant?.() ?? tenant);
      latencies.push(performance.now() - t0);
      heap.push(result.heapBytes);
      if (!result.ok) {
        failures += 1;
        firstError ??= result.error;
      }
    }
  };
  started = performance.now();
  await Promise.all(lanes.map((tenant) => lane(tenant)));
  const elapsedMs = performance.now() - started;
  return { latencies, heap, failures, elapsedMs, ...(firstError === undefined ? {} : { firstError }) };
}

export async function measureCell(
  engine: BenchEngine,
  engineId: string,
  scenario: Scenario,
  tenants: readonly string[],
  budget: Budget,
): Promise<CellResult> {
  const rssBeforeBytes = process.memoryUsage().rss;
  const workerRssBeforeBytes = totalRssBytes(engine.workerPids());
  const warm = await warmUp(engine, scenario, tenants, budget);
  const cpuBefore = process.cpuUsage();
  const loop = await measureLoop(engine, scenario, tenants, budget);
  const cpu = process.cpuUsage(cpuBefore);
  const rssAfterBytes = process.memoryUsage().rss;
  const workerRssAfterBytes = totalRssBytes(engine.workerPids());
  const samples = loop.latencies.length;
  const succeeded = warm.verified ? samples - loop.failures : 0;
  const firstError = loop.firstError ?? warm.error;
  return {
    engine: engineId,
    scenario: scenario.id,
    concurrency: tenants.length,
    inputBytes: scenario.inputBytes,
    opsPerSec: samples / (loop.elapsedMs / 1000),
    ...summariseLatencies(loop.latencies),
    avgHeapBytesPerExec: mean(loop.heap),
    successRate: samples === 0 ? 0 : succeeded / samples,
    failures: samples - succeeded,
    outputVerified: warm.verified,
    hostCpuMsPerExec: samples === 0 ? Number.NaN : (cpu.user + cpu.system) / 1000 / samples,
    ...(firstError === undefined ? {} : { firstError }),
    rssBeforeBytes,
    rssAfterBytes,
    ...(workerRssBeforeBytes === undefined ? {} : { workerRssBeforeBytes }),
    ...(workerRssAfterBytes === undefined ? {} : { workerRssAfterBytes }),
  };
}
