import { mkdtemp, mkdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll } from 'vitest';
import { main } from '../main.js';

/** A writable stream that keeps what is written, as text. */
export class TextSink extends Writable {
  text = '';

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    callback();
  }
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process with fake streams. */
export async function runCli(argv: readonly string[], options: { stdin?: string; isTTY?: boolean } = {}): Promise<CliRun> {
  const stdout = new TextSink();
  const stderr = new TextSink();
  const code = await main(argv, { stdout, stderr, stdin: Readable.from([options.stdin ?? '']), isTTY: options.isTTY ?? false });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** A line the CLI prints: a RunResult (run), or a RunResult / error line with `line` (batch). */
export interface OutputLine {
  readonly line?: number;
  readonly ok: boolean;
  readonly tenant: string | null;
  readonly executionId?: string;
  readonly output?: unknown;
  readonly error?: { code: string; message: string; hint: string; step?: string; details?: Array<{ path: string; message: string }> };
  readonly metrics?: unknown;
  readonly receipt?: { tenantId: string; sequence: number; recordHash: string };
  readonly heapSnapshot?: { path: string; bytes: number };
}

/** Parses stdout as JSON lines. */
export function jsonLines(text: string): OutputLine[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as OutputLine);
}

/** A transformation document with the given step bodies (and optional extra spec lines). */
export function transformation(name: string, steps: Record<string, string>, specExtra = ''): string {
  const stepLines = Object.entries(steps)
    .map(([step, body]) => `    - name: ${step}\n      run: |\n${body.split('\n').map((line) => `        ${line}`).join('\n')}\n`)
    .join('');
  return `apiVersion: beddel/v1\nkind: Transformation\nmetadata: { name: ${name}, version: 1.0.0 }\nspec:\n${specExtra}  steps:\n${stepLines}`;
}

/** A temporary directory with files; `cleanup()` removes it. */
export async function fixtureDir(files: Record<string, string>): Promise<{ dir: string; path(name: string): string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'beddel-cli-test-'));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return { dir, path: (name) => join(dir, name), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Runs this test file in a temporary current directory (tests run in forked processes, one per
 * file, so `chdir` is allowed and touches no other file): `beddel run` writes its default audit
 * log, `.beddel/audit`, there instead of into the package.
 */
export function useTempCwd(): { readonly dir: () => string } {
  let dir = '';
  let previous = '';
  beforeAll(async () => {
    previous = process.cwd();
    dir = await realpath(await mkdtemp(join(tmpdir(), 'beddel-cli-cwd-')));
    process.chdir(dir);
  });
  afterAll(async () => {
    process.chdir(previous);
    await rm(dir, { recursive: true, force: true });
  });
  return { dir: () => dir };
}
