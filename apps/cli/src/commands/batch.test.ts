import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureDir, jsonLines, runCli, transformation, useTempCwd } from '../test-support/cli-harness.js';

let fixtures: Awaited<ReturnType<typeof fixtureDir>>;
useTempCwd();

const job = (tenant: string, file: string, input?: unknown): string => JSON.stringify(input === undefined ? { tenant, transformation: file } : { tenant, transformation: file, input });

beforeAll(async () => {
  fixtures = await fixtureDir({
    'yaml/double.yaml': transformation('double', { result: 'return { tenant: input.who, doubled: input.n * 2 };' }),
    'yaml/slow.yaml': transformation('slow', { result: 'let x = 0; for (let i = 0; i < 2e7; i++) x = (x + i) % 7; return "slow done";' }),
    'yaml/loop.yaml': transformation('loop', { spin: 'while (true) {}' }, '  limits: { timeoutMs: 200 }\n'),
  });
});
afterAll(() => fixtures.cleanup());

async function writeJobs(name: string, lines: readonly string[]): Promise<string> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(fixtures.path(name), `${lines.join('\n')}\n`);
  return fixtures.path(name);
}

describe('beddel batch', () => {
  it('runs every job on one engine and prints one line per job, in input order; exit 0 when all succeed', async () => {
    const jobs = await writeJobs('ok.jsonl', [
      job('acme', 'yaml/slow.yaml'),
      ...Array.from({ length: 9 }, (_, i) => job(i % 2 === 0 ? 'acme' : 'globex', 'yaml/double.yaml', { who: i, n: i })),
    ]);
    const { code, stdout } = await runCli(['batch', jobs]);
    expect(code).toBe(0);
    const lines = jsonLines(stdout);
    expect(lines.map((line) => line.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(lines[0]).toMatchObject({ ok: true, tenant: 'acme', output: 'slow done' });
    lines.slice(1).forEach((line, i) => {
      expect(line).toMatchObject({ ok: true, tenant: i % 2 === 0 ? 'acme' : 'globex', output: { tenant: i, doubled: i * 2 } });
    });
    // Every job is audited (default log in the test's temporary cwd): one record per job, per tenant in sequence.
    const sequences = (tenant: string): number[] => lines.filter((line) => line.tenant === tenant).map((line) => line.receipt!.sequence).sort((a, b) => a - b);
    expect(lines.every((line) => line.receipt?.tenantId === line.tenant)).toBe(true);
    expect(sequences('acme')).toEqual([0, 1, 2, 3, 4, 5]);
    expect(sequences('globex')).toEqual([0, 1, 2, 3]);
  });

  it('turns bad lines into error lines, keeps the order and runs the valid jobs after them; exit 1', async () => {
    const jobs = await writeJobs('mixed.jsonl', [
      job('acme', 'yaml/double.yaml', { who: 'first', n: 1 }),
      '{"tenant": "acme", "transformation": ',
      '',
      JSON.stringify({ tenant: 'acme' }),
      job('acme', 'yaml/missing.yaml'),
      job('bad tenant!', 'yaml/double.yaml'),
      JSON.stringify({ tenant: 'acme', transformation: 'yaml/double.yaml', inputs: {} }),
      '[1, 2]',
      job('globex', fixtures.path('yaml/double.yaml'), { who: 'last', n: 21 }),
    ]);
    const { code, stdout } = await runCli(['batch', jobs]);
    expect(code).toBe(1);
    const lines = jsonLines(stdout);
    // Line 3 is blank: skipped, but numbering follows the file so errors point at the right line.
    expect(lines.map((line) => [line.line, line.ok, line.ok ? (line.output as { tenant: unknown }).tenant : line.error?.code])).toEqual([
      [1, true, 'first'],
      [2, false, 'BEDDEL_JOB_INVALID'],
      [4, false, 'BEDDEL_JOB_INVALID'],
      [5, false, 'BEDDEL_FILE_UNREADABLE'],
      [6, false, 'BEDDEL_INVALID_TENANT'],
      [7, false, 'BEDDEL_JOB_INVALID'],
      [8, false, 'BEDDEL_JOB_INVALID'],
      [9, true, 'last'],
    ]);
    expect(lines[1]).toEqual({ line: 2, ok: false, tenant: null, error: { code: 'BEDDEL_JOB_INVALID', message: expect.stringMatching(/^The line is not valid JSON/), hint: expect.any(String) } });
    expect(lines[3]).toMatchObject({ tenant: 'acme', error: { message: expect.stringContaining('missing.yaml') } });
    expect(lines[5]!.error?.message).toMatch(/Unknown field "inputs"/);
  });

  it('a hostile job that loops forever times out, and the job after it still runs', async () => {
    const jobs = await writeJobs('hostile.jsonl', [job('mallory', 'yaml/loop.yaml'), job('mallory', 'yaml/double.yaml', { who: 'after', n: 5 })]);
    const started = performance.now();
    const { code, stdout } = await runCli(['batch', jobs]);
    expect(code).toBe(1);
    const [loop, after] = jsonLines(stdout);
    expect(loop).toMatchObject({ line: 1, ok: false, tenant: 'mallory', error: { code: 'BEDDEL_TIMEOUT' } });
    expect(after).toMatchObject({ line: 2, ok: true, tenant: 'mallory', output: { tenant: 'after', doubled: 10 } });
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('reads jobs from stdin with -, resolving paths from the current directory', async () => {
    const relative = (await import('node:path')).relative(process.cwd(), fixtures.path('yaml/double.yaml'));
    const { code, stdout } = await runCli(['batch', '-'], { stdin: `${job('acme', relative, { who: 'piped', n: 2 })}\n` });
    expect(code).toBe(0);
    expect(jsonLines(stdout)).toEqual([expect.objectContaining({ line: 1, ok: true, output: { tenant: 'piped', doubled: 4 } })]);
  });

  it('draws a progress line on stderr only when stderr is a terminal', async () => {
    const jobs = await writeJobs('progress.jsonl', [job('acme', 'yaml/double.yaml', { n: 1 }), job('acme', 'yaml/missing.yaml')]);
    const tty = await runCli(['batch', jobs, '--log-level', 'error'], { isTTY: true });
    expect(tty.stderr).toMatch(/\r\[#+\] 2\/2 100% \| [\d.]+ jobs\/s \| 1 failed/);
    expect(tty.stderr.endsWith('\u001b[K\n')).toBe(true);
    const piped = await runCli(['batch', jobs, '--log-level', 'error']);
    expect(piped.stderr).toBe('');
    expect(jsonLines(tty.stdout)).toHaveLength(2);
  });

  it('exits 2 when the jobs file cannot be read', async () => {
    const { code, stdout, stderr } = await runCli(['batch', fixtures.path('nope.jsonl')]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^error BEDDEL_FILE_UNREADABLE: Cannot read the jobs file/);
  });
});
