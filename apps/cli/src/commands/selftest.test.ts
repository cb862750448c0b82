import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ATTACKS } from '@beddel/selftest';
import type { SelftestReport } from '@beddel/selftest';
import { describe, expect, it } from 'vitest';
import { runCli } from '../test-support/cli-harness.js';
import { attackListMarkdown, scoreLine, selftestExitCode } from './selftest.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));

describe('beddel selftest', () => {
  it('runs every attack, prints a row per attack and the score, exit 0 at 10/10', { timeout: 120_000 }, async () => {
    const { code, stdout } = await runCli(['selftest', '--log-level', 'error']);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^attack +category +result +observed +ms$/);
    expect(lines[1]).toMatch(/^-+( +-+){4}$/);
    const rows = lines.slice(2, 2 + ATTACKS.length);
    expect(rows.map((row) => row.split(/ +/)[0])).toEqual(ATTACKS.map((attack) => attack.id));
    rows.forEach((row, i) => expect(row).toMatch(new RegExp(`^${ATTACKS[i]!.id} +${ATTACKS[i]!.category} +BLOCKED +.+ +\\d+$`)));
    expect(lines.slice(2 + ATTACKS.length)).toEqual(['', `score: 10.0/10 (${ATTACKS.length} of ${ATTACKS.length} blocked)`]);
    expect(code).toBe(0);
  });

  it('--json prints the report object', { timeout: 120_000 }, async () => {
    const { code, stdout } = await runCli(['selftest', '--json', '--log-level', 'error']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as SelftestReport;
    expect(report).toMatchObject({ score: 10, blocked: ATTACKS.length, total: ATTACKS.length });
    expect(report.results.map((result) => [result.id, result.category, result.checks, result.blocked])).toEqual(ATTACKS.map((attack) => [attack.id, attack.category, attack.checks, true]));
  });

  it('exits 1 below 10 and names the attacks that got through', () => {
    const result = (id: string, blocked: boolean) => ({ id, category: 'escape' as const, checks: '', blocked, observed: '', durationMs: 1 });
    const report: SelftestReport = { score: 6.7, blocked: 2, total: 3, results: [result('a', true), result('b', false), result('c', true)] };
    expect(selftestExitCode(report)).toBe(1);
    expect(scoreLine(report)).toBe('score: 6.7/10 (2 of 3 blocked)\nNOT BLOCKED: b');
    expect(selftestExitCode({ score: 10, blocked: 3, total: 3, results: [] })).toBe(0);
    expect(selftestExitCode({ score: 0, blocked: 0, total: 0, results: [] })).toBe(1);
  });

  it('bad usage exits 2', async () => {
    expect(await runCli(['selftest', 'extra'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^error BEDDEL_USAGE: Unexpected argument "extra"/) });
  });

  it('the README documents every attack, exactly as ATTACKS describes it (pnpm --filter @beddel/cli docs:attacks regenerates it)', async () => {
    const readme = await readFile(README, 'utf8');
    for (const attack of ATTACKS) expect(readme).toContain(`| \`${attack.id}\` | ${attack.category} |`);
    const section = /<!-- attacks:start -->\n([\s\S]*?)\n<!-- attacks:end -->/.exec(readme);
    expect(section?.[1]).toBe(attackListMarkdown());
  });
});
