import type { Scenario } from './corpus.js';
import { createBeddelBench } from './engines/beddel.js';
import type { BenchEngine } from './engines/types.js';
import { measureLoop } from './runner.js';
import type { Budget } from './runner.js';
import { summariseLatencies } from './stats.js';
import type { LatencySummary } from './stats.js';
import { balancedTenants } from './tenants.js';
import { totalRssBytes } from './system.js';

export interface ColdStartResult extends LatencySummary {
  readonly engine: string;
  readonly scenario: string;
  /** Time to the first run of a tenant never seen before (its isolate is created on the way). */
  readonly firstRunOfNewTenant: true;
  /** Warm latency of the same engine and scenario, for comparison. */
  readonly warmP50Ms: number;
  readonly successRate: number;
}

/** First run of `count` brand-new tenants, one at a time, on an engine already started. */
export async function coldStart(engine: BenchEngine, scenario: Scenario, count: number, runTag: string): Promise<ColdStartResult> {
  engine.prepare(scenario.transformation);
  // Warm the engine itself (JIT, plan shipped to the workers) on one tenant per worker.
  for (const tenant of balancedTenants(`${runTag}-warm`, Math.max(1, engine.parallelism), Math.max(1, engine.parallelism))) {
    for (let i = 0; i < 20; i++) await engine.run(scenario.transformation, scenario.input, tenant);
  }
  const latencies: number[] = [];
  let ok = 0;
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const result = await engine.run(scenario.transformation, scenario.input, `${runTag}-new-${i}`);
    latencies.push(performance.now() - t0);
    if (result.ok) ok += 1;
  }
  const warm = await measureLoop(engine, scenario, [`${runTag}-warm-0`], { minMs: 200, minIterations: 50, maxMs: 1000, maxIterations: 2000 });
  return {
    engine: engine.id,
    scenario: scenario.id,
    firstRunOfNewTenant: true,
    ...summariseLatencies(latencies),
    warmP50Ms: summariseLatencies(warm.latencies).p50Ms,
    successRate: count === 0 ? 0 : ok / count,
  };
}

export interface ScalingResult extends LatencySummary {
  readonly engine: string;
  readonly scenario: string;
  readonly workers: number;
  readonly concurrency: number;
  readonly opsPerSec: number;
  readonly successRate: number;
  /** createEngine() until the workers are ready. */
  readonly engineStartMs: number;
}

/** Throughput of supervised Beddel with `workers` processes and 2 x workers executions in flight. */
export async function workerScaling(scenario: Scenario, workers: number, budget: Budget): Promise<ScalingResult> {
  const t0 = performance.now();
  const engine = await createBeddelBench(`beddel-supervised-w${workers}`, { mode: 'supervised', workers });
  const engineStartMs = performance.now() - t0;
  try {
    engine.prepare(scenario.transformation);
    const tenants = balancedTenants(`scale${workers}`, 2 * workers, workers);
    for (const tenant of tenants) {
      for (let i = 0; i < budget.warmupIterations; i++) await engine.run(scenario.transformation, scenario.input, tenant);
    }
    const loop = await measureLoop(engine, scenario, tenants, budget);
    return {
      engine: engine.id,
      scenario: scenario.id,
      workers,
      concurrency: tenants.length,
      opsPerSec: loop.latencies.length / (loop.elapsedMs / 1000),
      ...summariseLatencies(loop.latencies),
      successRate: loop.latencies.length === 0 ? 0 : (loop.latencies.length - loop.failures) / loop.latencies.length,
      engineStartMs,
    };
  } finally {
    await engine.close();
  }
}

export interface ManyTenantsResult extends LatencySummary {
  readonly engine: string;
  readonly scenario: string;
  readonly tenants: number;
  readonly rounds: number;
  readonly concurrency: number;
  readonly workers: number;
  readonly opsPerSec: number;
  readonly successRate: number;
  readonly firstError?: string;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly workerRssBeforeBytes?: number;
  readonly workerRssAfterBytes?: number;
}

/**
 * `tenants` tenants round-robin, `rounds` times, 2 x workers in flight, on supervised Beddel with
 * its default pool settings (256 warm isolates per worker), so the isolate pool churns.
 */
export async function manyTenants(scenario: Scenario, tenants: number, rounds: number): Promise<ManyTenantsResult> {
  const engine = await createBeddelBench('beddel-supervised', { mode: 'supervised' });
  try {
    engine.prepare(scenario.transformation);
    const workers = engine.parallelism;
    const ids = Array.from({ length: tenants }, (_, i) => `t${String(i).padStart(4, '0')}`);
    const rssBeforeBytes = process.memoryUsage().rss;
    const workerRssBeforeBytes = totalRssBytes(engine.workerPids());
    let next = 0;
    const total = tenants * rounds;
    const loop = await measureLoop(
      engine,
      scenario,
      Array.from({ length: 2 * workers }, () => ''),
      { minMs: 0, minIterations: total, maxMs: 600_000, maxIterations: total },
      () => ids[next++ % ids.length] as string,
    );
    const samples = loop.latencies.length;
    const workerRssAfterBytes = totalRssBytes(engine.workerPids());
    return {
      engine: engine.id,
      scenario: scenario.id,
      tenants,
      rounds,
      concurrency: 2 * workers,
      workers,
      opsPerSec: samples / (loop.elapsedMs / 1000),
      ...summariseLatencies(loop.latencies),
      successRate: samples === 0 ? 0 : (samples - loop.failures) / samples,
      ...(loop.firstError === undefined ? {} : { firstError: loop.firstError }),
      rssBeforeBytes,
      rssAfterBytes: process.memoryUsage().rss,
      ...(workerRssBeforeBytes === undefined ? {} : { workerRssBeforeBytes }),
      ...(workerRssAfterBytes === undefined ? {} : { workerRssAfterBytes }),
    };
  } finally {
    await engine.close();
  }
}
