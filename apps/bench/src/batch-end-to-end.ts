/**
 * `beddel batch` end to end against a naive-isolate runner on the same jobs.
 *
 * The jobs file holds the 1 KB inputs of the quick corpus's non-CPU-bound transformations, spread
 * over a few tenants. Beddel runs as a user runs it: the built CLI in its own process,
 * `beddel batch jobs.jsonl` with the default audit (a file log with a key pair made on first use)
 * and the default concurrency. The naive runner reads the same file and, per job, does what most
 * isolated-vm users write: a new Isolate and context, the steps compiled, run, disposed, one job
 * after another, no audit. Its figure excludes Node's own start-up, which favours it slightly.
 * Both must produce the same outputs; the times are wall-clock.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildScenario, INPUT_SIZES, referenceOutputJson, TRANSFORMATIONS, transformationYaml } from './corpus.js';
import type { BenchTransformation } from './corpus.js';
import { naiveIsolateEngine } from './engines/naive-isolate.js';
import { TransformationCompiler } from '@beddel/transformation';

export interface BatchEndToEndResult {
  readonly jobs: number;
  readonly tenants: number;
  readonly beddelMs: number;
  readonly beddelJobsPerSec: number;
  readonly beddelFailures: number;
  readonly naiveMs: number;
  readonly naiveJobsPerSec: number;
  readonly naiveFailures: number;
  /** Beddel's jobs per second over the naive runner's (the target is >= 4). */
  readonly ratio: number;
  /** Every Beddel output equalled the reference output of its job. */
  readonly outputsVerified: boolean;
}

const CLI_BIN = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));
const SMALL = INPUT_SIZES.find((size) => size.label === '1KB') ?? { label: '1KB', bytes: 1024 };

interface Job {
  readonly tenant: string;
  readonly transformation: BenchTransformation;
  readonly input: unknown;
  readonly expectedOutputJson: string;
}

export async function batchEndToEnd(options: { readonly jobs: number; readonly tenants: number; readonly log?: (line: string) => void }): Promise<BatchEndToEndResult> {
  const transformations = TRANSFORMATIONS.filter((t) => t.id !== 'cpu-bound');
  const inputs = new Map(transformations.map((t) => [t.id, buildScenario(t, SMALL).input]));
  const jobs: Job[] = Array.from({ length: options.jobs }, (_, index) => {
    const transformation = transformations[index % transformations.length] as BenchTransformation;
    const input = inputs.get(transformation.id);
    return { tenant: `batch-${index % options.tenants}`, transformation, input, expectedOutputJson: referenceOutputJson(transformation, input) };
  });
  const dir = mkdtempSync(join(tmpdir(), 'beddel-batch-bench-'));
  try {
    for (const t of transformations) writeFileSync(join(dir, `${t.id}.yaml`), transformationYaml(t));
    const jobsFile = join(dir, 'jobs.jsonl');
    writeFileSync(jobsFile, jobs.map((job) => JSON.stringify({ tenant: job.tenant, transformation: `${job.transformation.id}.yaml`, input: job.input })).join('\n') + '\n');

    const beddel = await runBeddelBatch(jobsFile, dir);
    const lines = beddel.stdout.trim().split('\n').map((line) => JSON.parse(line) as { ok: boolean; output?: unknown; line: number });
    let beddelFailures = 0;
    let outputsVerified = lines.length === jobs.length;
    for (const [index, line] of lines.entries()) {
      if (!line.ok) beddelFailures += 1;
      else if (JSON.stringify(line.output) !== jobs[index]?.expectedOutputJson) outputsVerified = false;
    }
    options.log?.(`  beddel batch: ${jobs.length} jobs in ${beddel.ms.toFixed(0)} ms (exit ${beddel.exitCode})`);

    const naive = await naiveIsolateEngine.create();
    let naiveFailures = 0;
    const started = performance.now();
    const compiler = new TransformationCompiler();
    const files = new Map<string, BenchTransformation>();
    for (const text of readFileSync(jobsFile, 'utf8').split('\n')) {
      if (text === '') continue;
      const job = JSON.parse(text) as { tenant: string; transformation: string; input: unknown };
      let transformation = files.get(job.transformation);
      if (transformation === undefined) {
        // Like `beddel batch`, the naive runner reads and parses each transformation file once.
        const { plan } = compiler.compile(readFileSync(join(dir, job.transformation), 'utf8'));
        transformation = { id: job.transformation, description: plan.name, steps: plan.steps, makeInput: () => null };
        naive.prepare(transformation);
        files.set(job.transformation, transformation);
      }
      const result = await naive.run(transformation, job.input, job.tenant);
      if (!result.ok) naiveFailures += 1;
    }
    const naiveMs = performance.now() - started;
    await naive.close();
    options.log?.(`  naive-isolate runner: ${jobs.length} jobs in ${naiveMs.toFixed(0)} ms`);

    const beddelJobsPerSec = jobs.length / (beddel.ms / 1000);
    const naiveJobsPerSec = jobs.length / (naiveMs / 1000);
    return {
      jobs: jobs.length,
      tenants: options.tenants,
      beddelMs: beddel.ms,
      beddelJobsPerSec,
      beddelFailures,
      naiveMs,
      naiveJobsPerSec,
      naiveFailures,
      ratio: beddelJobsPerSec / naiveJobsPerSec,
      outputsVerified,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runBeddelBatch(jobsFile: string, cwd: string): Promise<{ ms: number; stdout: string; exitCode: number | null }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--no-node-snapshot', CLI_BIN, 'batch', jobsFile], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    child.on('error', reject);
    child.on('close', (exitCode) => {
      const ms = performance.now() - started;
      if (exitCode !== 0 && exitCode !== 1) reject(new Error(`beddel batch exited with ${String(exitCode)}: ${stderr}`));
      else resolve({ ms, stdout: Buffer.concat(chunks).toString('utf8'), exitCode });
    });
  });
}
