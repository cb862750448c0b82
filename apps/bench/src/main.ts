/**
 * `pnpm bench`: runs the Beddel benchmark in this process. See docs/benchmarks.md.
 * isolated-vm needs Node started with --no-node-snapshot; without it this re-executes itself.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostileWindows, runBench } from './bench.js';
import { hostileNeighbour } from './hostile-neighbour.js';
import { renderChart } from './chart.js';
import { chartPathFor, parseArgs, USAGE } from './cli-args.js';
import { HOSTILE_VICTIM_P99_TARGET_MS, renderMarkdown, renderSoak, renderText } from './report.js';
import { soak } from './soak.js';
import { machineInfo } from './system.js';

function relaunchWithFlag(): never {
  const result = spawnSync(process.execPath, ['--no-node-snapshot', ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

async function main(): Promise<void> {
  if (!process.execArgv.includes('--no-node-snapshot') && !(process.env.NODE_OPTIONS ?? '').includes('--no-node-snapshot')) relaunchWithFlag();
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };

  if (args.soak !== undefined) {
    const report = await soak({ executions: args.soak, tenants: args.soakTenants, mode: args.soakMode, log });
    console.log(renderSoak(report));
    if (args.json !== undefined) {
      write(args.json, `${JSON.stringify({ machine: machineInfo(), soak: report }, null, 2)}\n`);
      log(`wrote ${args.json}`);
    }
    if (report.steadyGrowth || report.successRate < 1) process.exitCode = 1;
    return;
  }

  if (args.hostile) {
    const report = await hostileNeighbour({ ...hostileWindows(args.quick), log });
    const failed = report.attacks.filter((attack) => attack.p99Ms > HOSTILE_VICTIM_P99_TARGET_MS || attack.victimFailures > 0);
    log(`hostile neighbour: ${report.attacks.length - failed.length} of ${report.attacks.length} attacks within the victim p99 target of ${HOSTILE_VICTIM_P99_TARGET_MS} ms`);
    if (args.json !== undefined) {
      write(args.json, `${JSON.stringify({ machine: machineInfo(), hostileNeighbour: report }, null, 2)}\n`);
      log(`wrote ${args.json}`);
    }
    console.log(JSON.stringify(report, null, 2));
    return;
  }

  const report = await runBench({
    quick: args.quick,
    extras: args.extras,
    log,
    ...(args.engines === undefined ? {} : { engines: args.engines }),
    ...(args.scenarios === undefined ? {} : { scenarios: args.scenarios }),
  });
  console.log(renderText(report));
  if (args.json !== undefined) {
    write(args.json, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${args.json}`);
  }
  const chartPath = args.chart ?? (args.json === undefined ? undefined : chartPathFor(args.json));
  if (chartPath !== undefined) {
    const m = report.machine;
    write(chartPath, renderChart(report.results, `${report.config.mode} run, ${m.date.slice(0, 10)}, ${m.cpuModel}, ${m.cores} cores, Node ${m.node}`));
    log(`wrote ${chartPath}`);
  }
  if (args.markdown !== undefined) {
    write(args.markdown, renderMarkdown(report));
    log(`wrote ${args.markdown}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
