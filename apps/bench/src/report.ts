import type { BenchReport } from './bench.js';
import { formatBytes, formatMs, formatOps, formatPercent, markdownTable, textTable } from './format.js';
import type { SoakReport } from './soak.js';

const RESULT_HEADER = ['scenario', 'engine', 'in flight', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'heap/exec', 'host CPU ms/exec', 'success', 'host RSS before -> after', 'worker RSS before -> after'];

function resultRows(report: BenchReport): string[][] {
  const scenarios = [...new Set(report.results.map((r) => r.scenario))];
  const rows: string[][] = [];
  for (const scenario of scenarios) {
    for (const r of report.results.filter((cell) => cell.scenario === scenario)) {
      rows.push([
        r.scenario,
        r.engine,
        String(r.concurrency),
        formatOps(r.opsPerSec),
        formatMs(r.p50Ms),
        formatMs(r.p95Ms),
        formatMs(r.p99Ms),
        formatBytes(r.avgHeapBytesPerExec),
        r.hostCpuMsPerExec.toFixed(3),
        formatPercent(r.successRate),
        `${formatBytes(r.rssBeforeBytes)} -> ${formatBytes(r.rssAfterBytes)}`,
        r.workerRssBeforeBytes === undefined ? '-' : `${formatBytes(r.workerRssBeforeBytes)} -> ${formatBytes(r.workerRssAfterBytes)}`,
      ]);
    }
  }
  return rows;
}

function targetRows(report: BenchReport): string[][] {
  return report.targets.map((t) => [
    t.id,
    t.target,
    t.measured === null ? '-' : t.id.startsWith('heap') ? formatBytes(t.measured) : t.id.startsWith('p99') ? `${formatMs(t.measured)} ms` : t.id.startsWith('host-cpu') ? `${t.measured.toFixed(3)} ms` : t.id === 'success-rate' ? formatPercent(t.measured) : `${t.measured.toFixed(2)}x`,
    t.pass === null ? 'n/a' : t.pass ? 'PASS' : 'MISS',
  ]);
}

function ratioRows(report: BenchReport): string[][] {
  const ratios = report.targets.filter((t) => t.id.startsWith('throughput'));
  const scenarios = [...new Set(report.results.map((r) => r.scenario))];
  return scenarios.map((scenario) => [scenario, ...ratios.map((t) => (t.perScenario[scenario] === undefined ? '-' : `${(t.perScenario[scenario] ?? 0).toFixed(2)}x`))]);
}

function extrasSections(report: BenchReport, table: (header: readonly string[], rows: readonly (readonly string[])[], left?: number) => string, heading: (title: string) => string): string[] {
  const out: string[] = [];
  if (report.coldStart.length > 0) {
    out.push(
      heading('Cold start: first run of a brand-new tenant (engine already started)'),
      table(
        ['engine', 'scenario', 'tenants', 'p50 ms', 'p95 ms', 'p99 ms', 'warm p50 ms', 'success'],
        report.coldStart.map((c) => [c.engine, c.scenario, String(c.samples), formatMs(c.p50Ms), formatMs(c.p95Ms), formatMs(c.p99Ms), formatMs(c.warmP50Ms), formatPercent(c.successRate)]),
      ),
    );
  }
  if (report.workerScaling.length > 0) {
    out.push(
      heading('Supervised throughput with 1 vs 2 worker processes (2 x workers in flight)'),
      table(
        ['workers', 'scenario', 'in flight', 'ops/s', 'p50 ms', 'p99 ms', 'success', 'engine start ms'],
        report.workerScaling.map((s) => [String(s.workers), s.scenario, String(s.concurrency), formatOps(s.opsPerSec), formatMs(s.p50Ms), formatMs(s.p99Ms), formatPercent(s.successRate), formatMs(s.engineStartMs)]),
      ),
    );
  }
  const many = report.manyTenants;
  if (many !== null) {
    out.push(
      heading(`${many.tenants.toLocaleString('en-US')} tenants round-robin (${many.rounds} rounds, default pool: 256 isolates per worker)`),
      table(
        ['engine', 'scenario', 'workers', 'in flight', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'success', 'host RSS before -> after', 'worker RSS before -> after'],
        [
          [
            many.engine,
            many.scenario,
            String(many.workers),
            String(many.concurrency),
            formatOps(many.opsPerSec),
            formatMs(many.p50Ms),
            formatMs(many.p95Ms),
            formatMs(many.p99Ms),
            formatPercent(many.successRate),
            `${formatBytes(many.rssBeforeBytes)} -> ${formatBytes(many.rssAfterBytes)}`,
            many.workerRssBeforeBytes === undefined ? '-' : `${formatBytes(many.workerRssBeforeBytes)} -> ${formatBytes(many.workerRssAfterBytes)}`,
          ],
        ],
      ),
    );
  }
  const batch = report.batchEndToEnd;
  if (batch !== null) {
    out.push(
      heading(`beddel batch end to end (CLI process, default file audit, default concurrency) vs a naive-isolate runner, same ${batch.jobs} jobs over ${batch.tenants} tenants (target >= ${BATCH_RATIO_TARGET}x)`),
      table(
        ['runner', 'jobs', 'wall ms', 'jobs/s', 'failures', 'ratio', 'outputs verified', 'verdict'],
        [
          ['beddel batch', String(batch.jobs), formatMs(batch.beddelMs), formatOps(batch.beddelJobsPerSec), String(batch.beddelFailures), `${batch.ratio.toFixed(2)}x`, batch.outputsVerified ? 'yes' : 'no', batch.ratio >= BATCH_RATIO_TARGET && batch.outputsVerified ? 'met' : 'missed'],
          ['naive-isolate runner', String(batch.jobs), formatMs(batch.naiveMs), formatOps(batch.naiveJobsPerSec), String(batch.naiveFailures), '1.00x', '-', '-'],
        ],
      ),
    );
  }
  const hostile = report.hostileNeighbour;
  if (hostile !== null) {
    out.push(
      heading(`Hostile neighbour: a victim tenant's trivial run while another tenant attacks (victim alone: p50 ${formatMs(hostile.baseline.p50Ms)} ms, p99 ${formatMs(hostile.baseline.p99Ms)} ms; target p99 <= ${HOSTILE_VICTIM_P99_TARGET_MS} ms)`),
      table(
        ['attack', 'victim runs', 'victim p50 ms', 'victim p99 ms', 'victim max ms', 'victim failures', 'attack runs', 'attack outcomes', 'verdict'],
        hostile.attacks.map((a) => [
          a.attack,
          String(a.samples),
          formatMs(a.p50Ms),
          formatMs(a.p99Ms),
          formatMs(a.maxMs),
          String(a.victimFailures),
          String(a.attackRuns),
          Object.entries(a.attackOutcomes).map(([code, count]) => `${code.replace('BEDDEL_', '')} ${count}`).join(', '),
          a.p99Ms <= HOSTILE_VICTIM_P99_TARGET_MS && a.victimFailures === 0 ? 'met' : 'missed',
        ]),
      ),
    );
  }
  return out;
}

