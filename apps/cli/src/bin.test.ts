import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cliRoot = fileURLToPath(new URL('..', import.meta.url));
const example = (name: string): string => fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url));

describe('the built bin (dist/bin.js)', () => {
  it('runs an example end to end in a child process and exits 0', async () => {
    const { stdout } = await run(
      process.execPath,
      ['dist/bin.js', 'run', example('order-total.yaml'), '--tenant', 'acme', '--input', example('order-total.input.json'), '--log-level', 'error'],
      { cwd: cliRoot },
    );
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ ok: true, tenant: 'acme', output: { id: 'ord_1042', currency: 'EUR', total: 57.7 } });
  });

  it('sets the exit code: 1 for a failed run', async () => {
    const failure = run(process.execPath, ['dist/bin.js', 'run', example('hostile/infinite-loop.yaml'), '-t', 'mallory', '--log-level', 'error'], { cwd: cliRoot });
    await expect(failure).rejects.toMatchObject({ code: 1, stdout: expect.stringContaining('"BEDDEL_TIMEOUT"') });
  });
});
