import { ErrorCodes, isBeddelError } from '@beddel/contracts';
import { CliError, CliErrorCodes, formatError } from './cli-error.js';
import { isBrokenPipe, writeText } from './cli-io.js';
import type { CliIo } from './cli-io.js';
import { AUDIT_HELP, auditCommand } from './commands/audit.js';
import { BATCH_HELP, batchCommand } from './commands/batch.js';
import { DEBUG_HELP, debugCommand } from './commands/debug.js';
import { RUN_HELP, runCommand } from './commands/run.js';
import { SELFTEST_HELP, selftestCommand } from './commands/selftest.js';
import { VALIDATE_HELP, validateCommand } from './commands/validate.js';
import { cliVersion } from './version.js';

export type { CliIo } from './cli-io.js';

export const MAIN_HELP = `Usage: beddel <command> [options]

Runs Beddel transformations (YAML documents whose steps are JavaScript) in V8 isolates,
one isolate per tenant, in supervised worker processes.

Commands:
  run <file.yaml> --tenant <id> [--input <file.json|->]   run one transformation, print the result as JSON
  validate <file.yaml|-> [--json]                           check a transformation, list its problems
  batch <jobs.jsonl|-> [--concurrency <n>]                  run many jobs (one JSON object a line) on one engine
  selftest [--profiles <file>] [--json]                     run the built-in attack suite, print a 0-10 score
  debug heap-snapshot --tenant <id> <file.yaml> [--out f]   run once and write a V8 heap snapshot (if allowed)
  audit verify [--audit <uri>] [--public-key <pem>]         verify the audit log (or --export <file>)
  audit export --tenant <id> [--from] [--to] [--format]     write a self-verifying export of a tenant's records
  audit report --tenant <id> [--from] [--to] [--out f]      compliance report of a tenant (HTML or JSON)

run, batch and debug take --profiles <file> (security profiles) and append every execution to
an audit log: --audit <uri> (default file:.beddel/audit), --signing-key <pem>, or --no-audit.

Options:
  -h, --help      show this help; "beddel <command> --help" shows a command's options
  -V, --version   print the version

Exit codes: 0 success; 1 a run failed (timeout, runtime error, ...), an attack was not blocked,
or the audit log did not verify; 2 bad usage, an unreadable file, input that is not JSON, an
invalid transformation, or bad configuration (profiles file, audit key). Errors that stop a command are
printed on stderr as "error <CODE>: <message>" followed by a "hint:" line.
`;

type Command = (args: readonly string[], io: CliIo) => Promise<number>;

const COMMANDS: Readonly<Record<string, { run: Command; help: string }>> = {
  run: { run: runCommand, help: RUN_HELP },
  validate: { run: validateCommand, help: VALIDATE_HELP },
  batch: { run: batchCommand, help: BATCH_HELP },
  selftest: { run: selftestCommand, help: SELFTEST_HELP },
  debug: { run: debugCommand, help: DEBUG_HELP },
  audit: { run: auditCommand, help: AUDIT_HELP },
};

const COMMANDS_HINT = 'Commands: run, validate, batch, selftest, debug, audit. See `beddel --help`.';

/** Errors that mean "nothing was run because what was asked (or configured) is invalid": exit code 2. */
const INVALID_REQUEST_CODES: ReadonlySet<string> = new Set([ErrorCodes.INVALID_TENANT, ErrorCodes.INVALID_TRANSFORMATION, ErrorCodes.CONFIGURATION]);

/**
 * The whole CLI as a function: `argv` without the node and script paths; resolves with the
 * exit code. Never rejects: errors are reported on `io.stderr`.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const [name, ...args] = argv;
    if (name === '-h' || name === '--help') {
      await writeText(io.stdout, MAIN_HELP);
      return 0;
    }
    if (name === '-V' || name === '--version') {
      await writeText(io.stdout, `${cliVersion()}\n`);
      return 0;
    }
    if (name === 'help') {
      const topic = args[0] === undefined ? undefined : COMMANDS[args[0]];
      await writeText(io.stdout, topic?.help ?? MAIN_HELP);
      return 0;
    }
    if (name === undefined) throw new CliError(CliErrorCodes.USAGE, 'No command given.', { hint: COMMANDS_HINT });
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (command === undefined) throw new CliError(CliErrorCodes.USAGE, `Unknown command ${JSON.stringify(name)}.`, { hint: COMMANDS_HINT });
    return await command.run(args, io);
  } catch (error) {
    // Nobody reads the output any more: stop quietly, as `head` and friends expect.
    if (isBrokenPipe(error)) return 1;
    await writeText(io.stderr, formatError(error));
    if (error instanceof CliError) return 2;
    return isBeddelError(error) && INVALID_REQUEST_CODES.has(error.code) ? 2 : 1;
  }
}
