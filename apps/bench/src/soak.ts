import { buildScenarios } from './corpus.js';
import { createBeddelBench } from './engines/beddel.js';
import type { ExecutorMode } from '@beddel/executor-isolated-vm';
import { linearFit } from './stats.js';
import { totalRssBytes } from './system.js';

export interface SoakOptions {
  readonly executions: number;
  readonly tenants: number;
  readonly mode: ExecutorMode;
  /** How many memory samples to take over the run. */
  readonly samples?: number;
  readonly log?: (line: string) => void;
}

export interface SoakSample {
  readonly executions: number;
  readonly elapsedMs: number;
  readonly hostRssBytes: number;
  readonly hostHeapUsedBytes: number;
  readonly workerRssBytes: number | null;
}

export interface SoakSeriesGrowth {
  /** Least-squares slope over the second half of the run, in bytes per 1,000 executions. */
  readonly bytesPer1kExecutions: number;
  /** That slope times the executions of the second half: what the line says was added there. */
  readonly secondHalfGrowthBytes: number;
  readonly meanBytes: number;
  readonly steadyGrowth: boolean;
}

export interface SoakReport {
  readonly engine: string;
  readonly executions: number;
  readonly tenants: number;
  readonly concurrency: number;
  readonly scenarios: readonly string[];
  readonly elapsedMs: number;
  readonly opsPerSec: number;
  readonly successRate: number;
  readonly firstError?: string;
  readonly workerRestarts: number;
  readonly rule: string;
  readonly growth: {
    readonly hostRss: SoakSeriesGrowth;
    readonly hostHeapUsed: SoakSeriesGrowth;
    readonly workerRss: SoakSeriesGrowth | null;
  };
  readonly steadyGrowth: boolean;
  readonly samples: readonly SoakSample[];
}

/** Growth that the fitted line puts on the second half above this share of the level counts as steady growth. */
const GROWTH_SHARE = 0.05;

export function growthOf(samples: readonly SoakSample[], value: (sample: SoakSample) => number | null): SoakSeriesGrowth | null {
  const half = samples.slice(Math.floor(samples.length / 2));
  const points: [number, number][] = [];
  for (const sample of half) {
    const v = value(sample);
    if (v !== null) points.push([sample.executions, v]);
  }
  if (points.length < 2) return null;
  const { slope } = linearFit(points);
  const span = (points[points.length - 1] as [number, number])[0] - (points[0] as [number, number])[0];
  const meanBytes = points.reduce((sum, [, v]) => sum + v, 0) / points.length;
  const secondHalfGrowthBytes = slope * span;
  return {
    bytesPer1kExecutions: slope * 1000,
    secondHalfGrowthBytes,
    meanBytes,
    steadyGrowth: secondHalfGrowthBytes > GROWTH_SHARE * meanBytes,
  };
}

const SOAK_SCENARIOS = ['object-map@1KB', 'array-aggregate@1KB', 'string-normalise@1KB', 'pipeline-5@1KB'];

/**
 * Runs `executions` executions round-robin over `tenants` tenants and a mix of small scenarios,
 * 2 x workers in flight, sampling host RSS, host heap and worker RSS along the way.
 */
export async function soak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const scenarios = buildScenarios(SOAK_SCENARIOS);
  const engine = await createBeddelBench(`beddel-${options.mode}`, { mode: options.mode });
  try {
    for (const scenario of scenarios) engine.prepare(scenario.transformation);
    const tenantIds = Array.from({ length: options.tenants }, (_, i) => `soak-${i}`);
    const concurrency = 2 * engine.parallelism;
    const sampleEvery = Math.max(1, Math.floor(options.executions / (options.samples ?? 100)));
    const samples: SoakSample[] = [];
    let started = 0;
    const sample = (executions: number): void => {
      const memory = process.memoryUsage();
      samples.push({
        executions,
        elapsedMs: performance.now() - started,
        hostRssBytes: memory.rss,
        hostHeapUsedBytes: memory.heapUsed,
        workerRssBytes: totalRssBytes(engine.workerPids()) ?? null,
      });
    };
    let issued = 0;
    let completed = 0;
    let failures = 0;
    let firstError: string | undefined;
    let nextReport = performance.now() + 10_000;
    started = performance.now();
    sample(0);
    const lane = async (): Promise<void> => {
      while (issued < options.executions) {
        const n = issued++;
        const scenario = scenarios[n % scenarios.length];
        const tenant = tenantIds[Math.floor(n / scenarios.length) % tenantIds.length];
        if (scenario === undefined || tenant === undefined) break;
        const result = await engine.run(scenario.transformation, scenario.input, tenant);
        completed += 1;
        if (!result.ok) {
          failures += 1;
          firstError ??= result.error;
        }
        if (completed % sampleEvery === 0) sample(completed);
        if (performance.now() > nextReport) {
          nextReport += 10_000;
          log(`  soak: ${completed.toLocaleString('en-US')} / ${options.executions.toLocaleString('en-US')} executions`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, () => lane()));
    const elapsedMs = performance.now() - started;
    if (samples[samples.length - 1]?.executions !== completed) sample(completed);
    const hostRss = growthOf(samples, (s) => s.hostRssBytes);
    const hostHeapUsed = growthOf(samples, (s) => s.hostHeapUsedBytes);
    const workerRss = growthOf(samples, (s) => s.workerRssBytes);
    const empty: SoakSeriesGrowth = { bytesPer1kExecutions: 0, secondHalfGrowthBytes: 0, meanBytes: 0, steadyGrowth: false };
    const growth = { hostRss: hostRss ?? empty, hostHeapUsed: hostHeapUsed ?? empty, workerRss };
    return {
      engine: engine.id,
      executions: completed,
      tenants: options.tenants,
      concurrency,
      scenarios: SOAK_SCENARIOS,
      elapsedMs,
      opsPerSec: completed / (elapsedMs / 1000),
      successRate: completed === 0 ? 0 : (completed - failures) / completed,
      ...(firstError === undefined ? {} : { firstError }),
      workerRestarts: engine.executor.workerRestarts,
      rule: `steady growth = the least-squares line over the second half adds more than ${GROWTH_SHARE * 100} % of the series' mean over that half`,
      growth,
      steadyGrowth: growth.hostRss.steadyGrowth || growth.hostHeapUsed.steadyGrowth || (workerRss?.steadyGrowth ?? false),
      samples,
    };
  } finally {
    await engine.close();
  }
}
