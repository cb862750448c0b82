import type { RunResult } from '@beddel/contracts';
import type { DemoContext, DemoSection } from './demo-section.js';
import type { Scenario } from './scenarios.js';
import { textTable } from './text-table.js';

export interface RunRow {
  readonly scenario: Scenario;
  readonly result: RunResult;
  /** `ok` or the error code. */
  readonly status: string;
  readonly note: string;
  /** The run ended as the scenario expects (and an attack that ran got nothing). */
  readonly passed: boolean;
}

/** Runs the scenarios one after another (so each time is its own) and prints one table row per run. */
export class TenantRunsSection implements DemoSection {
  readonly title = 'Tenants and attacks';
  private readonly collected: RunRow[] = [];

  constructor(private readonly scenarios: readonly Scenario[]) {}

  get rows(): readonly RunRow[] {
    return this.collected;
  }

  async run({ engine, examples, out }: DemoContext): Promise<boolean> {
    for (const scenario of this.scenarios) {
      const source = await examples.text(scenario.transformation);
      const input = scenario.input === undefined ? {} : await examples.json(scenario.input);
      const result = await engine.tenant(scenario.tenant).run(source, input);
      const status = result.ok ? 'ok' : result.error.code;
      const verdict = scenario.describe(result);
      this.collected.push({ scenario, result, status, note: verdict.note, passed: status === scenario.expected && verdict.breach !== true });
    }
    out.write(`${runsTable(this.collected)}\n\n${summary(this.collected)}\n`);
    return this.collected.every((row) => row.passed);
  }
}

function runsTable(rows: readonly RunRow[]): string {
  return textTable<RunRow>(
    [
      { header: '', value: (row) => (row.passed ? '✓' : '✗') },
      { header: 'tenant', value: (row) => row.scenario.tenant },
      { header: 'transformation', value: (row) => row.scenario.label ?? row.result.transformation?.name ?? row.scenario.transformation },
      { header: 'status', value: (row) => row.status },
      { header: 'time ms', align: 'right', value: (row) => row.result.metrics.durationMs.toFixed(1) },
      // A run stopped by tearing down its isolate (or its process) has no CPU figure left to read,
      // and a stopped run never has a heap figure: the executor reports 0 for those, shown as '-'.
      { header: 'cpu ms', align: 'right', value: (row) => (row.result.ok || row.result.metrics.cpuMs > 0 ? row.result.metrics.cpuMs.toFixed(1) : '-') },
      { header: 'heap KB', align: 'right', value: (row) => (row.result.ok ? (row.result.metrics.heapBytes / 1024).toFixed(1) : '-') },
      { header: 'note', value: (row) => row.note },
    ],
    rows,
  );
}

function summary(rows: readonly RunRow[]): string {
  const ok = rows.filter((row) => row.result.ok);
  const attacks = rows.filter((row) => row.scenario.kind === 'attack');
  const blocked = attacks.filter((row) => row.passed);
  const average = (values: readonly number[]): number => (values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length);
  const avgTimeOk = average(ok.map((row) => row.result.metrics.durationMs));
  const avgTimeAll = average(rows.map((row) => row.result.metrics.durationMs));
  const avgHeapKb = average(ok.map((row) => row.result.metrics.heapBytes)) / 1024;
  return [
    `executions: ${rows.length}  ok: ${ok.length}  blocked: ${blocked.length} of ${attacks.length} attacks`,
    `avg time/exec: ${avgTimeOk.toFixed(1)} ms (successful runs), ${avgTimeAll.toFixed(1)} ms (all runs)  avg heap/exec: ${avgHeapKb.toFixed(1)} KB (successful runs)`,
  ].join('\n');
}
