import type { CellResult } from './runner.js';

export interface TargetCheck {
  readonly id: string;
  readonly description: string;
  readonly target: string;
  /** The worst case over the scenarios the target applies to. */
  readonly measured: number | null;
  readonly pass: boolean | null;
  /** Per-scenario figures behind `measured`. */
  readonly perScenario: Readonly<Record<string, number>>;
}

const isSmall = (scenario: string): boolean => scenario.endsWith('@1KB');
const isLarge = (scenario: string): boolean => scenario.endsWith('@100KB') || scenario.endsWith('@1MB');
/** The CPU-bound scenario is its own step's ~10 ms of CPU: the latency target leaves it out. */
const isCpuBound = (scenario: string): boolean => scenario.startsWith('cpu-bound@');

function byScenario(results: readonly CellResult[], engine: string): Map<string, CellResult> {
  return new Map(results.filter((r) => r.engine === engine).map((r) => [r.scenario, r]));
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

interface RatioSpec {
  readonly id: string;
  readonly engine: string;
  readonly reference: string;
  readonly minimum: number;
  readonly description: string;
  /** Which scenarios count, and how their ratios are combined. */
  readonly scenarios: 'small' | 'large';
  readonly aggregate: 'median' | 'worst';
}

function ratioCheck(results: readonly CellResult[], spec: RatioSpec): TargetCheck {
  const ours = byScenario(results, spec.engine);
  const theirs = byScenario(results, spec.reference);
  const perScenario: Record<string, number> = {};
  const applies = spec.scenarios === 'small' ? isSmall : isLarge;
  for (const [scenario, cell] of ours) {
    const other = theirs.get(scenario);
    if (applies(scenario) && other !== undefined && other.opsPerSec > 0) perScenario[scenario] = cell.opsPerSec / other.opsPerSec;
  }
  const ratios = Object.values(perScenario);
  const measured = spec.aggregate === 'median' ? median(ratios) : ratios.length === 0 ? null : Math.min(...ratios);
  const where = spec.scenarios === 'small' ? '1 KB scenarios' : '100 KB and 1 MB scenarios';
  const target = spec.aggregate === 'median' ? `>= ${spec.minimum}x, median over the ${where}` : `>= ${spec.minimum}x on every one of the ${where}`;
  return { id: spec.id, description: spec.description, target, measured, pass: measured === null ? null : measured >= spec.minimum, perScenario };
}

/**
 * The targets, from figures of the same run. `engine` is Beddel's default mode
 * (sequential, one execution in flight); `concurrentEngine` the same with N in flight.
 */
export function checkTargets(results: readonly CellResult[], engine: string, concurrentEngine: string | undefined): TargetCheck[] {
  const checks: TargetCheck[] = [
    ratioCheck(results, { id: 'throughput-vs-naive-isolate', engine, reference: 'naive-isolate', minimum: 4, scenarios: 'small', aggregate: 'median', description: `${engine} ops/s / naive-isolate ops/s, both one execution at a time` }),
    ratioCheck(results, { id: 'throughput-vs-node-vm', engine, reference: 'node-vm', minimum: 1, scenarios: 'small', aggregate: 'median', description: `${engine} ops/s / node-vm ops/s, both one execution at a time` }),
  ];
  if (concurrentEngine !== undefined) {
    checks.push(
      ratioCheck(results, { id: 'throughput-vs-naive-isolate-concurrent', engine: concurrentEngine, reference: 'naive-isolate', minimum: 6, scenarios: 'small', aggregate: 'median', description: `${concurrentEngine} ops/s (executions in flight across workers) / naive-isolate ops/s` }),
      ratioCheck(results, { id: 'throughput-vs-node-vm-concurrent', engine: concurrentEngine, reference: 'node-vm', minimum: 1.5, scenarios: 'small', aggregate: 'median', description: `${concurrentEngine} ops/s (executions in flight across workers) / node-vm ops/s` }),
      ratioCheck(results, { id: 'throughput-concurrency-gain', engine: concurrentEngine, reference: engine, minimum: 1.7, scenarios: 'small', aggregate: 'median', description: `${concurrentEngine} ops/s / ${engine} ops/s (what executions in flight gain on this machine)` }),
    );
  }
  checks.push(
    ratioCheck(results, { id: 'throughput-large-vs-naive-isolate', engine, reference: 'naive-isolate', minimum: 1, scenarios: 'large', aggregate: 'worst', description: `${engine} ops/s / naive-isolate ops/s at 100 KB and 1 MB` }),
    ratioCheck(results, { id: 'throughput-large-vs-in-process', engine, reference: 'beddel-in-process', minimum: 0.9, scenarios: 'large', aggregate: 'worst', description: `${engine} ops/s / beddel-in-process ops/s at 100 KB and 1 MB (the cost of the process boundary)` }),
  );
  const ours = [...byScenario(results, engine).values()];
  const small = ours.filter((r) => isSmall(r.scenario));
  const worst = (values: readonly number[]): number | null => (values.length === 0 ? null : Math.max(...values));
  const heap = worst(small.map((r) => r.avgHeapBytesPerExec));
  checks.push({
    id: 'heap-per-exec-small',
    description: `${engine} average isolate heap added per execution, 1 KB scenarios`,
    target: '<= 262144 bytes (256 KB)',
    measured: heap,
    pass: heap === null ? null : heap <= 256 * 1024,
    perScenario: Object.fromEntries(small.map((r) => [r.scenario, r.avgHeapBytesPerExec])),
  });
  const latency = small.filter((r) => !isCpuBound(r.scenario));
  const p99 = worst(latency.map((r) => r.p99Ms));
  checks.push({
    id: 'p99-small',
    description: `${engine} p99 latency, one execution at a time, 1 KB scenarios except cpu-bound`,
    target: '<= 5 ms',
    measured: p99,
    pass: p99 === null ? null : p99 <= 5,
    perScenario: Object.fromEntries(latency.map((r) => [r.scenario, r.p99Ms])),
  });
  const hostCpu = worst(small.map((r) => r.hostCpuMsPerExec));
  checks.push({
    id: 'host-cpu-per-exec-small',
    description: `${engine} CPU of the host process per execution (process.cpuUsage over the loop), 1 KB scenarios`,
    target: '<= 0.1 ms',
    measured: hostCpu,
    pass: hostCpu === null ? null : hostCpu <= 0.1,
    perScenario: Object.fromEntries(small.map((r) => [r.scenario, r.hostCpuMsPerExec])),
  });
  const beddelRows = results.filter((r) => r.engine.startsWith('beddel'));
  const success = beddelRows.length === 0 ? null : Math.min(...beddelRows.map((r) => r.successRate));
  checks.push({
    id: 'success-rate',
    description: 'lowest success rate of any beddel* row (outputs checked against the reference)',
    target: '= 100 %',
    measured: success,
    pass: success === null ? null : success === 1,
    perScenario: Object.fromEntries(beddelRows.map((r) => [`${r.engine} ${r.scenario}`, r.successRate])),
  });
  return checks;
}
