import { createEngine } from '@beddel/engine';
import type { Engine } from '@beddel/engine';
import { isolatedVmExecutor } from '@beddel/executor-isolated-vm';
import { winstonLogger } from '@beddel/logger-winston';
import type { DemoSection } from './demo-section.js';
import { ExampleFiles } from './examples.js';
import { SCENARIOS } from './scenarios.js';
import { TenantRunsSection } from './tenant-runs-section.js';
import type { RunRow } from './tenant-runs-section.js';

export interface DemoOptions {
  /** Where the report goes. Default: stdout. */
  readonly out?: NodeJS.WritableStream;
  /** Where engine logs go (level warn). Default: stderr. */
  readonly logStream?: NodeJS.WritableStream;
  /** Folder holding the example transformations. Default: the repository's `examples/`. */
  readonly examplesDir?: string;
}

export interface DemoReport {
  /** 0 when every section went as expected, 1 otherwise. */
  readonly exitCode: number;
  readonly runs: readonly RunRow[];
}

/** The one engine of the demo: supervised isolated-vm executor (worker processes), winston at warn. */
function buildDemoEngine(logStream: NodeJS.WritableStream): Promise<Engine> {
  return createEngine({ plugins: [winstonLogger({ level: 'warn', stream: logStream }), isolatedVmExecutor()] });
}

/**
 * Runs the demo and prints its report. Needs no services. Sections run in order on one engine;
 * further sections (e.g. audit verification) are appended to `sections`.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const out = options.out ?? process.stdout;
  const examples = new ExampleFiles(options.examplesDir);
  const runs = new TenantRunsSection(SCENARIOS);
  const sections: readonly DemoSection[] = [runs];

  out.write('Beddel Runtime demo: untrusted transformation code from several tenants, one engine\n');
  out.write('(V8 isolates per tenant in supervised worker processes; time, CPU and heap are measured per run)\n');
  const engine = await buildDemoEngine(options.logStream ?? process.stderr);
  let passed = true;
  try {
    for (const section of sections) {
      out.write(`\n== ${section.title}\n\n`);
      passed = (await section.run({ engine, examples, out })) && passed;
    }
  } finally {
    await engine.close();
  }
  out.write(passed ? '\nAll realistic runs succeeded and every attack was blocked.\n' : '\nFAILED: some runs did not end as expected (rows marked ✗).\n');
  return { exitCode: passed ? 0 : 1, runs: runs.rows };
}
