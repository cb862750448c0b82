import { readFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, freemem, loadavg, platform, release, totalmem } from 'node:os';
import { createRequire } from 'node:module';

/** Resident set size of a process from /proc (Linux), in bytes; undefined where unavailable. */
export function processRssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Sum of the RSS of the given processes; undefined if none could be read. */
export function totalRssBytes(pids: readonly number[]): number | undefined {
  let total: number | undefined;
  for (const pid of pids) {
    const rss = processRssBytes(pid);
    if (rss !== undefined) total = (total ?? 0) + rss;
  }
  return total;
}

export interface MachineInfo {
  readonly date: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly availableParallelism: number;
  readonly totalMemoryBytes: number;
  readonly freeMemoryBytes: number;
  /** 1, 5 and 15 minute load averages when the run finished: other work on the machine skews figures. */
  readonly loadAverage: readonly number[];
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
  readonly arch: string;
  readonly kernel: string;
  readonly isolatedVm: string;
  readonly quickjsEmscripten: string;
}

function packageVersion(name: string): string {
  try {
    const require = createRequire(import.meta.url);
    const resolved = require.resolve(name);
    const marker = `node_modules/${name}/`;
    const root = resolved.slice(0, resolved.lastIndexOf(marker) + marker.length);
    return (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): MachineInfo {
  const cpuList = cpus();
  return {
    date: new Date().toISOString(),
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    availableParallelism: availableParallelism(),
    totalMemoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
    node: process.version,
    v8: process.versions.v8,
    platform: platform(),
    arch: arch(),
    kernel: release(),
    isolatedVm: packageVersion('isolated-vm'),
    quickjsEmscripten: packageVersion('quickjs-emscripten'),
  };
}
