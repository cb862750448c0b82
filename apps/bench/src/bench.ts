import { buildScenarios, QUICK_SCENARIOS, allScenarioIds } from './corpus.js';
import type { Scenario } from './corpus.js';
import { BEDDEL_DEFAULT_ENGINE, ENGINES } from './engines/index.js';
import type { EngineFactory } from './engines/types.js';
import { coldStart, manyTenants, workerScaling } from './extras.js';
import { batchEndToEnd } from './batch-end-to-end.js';
import type { BatchEndToEndResult } from './batch-end-to-end.js';
import { hostileNeighbour } from './hostile-neighbour.js';
import type { HostileNeighbourOptions, HostileNeighbourReport } from './hostile-neighbour.js';
import type { ColdStartResult, ManyTenantsResult, ScalingResult } from './extras.js';
import { measureCell } from './runner.js';
import type { Budget, CellResult } from './runner.js';
import { machineInfo } from './system.js';
import type { MachineInfo } from './system.js';
import { checkTargets } from './targets.js';
import type { TargetCheck } from './targets.js';
import { balancedTenants } from './tenants.js';

export interface BenchOptions {
  readonly quick: boolean;
  /** Engine ids to run (default: all). */
  readonly engines?: readonly string[];
  /** Scenario ids to run (default: the quick set or every scenario). */
  readonly scenarios?: readonly string[];
  /** Cold start, worker scaling, 1,000 tenants. Default true. */
  readonly extras?: boolean;
  /** Override the measurement budget (tests use tiny ones). */
  readonly budget?: Budget;
  /** Tenants and rounds of the many-tenants run. */
  readonly manyTenants?: { readonly tenants: number; readonly rounds: number };
  readonly coldStartTenants?: number;
  /** Windows and attack ids of the hostile-neighbour run (default: every attack; see hostile-neighbour.ts). */
  readonly hostileNeighbour?: Omit<HostileNeighbourOptions, 'log'>;
  /** Jobs and tenants of the `beddel batch` end-to-end run (default: 1,000 / 4,000 jobs over 10 tenants). */
  readonly batchEndToEnd?: { readonly jobs: number; readonly tenants: number };
  readonly log?: (line: string) => void;
}

export interface BenchReport {
  readonly machine: MachineInfo;
  readonly config: {
    readonly mode: 'quick' | 'full';
    readonly budget: Budget;
    readonly engines: readonly { readonly id: string; readonly description: string }[];
    readonly scenarios: readonly { readonly id: string; readonly description: string; readonly inputBytes: number }[];
  };
  readonly results: readonly CellResult[];
  readonly coldStart: readonly ColdStartResult[];
  readonly workerScaling: readonly ScalingResult[];
  readonly manyTenants: ManyTenantsResult | null;
  /** A victim tenant's latency while another tenant attacks (see hostile-neighbour.ts). */
  readonly hostileNeighbour: HostileNeighbourReport | null;
  /** `beddel batch` (CLI, default audit) against a naive-isolate runner on the same jobs. */
  readonly batchEndToEnd: BatchEndToEndResult | null;
  readonly targets: readonly TargetCheck[];
  readonly durationMs: number;
}

export const QUICK_BUDGET: Budget = { warmupIterations: 20, warmupMaxMs: 300, minMs: 400, minIterations: 20, maxMs: 1000, maxIterations: 20_000 };
export const FULL_BUDGET: Budget = { warmupIterations: 100, warmupMaxMs: 1500, minMs: 2500, minIterations: 50, maxMs: 5000, maxIterations: 200_000 };

function selectEngines(ids: readonly string[] | undefined): EngineFactory[] {
  if (ids === undefined) return [...ENGINES];
  return ids.map((id) => {
    const factory = ENGINES.find((engine) => engine.id === id);
    if (factory === undefined) throw new Error(`Unknown engine ${id}; known: ${ENGINES.map((engine) => engine.id).join(', ')}`);
    return factory;
  });
}