/** Issue target: `beddel batch` end to end at least this many times the naive-isolate runner. */
export const BATCH_RATIO_TARGET = 4;

/** Issue target: the victim's p99 stays at or below this during every attack class. */
export const HOSTILE_VICTIM_P99_TARGET_MS = 50;

function machineLine(report: BenchReport): string {
  const m = report.machine;
  return `${m.date} | ${m.cpuModel} | ${m.cores} cores | ${formatBytes(m.totalMemoryBytes)} RAM | load ${m.loadAverage.join(' ')} | Node ${m.node} (V8 ${m.v8}) | ${m.platform}/${m.arch} ${m.kernel} | isolated-vm ${m.isolatedVm} | quickjs-emscripten ${m.quickjsEmscripten}`;
}

export function renderText(report: BenchReport): string {
  const heading = (title: string): string => `\n${title}`;
  return [
    `Beddel benchmark (${report.config.mode}) - ${machineLine(report)}`,
    '',
    textTable(RESULT_HEADER, resultRows(report)),
    heading('Throughput ratios (same run)'),
    textTable(['scenario', ...report.targets.filter((t) => t.id.startsWith('throughput')).map((t) => t.id.replace('throughput-', ''))], ratioRows(report), 1),
    heading('Targets'),
    textTable(['target', 'wanted', 'measured (worst case)', 'verdict'], targetRows(report)),
    ...extrasSections(report, textTable, heading),
    '',
    `finished in ${(report.durationMs / 1000).toFixed(1)} s`,
  ].join('\n');
}

export function renderMarkdown(report: BenchReport): string {
  const heading = (title: string): string => `\n#### ${title}\n`;
  return [
    `Measured ${machineLine(report)}; mode \`${report.config.mode}\`, run time ${(report.durationMs / 1000).toFixed(0)} s.`,
    '',
    markdownTable(RESULT_HEADER, resultRows(report)),
    heading('Throughput ratios (same run)'),
    markdownTable(['scenario', ...report.targets.filter((t) => t.id.startsWith('throughput')).map((t) => t.id.replace('throughput-', ''))], ratioRows(report), 1),
    heading('Targets'),
    markdownTable(['target', 'wanted', 'measured (worst case)', 'verdict'], targetRows(report)),
    ...extrasSections(report, markdownTable, heading),
    '',
  ].join('\n');
}

export function renderSoak(report: SoakReport): string {
  const row = (name: string, g: SoakReport['growth']['hostRss'] | null): string[] =>
    g === null ? [name, '-', '-', '-', '-'] : [name, formatBytes(g.meanBytes), formatBytes(g.bytesPer1kExecutions), formatBytes(g.secondHalfGrowthBytes), g.steadyGrowth ? 'GROWING' : 'flat'];
  return [
    `Soak: ${report.executions.toLocaleString('en-US')} executions, ${report.tenants} tenants, ${report.concurrency} in flight, ${report.engine}, ${report.scenarios.join(' ')}`,
    `${formatOps(report.opsPerSec)} ops/s over ${(report.elapsedMs / 1000).toFixed(1)} s, success ${formatPercent(report.successRate)}, worker restarts ${report.workerRestarts}${report.firstError === undefined ? '' : `, first error: ${report.firstError}`}`,
    '',
    textTable(['series', 'mean (2nd half)', 'slope per 1k exec', 'growth over 2nd half', 'verdict'], [row('host RSS', report.growth.hostRss), row('host heap used', report.growth.hostHeapUsed), row('worker RSS (sum)', report.growth.workerRss)], 1),
    '',
    `Rule: ${report.rule}. Verdict: ${report.steadyGrowth ? 'STEADY GROWTH' : 'no steady growth'}.`,
  ].join('\n');
}
