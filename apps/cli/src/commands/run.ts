import { parseArgs } from 'node:util';
import { ErrorCodes } from '@beddel/contracts';
import { AUDIT_WRITE_HELP, auditWiring, auditWriteOptions } from '../audit-options.js';
import { withEngine } from '../build-engine.js';
import { engineSettings, LOG_LEVEL_HELP, logLevelOption, onePositional, parseCommandLine, usageError } from '../command-line.js';
import type { CommandUsage } from '../command-line.js';
import { writeText } from '../cli-io.js';
import type { CliIo } from '../cli-io.js';
import { readJsonFile, readTextFile, STDIN } from '../input-files.js';
import { loadProfilesOption, PROFILES_HELP, profilesOption } from '../profiles-option.js';

const USAGE: CommandUsage = { name: 'run', synopsis: '<file.yaml> --tenant <id> [--input <file.json|->]' };

export const RUN_HELP = `Usage: beddel run <file.yaml> --tenant <id> [--input <file.json|->] [options]

Runs one transformation for one tenant in a V8 isolate and prints the result as one JSON
object on stdout: {"ok":true,"output":...} or {"ok":false,"error":{"code":...}}, plus
executionId, tenant, transformation and measured metrics (durationMs, cpuMs, heapBytes), and
the audit receipt (tenantId, sequence, recordHash) of the execution's record in the audit log.

Options:
  -t, --tenant <id>        tenant to run as: 1-128 characters from [A-Za-z0-9._:-] (required)
  -i, --input <file|->     input JSON from a file, or from stdin with "-" (default: {})
      --pretty             indent the JSON result
${PROFILES_HELP}
${AUDIT_WRITE_HELP}
${LOG_LEVEL_HELP}
  -h, --help               show this help

<file.yaml> may be "-" to read the transformation from stdin; --input then cannot be "-".

Exit codes:
  0  the run succeeded ("ok": true)
  1  the run failed ("ok": false), e.g. BEDDEL_TIMEOUT, BEDDEL_RUNTIME_ERROR, BEDDEL_INPUT_INVALID
  2  the transformation is invalid (BEDDEL_INVALID_TRANSFORMATION; the result is still printed),
     or nothing ran: bad usage (BEDDEL_USAGE), an unreadable file (BEDDEL_FILE_UNREADABLE),
     input that is not JSON (BEDDEL_INPUT_NOT_JSON), an invalid tenant id (BEDDEL_INVALID_TENANT),
     a bad profiles file or audit key (BEDDEL_CONFIGURATION)
`;

export async function runCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    () =>
      parseArgs({
        args: [...args],
        options: {
          tenant: { type: 'string', short: 't' },
          input: { type: 'string', short: 'i' },
          pretty: { type: 'boolean' },
          ...profilesOption,
          ...auditWriteOptions,
          ...logLevelOption,
          help: { type: 'boolean', short: 'h' },
        },
        allowPositionals: true,
        strict: true,
      }),
    USAGE,
  );
  if (values.help === true) {
    await writeText(io.stdout, RUN_HELP);
    return 0;
  }
  const { tenantId, source, input, settings } = await prepareSingleRun(values, positionals, io, USAGE);
  const result = await withEngine(settings, (engine) => engine.tenant(tenantId).run(source, input));

  await writeText(io.stdout, `${JSON.stringify(result, null, values.pretty === true ? 2 : undefined)}\n`);
  if (result.ok) return 0;
  return result.error.code === ErrorCodes.INVALID_TRANSFORMATION ? 2 : 1;
}

/** The options of a command that runs one transformation for one tenant (`run`, `debug heap-snapshot`). */
export interface SingleRunValues {
  readonly tenant?: string | undefined;
  readonly input?: string | undefined;
  readonly profiles?: string | undefined;
  readonly 'log-level'?: string | undefined;
  readonly audit?: string | undefined;
  readonly 'no-audit'?: boolean | undefined;
  readonly 'signing-key'?: string | undefined;
}

/** Checks the options, reads the transformation and input, and builds the engine settings. */
export async function prepareSingleRun(values: SingleRunValues, positionals: readonly string[], io: CliIo, usage: CommandUsage) {
  const file = onePositional(positionals, 'transformation file', usage);
  const tenantId = values.tenant;
  if (tenantId === undefined) throw usageError(usage, 'Missing --tenant <id>.');
  if (file === STDIN && values.input === STDIN) throw usageError(usage, 'The transformation and the input cannot both come from stdin.');
  const logSettings = engineSettings(io, values['log-level'], usage);
  const profiles = await loadProfilesOption(values.profiles);
  const source = await readTextFile(file, io, 'transformation file');
  const input = values.input === undefined ? {} : await readJsonFile(values.input, io, 'input');
  const audit = await auditWiring(values, usage);
  const settings = { ...logSettings, ...(profiles === undefined ? {} : { profiles }), ...(audit === undefined ? {} : { audit }) };
  return { tenantId, source, input, settings, profiles };
}
