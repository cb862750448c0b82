import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useTempCwd } from './test-support/cli-harness.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
// The runs write their default audit log (.beddel/audit) into this temporary directory.
const cwd = useTempCwd();
const example = (name: string): string => fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url));

describe('the built bin (dist/bin.js)', () => {
  it('runs an example end to end in a child process and exits 0', async () => {
    const { stdout } = await run(
      process.execPath,
      [bin, 'run', example('order-total.yaml'), '--tenant', 'acme', '--input', example('order-total.input.json'), '--log-level', 'error'],
      { cwd: cwd.dir() },
    );
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ ok: true, tenant: 'acme', output: { id: 'ord_1042', currency: 'EUR', total: 57.7 }, receipt: { tenantId: 'acme', sequence: 0 } });
    // The process flushed the log on exit: it verifies, with a checkpoint over the record.
    const verified = await run(process.execPath, [bin, 'audit', 'verify'], { cwd: cwd.dir() });
    expect(verified.stdout).toMatch(/^acme +ok +1 record\(s\), 1 checkpoint\(s\), signed up to 1$/m);
  });

  it('sets the exit code: 1 for a failed run', async () => {
    const failure = run(process.execPath, [bin, 'run', example('hostile/infinite-loop.yaml'), '-t', 'mallory', '--log-level', 'error'], { cwd: cwd.dir() });
    await expect(failure).rejects.toMatchObject({ code: 1, stdout: expect.stringContaining('"BEDDEL_TIMEOUT"') });
  });
});
