import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ErrorCodes } from '@beddel/contracts';
import { AUDIT_WRITE_HELP, auditWriteOptions } from '../audit-options.js';
import { withEngine } from '../build-engine.js';
import { LOG_LEVEL_HELP, logLevelOption, parseCommandLine, usageError } from '../command-line.js';
import type { CommandUsage } from '../command-line.js';
import { writeText } from '../cli-io.js';
import type { CliIo } from '../cli-io.js';
import { PROFILES_HELP, profilesOption } from '../profiles-option.js';
import { prepareSingleRun } from './run.js';

const USAGE: CommandUsage = { name: 'debug', synopsis: 'heap-snapshot --tenant <id> <file.yaml> [--input <file.json|->] [--out <file.heapsnapshot>]' };

export const DEBUG_HELP = `Usage: beddel debug heap-snapshot --tenant <id> <file.yaml> [--input <file.json|->]
                                  [--out <file.heapsnapshot>] [--profiles <file>] [options]

Runs the transformation once, like \`beddel run\`, in a throw-away inspector-enabled isolate and
writes a V8 heap snapshot of that isolate (taken after the steps ran) to --out: a
.heapsnapshot file Chrome DevTools (Memory tab, Load) opens. Prints the run result as JSON on
stdout ("heapSnapshot": {"path", "bytes"} when written) and "heap snapshot: <path> (<n> bytes)"
on stderr. The run is audited like any other.

Off by default: refused with BEDDEL_CAPABILITY_DENIED unless the tenant's security profile sets
allowHeapSnapshots: true. The built-in profiles do not, and turning it on loosens them, so the
profile also needs allowLoosening: true (see docs/security-profiles.md); pass the file with
--profiles. A snapshot holds everything in the isolate's heap, including the tenant's data.

Options:
  -t, --tenant <id>        tenant to run as (required)
  -i, --input <file|->     input JSON from a file, or from stdin with "-" (default: {})
  -o, --out <file>         where to write the snapshot
                           (default: ./<tenant>-<timestamp>.heapsnapshot)
      --pretty             indent the JSON result
${PROFILES_HELP}
${AUDIT_WRITE_HELP}
${LOG_LEVEL_HELP}
  -h, --help               show this help

Exit codes: 0 the run succeeded and the snapshot was written; 1 refused
(BEDDEL_CAPABILITY_DENIED) or the run failed; 2 bad usage, an unreadable file, an invalid
transformation or tenant id, a bad profiles file (BEDDEL_CONFIGURATION).
`;

export const HEAP_SNAPSHOT_HINT =
  "Set allowHeapSnapshots: true (with allowLoosening: true) in the tenant's profile and pass the file with --profiles; see docs/security-profiles.md.";

export async function debugCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === '-h' || sub === '--help') {
    await writeText(io.stdout, DEBUG_HELP);
    return 0;
  }
  if (sub !== 'heap-snapshot') {
    throw usageError(USAGE, sub === undefined ? 'Missing the debug subcommand (heap-snapshot).' : `Unknown debug subcommand ${JSON.stringify(sub)}; the one there is: heap-snapshot.`);
  }
  return heapSnapshot(rest, io);
}

async function heapSnapshot(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    () =>
      parseArgs({
        args: [...args],
        options: {
          tenant: { type: 'string', short: 't' },
          input: { type: 'string', short: 'i' },
          out: { type: 'string', short: 'o' },
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
    await writeText(io.stdout, DEBUG_HELP);
    return 0;
  }
  if (values.out === '') throw usageError(USAGE, '--out needs a file name.');
  const { tenantId, source, input, settings, profiles } = await prepareSingleRun(values, positionals, io, USAGE);
  const out = resolve(values.out ?? `${tenantId.replace(/[^A-Za-z0-9._-]/g, '_')}-${new Date().toISOString().replace(/[:.]/g, '-')}.heapsnapshot`);
  const result = await withEngine(settings, (engine) => engine.tenant(tenantId).run(source, input, { heapSnapshotPath: out }));

  await writeText(io.stdout, `${JSON.stringify(result, null, values.pretty === true ? 2 : undefined)}\n`);
  if (result.heapSnapshot !== undefined) await writeText(io.stderr, `heap snapshot: ${result.heapSnapshot.path} (${result.heapSnapshot.bytes} bytes)\n`);
  if (result.ok) return 0;
  if (result.error.code === ErrorCodes.INVALID_TRANSFORMATION) return 2;
  // The engine refuses before running when the profile does not allow snapshots; say how to allow them.
  const allowed = profiles?.profileFor(tenantId).allowHeapSnapshots ?? false;
  if (result.error.code === ErrorCodes.CAPABILITY_DENIED && !allowed) {
    await writeText(io.stderr, `error ${result.error.code}: ${result.error.message}\nhint: ${HEAP_SNAPSHOT_HINT}\n`);
  }
  return 1;
}
