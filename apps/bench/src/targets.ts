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

function byScenario(results: readonly CellResult[], engine: string): Map<string, CellResult> {
  return new Map(results.filter((r) => r.engine === engine).map((r) => [r.scenario, r]));
}

function ratioCheck(
  results: readonly CellResult[],
  id: string,
  engine: string,
  reference: string,
  minimum: number,
  description: string,
): TargetCheck {
  const ours = byScenario(results, engine);
  const theirs = byScenario(results, reference);
  const perScenario: Record<string, number> = {};
  for (const [scenario, cell] of ours) {
    const other = theirs.get(scenario);
    if (other !== undefined && other.opsPerSec > 0) perScenario[scenario] = cell.opsPerSec / other.opsPerSec;
  }
  const small = Object.entries(perScenario).filter(([scenario]) => isSmall(scenario)).map(([, ratio]) => ratio);
  const measured = small.length === 0 ? null : Math.min(...small);
  return { id, description, target: `>= ${minimum}x on every 1 KB scenario`, measured, pass: measured === null ? null : measured >= minimum, perScenario };
}

/**
 * The targets, from figures of the same run. `engine` is Beddel's default mode
 * (sequential, one execution in flight); `concurrentEngine` the same with N in flight.
 */
export function checkTargets(results: readonly CellResult[], engine: string, concurrentEngine: string | undefined): TargetCheck[] {
  const checks: TargetCheck[] = [
    ratioCheck(results, 'throughput-vs-naive-isolate', engine, 'naive-isolate', 5, `${engine} ops/s / naive-isolate ops/s, both one execution at a time`),
    ratioCheck(results, 'throughput-vs-node-vm', engine, 'node-vm', 1, `${engine} ops/s / node-vm ops/s, both one execution at a time`),
  ];
  if (concurrentEngine !== undefined) {
    checks.push(
      ratioCheck(results, 'throughput-vs-naive-isolate-concurrent', concurrentEngine, 'naive-isolate', 5, `${concurrentEngine} ops/s (executions in flight across workers) / naive-isolate ops/s`),
      ratioCheck(results, 'throughput-vs-node-vm-concurrent', concurrentEngine, 'node-vm', 1, `${concurrentEngine} ops/s (executions in flight across workers) / node-vm ops/s`),
    );
  }
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
  const p99 = worst(small.map((r) => r.p99Ms));
  checks.push({
    id: 'p99-small',
    description: `${engine} p99 latency, one execution at a time, 1 KB scenarios`,
    target: '<= 5 ms',
    measured: p99,
    pass: p99 === null ? null : p99 <= 5,
    perScenario: Object.fromEntries(small.map((r) => [r.scenario, r.p99Ms])),
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