/** Runs every engine on every scenario in this process, then the extra scenarios. */
/** Attack and baseline windows of the hostile-neighbour run, quick or full. */
export function hostileWindows(quick: boolean): Omit<HostileNeighbourOptions, 'log'> {
  return quick ? { windowMs: 1500, baselineMs: 1000 } : { windowMs: 4000, baselineMs: 3000 };
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const budget = options.budget ?? (options.quick ? QUICK_BUDGET : FULL_BUDGET);
  const scenarios = buildScenarios(options.scenarios ?? (options.quick ? QUICK_SCENARIOS : allScenarioIds()));
  const factories = selectEngines(options.engines);
  const results: CellResult[] = [];
  let concurrentId: string | undefined;

  for (const factory of factories) {
    log(`engine ${factory.id}`);
    const engine = await factory.create();
    try {
      for (const scenario of scenarios) engine.prepare(scenario.transformation);
      for (const scenario of scenarios) {
        const cell = await measureCell(engine, factory.id, scenario, [`${factory.id}-warm`], budget);
        results.push(cell);
        log(`  ${scenario.id.padEnd(24)} ${cell.opsPerSec.toFixed(0).padStart(7)} ops/s  p99 ${cell.p99Ms.toFixed(2)} ms  ok ${(cell.successRate * 100).toFixed(1)} %`);
        if (engine.parallelism > 1) {
          const lanes = balancedTenants(`${factory.id}-lane`, 2 * engine.parallelism, engine.parallelism);
          const id = `${factory.id}:c${lanes.length}`;
          if (factory.id === BEDDEL_DEFAULT_ENGINE) concurrentId = id;
          const concurrent = await measureCell(engine, id, scenario, lanes, budget);
          results.push(concurrent);
          log(`  ${scenario.id.padEnd(24)} ${concurrent.opsPerSec.toFixed(0).padStart(7)} ops/s  p99 ${concurrent.p99Ms.toFixed(2)} ms  (${lanes.length} in flight)`);
        }
      }
    } finally {
      await engine.close();
    }
  }

  const extras = options.extras ?? true;
  const coldResults: ColdStartResult[] = [];
  const scaling: ScalingResult[] = [];
  let many: ManyTenantsResult | null = null;
  const small: Scenario | undefined = scenarios.find((s) => s.id === 'object-map@1KB') ?? scenarios[0];
  if (extras && small !== undefined) {
    for (const factory of factories.filter((f) => f.id.startsWith('beddel'))) {
      log(`cold start ${factory.id}`);
      const engine = await factory.create();
      try {
        coldResults.push(await coldStart(engine, small, options.coldStartTenants ?? (options.quick ? 30 : 150), `cold-${factory.id}`));
      } finally {
        await engine.close();
      }
    }
    for (const workers of [1, 2]) {
      log(`worker scaling: ${workers} worker(s)`);
      scaling.push(await workerScaling(small, workers, budget));
    }
    const manyOptions = options.manyTenants ?? { tenants: 1000, rounds: options.quick ? 2 : 3 };
    log(`${manyOptions.tenants} tenants round-robin`);
    many = await manyTenants(small, manyOptions.tenants, manyOptions.rounds);
  }
  let hostile: HostileNeighbourReport | null = null;
  let batch: BatchEndToEndResult | null = null;
  if (extras) {
    log('beddel batch end to end (default audit) vs a naive-isolate runner');
    batch = await batchEndToEnd({ ...(options.batchEndToEnd ?? { jobs: options.quick ? 1000 : 4000, tenants: 10 }), log });
    log('hostile neighbour: a victim tenant while another tenant attacks');
    hostile = await hostileNeighbour({ ...(options.hostileNeighbour ?? hostileWindows(options.quick)), log });
  }

  return {
    machine: machineInfo(),
    config: {
      mode: options.quick ? 'quick' : 'full',
      budget,
      engines: factories.map((f) => ({ id: f.id, description: f.description })),
      scenarios: scenarios.map((s) => ({ id: s.id, description: s.transformation.description, inputBytes: s.inputBytes })),
    },
    results,
    coldStart: coldResults,
    workerScaling: scaling,
    manyTenants: many,
    hostileNeighbour: hostile,
    batchEndToEnd: batch,
    targets: checkTargets(results, BEDDEL_DEFAULT_ENGINE, concurrentId),
    durationMs: performance.now() - started,
  };
}
