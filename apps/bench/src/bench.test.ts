import { describe, expect, it } from 'vitest';
import { runBench } from './bench.js';
import { renderChart } from './chart.js';
import { buildScenarios, TRANSFORMATIONS, transformationYaml } from './corpus.js';
import { renderMarkdown, renderText } from './report.js';

const TINY = { warmupIterations: 3, warmupMaxMs: 50, minMs: 0, minIterations: 5, maxMs: 2000, maxIterations: 5 };

describe('corpus', () => {
  it('builds inputs near their target size and reference outputs for every scenario', () => {
    const scenarios = buildScenarios(TRANSFORMATIONS.map((t) => `${t.id}@1KB`).concat(['array-aggregate@100KB']));
    for (const scenario of scenarios) {
      expect(scenario.inputBytes).toBeGreaterThanOrEqual(scenario.size.bytes);
      expect(scenario.inputBytes).toBeLessThan(scenario.size.bytes * 1.5);
      expect(scenario.expectedOutputJson.length).toBeGreaterThan(2);
    }
    const aggregate = JSON.parse(scenarios.at(-1)?.expectedOutputJson ?? '{}') as { itemCount: number };
    expect(aggregate.itemCount).toBeGreaterThan(900);
    expect(() => buildScenarios(['object-map@2KB'])).toThrow(/Unknown scenario/);
    expect(transformationYaml(TRANSFORMATIONS[0]!)).toContain('apiVersion: beddel/v1');
  });
});

describe('runBench with a tiny iteration count', () => {
  it('reports every engine on the same scenario, in the JSON shape the issue asks for', async () => {
    const report = await runBench({
      quick: true,
      scenarios: ['pipeline-5@1KB'],
      budget: TINY,
      coldStartTenants: 2,
      manyTenants: { tenants: 6, rounds: 1 },
      hostileNeighbour: { windowMs: 300, baselineMs: 200, attacks: ['validate-backtracking'] },
      batchEndToEnd: { jobs: 40, tenants: 2 },
    });
    const engines = report.results.map((r) => r.engine);
    expect(engines).toEqual(['beddel-supervised', 'beddel-supervised:c4', 'beddel-in-process', 'beddel-frozen-realm', 'beddel-frozen-realm:c4', 'naive-isolate', 'node-vm', 'quickjs']);
    for (const row of report.results) {
      expect(row).toMatchObject({ scenario: 'pipeline-5@1KB', successRate: 1, outputVerified: true });
      for (const key of ['opsPerSec', 'p50Ms', 'p95Ms', 'p99Ms', 'avgHeapBytesPerExec'] as const) expect(Number.isFinite(row[key])).toBe(true);
      expect(row.samples).toBeGreaterThanOrEqual(5);
    }
    expect(report.results[0]?.workerRssAfterBytes).toBeGreaterThan(0);
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.targets.map((t) => t.id)).toContain('p99-small');
    expect(report.coldStart.map((c) => c.engine)).toEqual(['beddel-supervised', 'beddel-in-process', 'beddel-frozen-realm']);
    expect(report.workerScaling.map((s) => s.workers)).toEqual([1, 2]);
    expect(report.manyTenants).toMatchObject({ tenants: 6, successRate: 1 });
    expect(report.hostileNeighbour?.attacks.map((a) => a.attack)).toEqual(['validate-backtracking']);
    expect(report.hostileNeighbour?.attacks[0]?.samples).toBeGreaterThan(0);
    expect(report.hostileNeighbour?.attacks[0]?.attackRuns).toBeGreaterThan(0);
    expect(renderText(report)).toContain('Hostile neighbour');
    expect(report.batchEndToEnd).toMatchObject({ jobs: 40, beddelFailures: 0, naiveFailures: 0, outputsVerified: true });
    expect(report.batchEndToEnd?.ratio).toBeGreaterThan(0);

    const json = JSON.parse(JSON.stringify(report)) as { machine: object; results: Array<Record<string, unknown>> };
    expect(Object.keys(json.results[0] ?? {})).toEqual(
      expect.arrayContaining(['engine', 'scenario', 'opsPerSec', 'p50Ms', 'p95Ms', 'p99Ms', 'avgHeapBytesPerExec', 'successRate']),
    );
    expect(renderText(report)).toContain('naive-isolate');
    expect(renderMarkdown(report)).toContain('| pipeline-5@1KB | quickjs |');
    const svg = renderChart(report.results, 'test');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('beddel-supervised:c4');
    expect(svg).not.toMatch(/NaN|Infinity/);
  }, 60_000);
});
