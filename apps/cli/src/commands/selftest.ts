import { parseArgs } from 'node:util';
import { ATTACKS, runSelftest } from '@beddel/selftest';
import type { AttackResult, SelftestReport } from '@beddel/selftest';
import { withEngine } from '../build-engine.js';
import { engineSettings, LOG_LEVEL_HELP, logLevelOption, parseCommandLine, usageError } from '../command-line.js';
import type { CommandUsage } from '../command-line.js';
import { writeText } from '../cli-io.js';
import type { CliIo } from '../cli-io.js';
import { loadProfilesOption, PROFILES_HELP, profilesOption } from '../profiles-option.js';
import { clip, tableHeader, tableLine } from '../text-table.js';
import type { Column } from '../text-table.js';

const USAGE: CommandUsage = { name: 'selftest', synopsis: '[--profiles <file>] [--json]' };

/** Widest `observed` cell in the table; `--json` has the full text. */
const OBSERVED_WIDTH = 60;

export const SELFTEST_HELP = `Usage: beddel selftest [--profiles <file>] [--json]

Runs the built-in attack suite against an engine configured like \`beddel run\`'s (supervised
isolated-vm executor, and the security profiles of --profiles): sandbox escapes, host access,
cross-tenant and cross-execution leaks, resource bombs, capability abuse, YAML and JSON payload
attacks, crash containment. Each attack runs under a tenant id of its own, made up for this run
(selftest-<random>-<attack>-...), so real tenants' isolates are never touched; such tenants get
the profile file's default profile. Nothing is written to an audit log.

Prints one line per attack as it finishes (id, category, BLOCKED or NOT BLOCKED, what was
observed, time), then "score: <10 x blocked / total>/10 (<blocked> of <total> blocked)". The
list of attacks and what each one checks is in the CLI's README.

Options:
${PROFILES_HELP}
      --json               print the report as one JSON object instead:
                           {"score","blocked","total","results":[{"id","category","checks",
                           "blocked","observed","durationMs"}]}
${LOG_LEVEL_HELP}
  -h, --help               show this help

Exit codes: 0 every attack was blocked (score 10), 1 at least one was not, 2 bad usage or a bad
profiles file (BEDDEL_CONFIGURATION).
`;

const COLUMNS: readonly Column<AttackResult>[] = [
  { header: 'attack', width: Math.max(...ATTACKS.map((attack) => attack.id.length)), value: (result) => result.id },
  { header: 'category', width: Math.max(...ATTACKS.map((attack) => attack.category.length)), value: (result) => result.category },
  { header: 'result', width: 'NOT BLOCKED'.length, value: (result) => (result.blocked ? 'BLOCKED' : 'NOT BLOCKED') },
  { header: 'observed', width: OBSERVED_WIDTH, value: (result) => clip(result.observed, OBSERVED_WIDTH) },
  { header: 'ms', align: 'right', width: 7, value: (result) => result.durationMs.toFixed(0) },
];
const WIDTHS = COLUMNS.map((column) => column.width ?? column.header.length);

export async function selftestCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    () =>
      parseArgs({
        args: [...args],
        options: { ...profilesOption, json: { type: 'boolean' }, ...logLevelOption, help: { type: 'boolean', short: 'h' } },
        allowPositionals: true,
        strict: true,
      }),
    USAGE,
  );
  if (values.help === true) {
    await writeText(io.stdout, SELFTEST_HELP);
    return 0;
  }
  if (positionals.length > 0) throw usageError(USAGE, `Unexpected argument ${JSON.stringify(positionals[0])}: selftest takes no files.`);
  const json = values.json === true;
  const logSettings = engineSettings(io, values['log-level'], USAGE);
  const profiles = await loadProfilesOption(values.profiles);
  const settings = profiles === undefined ? logSettings : { ...logSettings, profiles };

  if (!json) await writeText(io.stdout, `${tableHeader(COLUMNS, WIDTHS)}\n`);
  // Rows are printed as attacks finish; a failed write is remembered and rethrown after the run.
  let pending: Promise<void> = Promise.resolve();
  const report: SelftestReport = await withEngine(settings, (engine) =>
    runSelftest(engine, {
      onResult: (result) => {
        if (json) return;
        const line = `${tableLine(COLUMNS, WIDTHS, COLUMNS.map((column) => column.value(result)))}\n`;
        pending = pending.then(() => writeText(io.stdout, line));
        pending.catch(() => undefined);
      },
    }),
  );
  await pending;
  if (json) await writeText(io.stdout, `${JSON.stringify(report)}\n`);
  else await writeText(io.stdout, `\n${scoreLine(report)}\n`);
  return selftestExitCode(report);
}

/** 0 only at a score of 10: every attack blocked. */
export function selftestExitCode(report: SelftestReport): number {
  return report.total > 0 && report.blocked === report.total ? 0 : 1;
}

/** `score: 10.0/10 (32 of 32 blocked)`, plus the ids of the attacks that got through. */
export function scoreLine(report: SelftestReport): string {
  const line = `score: ${report.score.toFixed(1)}/10 (${report.blocked} of ${report.total} blocked)`;
  const missed = report.results.filter((result) => !result.blocked).map((result) => result.id);
  return missed.length === 0 ? line : `${line}\nNOT BLOCKED: ${missed.join(', ')}`;
}

/**
 * The attack list of the README, generated from ATTACKS (`pnpm --filter @beddel/cli docs:attacks`
 * rewrites it; a test fails when the README is out of date).
 */
export function attackListMarkdown(): string {
  const rows = ATTACKS.map((attack) => `| \`${attack.id}\` | ${attack.category} | ${attack.checks.replace(/\|/g, '\\|')} |`);
  return ['| Attack | Category | What it tries, and what counts as blocked |', '| --- | --- | --- |', ...rows].join('\n');
}
