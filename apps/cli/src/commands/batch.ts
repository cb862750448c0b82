import type { ReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Engine } from '@beddel/engine';
import type { RunResult } from '@beddel/contracts';
import { parseJobLine, TransformationFiles } from '../batch-job.js';
import type { BatchJob } from '../batch-job.js';
import { AUDIT_WRITE_HELP, auditWiring, auditWriteOptions } from '../audit-options.js';
import { withEngine } from '../build-engine.js';
import { CliError, CliErrorCodes, describeError, systemMessage } from '../cli-error.js';
import { engineSettings, LOG_LEVEL_HELP, logLevelOption, onePositional, parseCommandLine, usageError } from '../command-line.js';
import type { CommandUsage } from '../command-line.js';
import { writeText } from '../cli-io.js';
import type { CliIo } from '../cli-io.js';
import { STDIN } from '../input-files.js';
import { loadProfilesOption, PROFILES_HELP, profilesOption } from '../profiles-option.js';
import { ProgressBar } from '../progress-bar.js';
import { runOrdered } from '../run-ordered.js';

const USAGE: CommandUsage = { name: 'batch', synopsis: '<jobs.jsonl|-> [--concurrency <n>]' };
const DEFAULT_CONCURRENCY = 8;
const MAX_CONCURRENCY = 256;
/** Finished results allowed to wait behind a slow job, per unit of concurrency. */
const PENDING_PER_SLOT = 16;

export const BATCH_HELP = `Usage: beddel batch <jobs.jsonl|-> [options]

Runs many jobs on one engine. Each non-blank line of the jobs file (or of stdin with "-") is
  {"tenant": "<id>", "transformation": "<file.yaml>", "input": <JSON, default {}>}
where a relative transformation path is resolved from the jobs file's directory (from the
current directory for stdin). Each transformation file is read once.

Prints one JSON line per job on stdout, in the order of the jobs, each as soon as it and all
earlier jobs are done: the run result ({"ok", "output" | "error", "metrics", "receipt", ...})
with "line" (the job's line number) and "tenant". A line that cannot run (not JSON, missing fields,
unreadable transformation file, invalid tenant id) gives
  {"line": n, "ok": false, "tenant": <id or null>, "error": {"code", "message", "hint"}}
and the batch goes on. When stderr is a terminal, a progress line is drawn there.

Options:
  -c, --concurrency <n>    jobs in flight at once (default: ${DEFAULT_CONCURRENCY})
${PROFILES_HELP}
${AUDIT_WRITE_HELP}
${LOG_LEVEL_HELP}
  -h, --help               show this help

Exit codes: 0 every job succeeded, 1 at least one job failed, 2 bad usage, the jobs file
cannot be read (BEDDEL_FILE_UNREADABLE), or a bad profiles file or audit key (BEDDEL_CONFIGURATION).
`;

/** A batch output line: a run result, or the error of a line that could not run. */
export type BatchLine =
  | ({ readonly line: number } & RunResult)
  | { readonly line: number; readonly ok: false; readonly tenant: string | null; readonly error: { code: string; message: string; hint: string } };

interface NumberedLine {
  readonly line: number;
  readonly text: string;
}

export async function batchCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    () =>
      parseArgs({
        args: [...args],
        options: { concurrency: { type: 'string', short: 'c' }, ...profilesOption, ...auditWriteOptions, ...logLevelOption, help: { type: 'boolean', short: 'h' } },
        allowPositionals: true,
        strict: true,
      }),
    USAGE,
  );
  if (values.help === true) {
    await writeText(io.stdout, BATCH_HELP);
    return 0;
  }
  const jobsPath = onePositional(positionals, 'jobs file', USAGE);
  const concurrency = parseConcurrency(values.concurrency);
  const logSettings = engineSettings(io, values['log-level'], USAGE);
  const profiles = await loadProfilesOption(values.profiles);
  const fromStdin = jobsPath === STDIN;
  const baseDir = fromStdin ? process.cwd() : dirname(resolve(jobsPath));
  const file = fromStdin ? undefined : await openJobsFile(jobsPath);
  let audit;
  try {
    audit = await auditWiring(values, USAGE);
  } catch (error) {
    file?.destroy();
    throw error;
  }
  const settings = { ...logSettings, ...(profiles === undefined ? {} : { profiles }), ...(audit === undefined ? {} : { audit }) };
  let progress: ProgressBar | undefined;
  let done = 0;
  let failed = 0;
  try {
    if (io.isTTY) {
      progress = new ProgressBar(io.stderr, fromStdin ? undefined : await countJobs(jobsPath));
      progress.update(0, 0);
    }
    const source = file ?? io.stdin;
    await withEngine(settings, async (engine) => {
      const files = new TransformationFiles();
      await runOrdered(
        numberedLines(source),
        { concurrency, maxPending: concurrency * PENDING_PER_SLOT },
        (entry) => runJob(engine, files, entry, baseDir),
        async (outputLine) => {
          await writeText(io.stdout, `${JSON.stringify(outputLine)}\n`);
          done += 1;
          if (!outputLine.ok) failed += 1;
          progress?.update(done, failed);
        },
      );
    });
  } finally {
    file?.destroy();
    progress?.finish();
  }
  return failed === 0 ? 0 : 1;
}

/** Runs one line; never rejects: whatever goes wrong becomes that line's error result. */
async function runJob(engine: Engine, files: TransformationFiles, { line, text }: NumberedLine, baseDir: string): Promise<BatchLine> {
  let job: BatchJob | undefined;
  try {
    job = parseJobLine(text, baseDir);
    const tenant = engine.tenant(job.tenant);
    const transformation = await files.read(job.transformationPath);
    const result = await tenant.run(transformation, job.input);
    return { line, ...result };
  } catch (error) {
    return { line, ok: false, tenant: job?.tenant ?? null, error: describeError(error) };
  }
}

async function* numberedLines(stream: NodeJS.ReadableStream): AsyncGenerator<NumberedLine> {
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of lines) {
    line += 1;
    if (text.trim() !== '') yield { line, text };
  }
}

async function openJobsFile(path: string): Promise<ReadStream> {
  try {
    const handle = await open(resolve(path));
    return handle.createReadStream({ encoding: 'utf8' });
  } catch (error) {
    throw new CliError(CliErrorCodes.FILE_UNREADABLE, `Cannot read the jobs file ${JSON.stringify(path)}: ${systemMessage(error)}`, { cause: error });
  }
}

/** Non-blank lines of the jobs file: the progress bar's total. A second, cheap pass over the file. */
async function countJobs(path: string): Promise<number> {
  const handle = await open(resolve(path));
  let count = 0;
  for await (const line of handle.readLines()) if (line.trim() !== '') count += 1;
  return count;
}

function parseConcurrency(value: string | undefined): number {
  if (value === undefined) return DEFAULT_CONCURRENCY;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > MAX_CONCURRENCY) {
    throw usageError(USAGE, `--concurrency must be an integer from 1 to ${MAX_CONCURRENCY}; got ${JSON.stringify(value)}.`);
  }
  return parsed;
}
