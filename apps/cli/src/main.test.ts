import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from './main.js';
import { runCli, TextSink } from './test-support/cli-harness.js';
import { cliVersion } from './version.js';

describe('beddel (no engine needed)', () => {
  it('--help lists the commands and exits 0', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Usage: beddel <command>/);
    for (const command of ['run', 'validate', 'batch']) expect(stdout).toContain(`  ${command} `);
  });

  it.each(['run', 'validate', 'batch'])('%s --help and help %s print the command help', async (command) => {
    const viaFlag = await runCli([command, '--help']);
    const viaHelp = await runCli(['help', command]);
    expect(viaFlag.code).toBe(0);
    expect(viaFlag.stdout).toMatch(new RegExp(`^Usage: beddel ${command} `));
    expect(viaHelp.stdout).toBe(viaFlag.stdout);
  });

  it('--version prints the package version', async () => {
    expect(await runCli(['--version'])).toEqual({ code: 0, stdout: `${cliVersion()}\n`, stderr: '' });
    expect(cliVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it.each([
    [[], /^error BEDDEL_USAGE: No command given\.\nhint: .+\n$/],
    [['frobnicate'], /^error BEDDEL_USAGE: Unknown command "frobnicate"\.\nhint: Commands: run, validate, batch/],
    [['run', 'x.yaml', '--tenant', 'a', '--bogus'], /^error BEDDEL_USAGE: Unknown option '--bogus'.*\nhint: Usage: beddel run /],
    [['run', 'x.yaml'], /^error BEDDEL_USAGE: Missing --tenant <id>\.\nhint: Usage: beddel run /],
    [['run', '--tenant', 'a'], /^error BEDDEL_USAGE: Missing transformation file\./],
    [['run', '-', '--tenant', 'a', '--input', '-'], /cannot both come from stdin/],
    [['validate', 'a.yaml', 'b.yaml'], /^error BEDDEL_USAGE: Unexpected argument "b\.yaml"/],
    [['batch', 'jobs.jsonl', '--concurrency', '0'], /^error BEDDEL_USAGE: --concurrency must be an integer from 1 to 256/],
    [['batch', 'jobs.jsonl', '--log-level', 'loud'], /^error BEDDEL_USAGE: --log-level must be one of error, warn, info, debug/],
  ])('bad usage %j exits 2 with a coded error and a hint on stderr', async (argv, stderr) => {
    const run = await runCli(argv);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(stderr);
  });

  it('stops quietly when the reader of stdout has gone (EPIPE)', async () => {
    const closedPipe = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    closedPipe.on('error', () => undefined);
    const stderr = new TextSink();
    expect(await main(['--help'], { stdout: closedPipe, stderr, stdin: Readable.from([]), isTTY: false })).toBe(1);
    expect(stderr.text).toBe('');
  });
});
