import { open, rename, rm } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildAuditReport, exportAuditRecords, loadAuditPublicKey, renderAuditReportHtml, verifyExport, verifyLog } from '@beddel/audit';
import type { AuditExportFormat, AuditExportVerification, AuditProblem, AuditVerification, TenantVerification } from '@beddel/audit';
import type { AuditSink } from '@beddel/contracts';
import { auditTarget, describeTarget, openAuditSink, publicKeyFor, requireExistingLog } from '../audit-options.js';
import type { AuditTarget } from '../audit-options.js';
import { CliError, CliErrorCodes, systemMessage } from '../cli-error.js';
import { parseCommandLine, usageError } from '../command-line.js';
import type { CommandUsage } from '../command-line.js';
import { writeText } from '../cli-io.js';
import type { CliIo } from '../cli-io.js';

const USAGE: CommandUsage = { name: 'audit', synopsis: 'verify|export|report [options]' };
const VERIFY_USAGE: CommandUsage = { name: 'audit verify', synopsis: '[--audit <uri>] [--public-key <pem>] [--tenant <id>]... | --export <file> --public-key <pem>' };
const REPORT_USAGE: CommandUsage = { name: 'audit report', synopsis: '--tenant <id> [--from <ISO>] [--to <ISO>] [--format html|json] [--out <file>]' };
const EXPORT_USAGE: CommandUsage = { name: 'audit export', synopsis: '--tenant <id> [--from <ISO>] [--to <ISO>] [--format jsonl|csv] [--out <file>]' };

/** Problems listed per tenant in the text output; `--json` has them all. */
const LISTED_PROBLEMS = 10;

const AUDIT_READ_HELP = `      --audit <uri>        the audit log (default: file:.beddel/audit): file:<dir>,
                           postgres://user@host/db?schema=<name>, s3://bucket/prefix?endpoint=<url>
      --public-key <pem>   the log's Ed25519 public key; default for file:<dir>:
                           <dir>/audit-public-key.pem; required for postgres:// and s3://`;

export const AUDIT_HELP = `Usage: beddel audit <subcommand> [options]

Reads the audit log that \`beddel run\` and \`beddel batch\` append to: one SHA-256 record per
execution, chained per tenant, in a Merkle tree whose roots are signed (Ed25519 checkpoints).

Subcommands:
  verify [--audit <uri>] [--public-key <pem>] [--tenant <id>]...
      Checks the whole log (or the given tenants) offline from the public key: every record
      hash, chain link and sequence, every checkpoint signature and origin, the signed Merkle
      roots, consistency between checkpoints, and truncation. Prints one line per tenant; for a
      tenant that fails, the first bad record (sequence, problem code, message) and the problems.
      A file log is opened read-only, so this works while a writer is appending.
  verify --export <file> --public-key <pem> [--format jsonl|csv]
      Checks an export made by \`audit export\` on its own: records, chain links, inclusion
      proofs and the signed checkpoint it carries.
  export --tenant <id> [--from <ISO>] [--to <ISO>] [--format jsonl|csv] [--out <file>]
      Writes a self-verifying export of one tenant's records with timestamps in [from, to):
      a header, each record with its inclusion proof, and the signed checkpoint they prove
      against. Only records covered by a checkpoint are exported (\`run\` and \`batch\` sign one
      when they finish). Default format: csv when --out ends in .csv, else jsonl; default
      output: stdout.
  report --tenant <id> [--from <ISO>] [--to <ISO>] [--format html|json] [--out <file>]
      Builds a compliance report of one tenant over [from, to) from the log: executions, failures
      by code, limits hit, duration / CPU / heap percentiles, executions over time, per
      transformation counts, the verification of the tenant's whole log and its latest signed
      checkpoint. HTML is one self-contained page (no scripts, no external resources); JSON is
      the report object. Default format: json when --out ends in .json, else html; default
      output: stdout.

Options:
${AUDIT_READ_HELP}
  -t, --tenant <id>        verify: only this tenant (repeatable); export, report: the tenant (required)
      --export <file>      verify: check this export file instead of a log
      --format <format>    export, verify --export: jsonl | csv; report: html | json
                           (default: from the --out / --export file name)
      --from <ISO>         export, report: first timestamp included (e.g. 2025-01-01T00:00:00Z)
      --to <ISO>           export, report: first timestamp excluded
  -o, --out <file>         export, report: write here (atomically) instead of stdout
      --json               verify: print the verification report as JSON
  -h, --help               show this help

Exit codes: 0 verified / exported / reported; 1 verification found a problem (for report: the
report was written and shows the tenant's log does not verify), or the export failed
(BEDDEL_AUDIT_UNAVAILABLE: no checkpoint yet; BEDDEL_AUDIT_CORRUPT: the log does not match its
signed checkpoint); 2 bad usage, no log or key where given (BEDDEL_FILE_UNREADABLE), a bad key or
time (BEDDEL_CONFIGURATION), an invalid tenant id.
`;

export async function auditCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === '-h' || sub === '--help') {
    await writeText(io.stdout, AUDIT_HELP);
    return 0;
  }
  switch (sub) {
    case 'verify':
      return verifyCommand(rest, io);
    case 'export':
      return exportCommand(rest, io);
    case 'report':
      return reportCommand(rest, io);
    default:
      throw usageError(USAGE, sub === undefined ? 'Missing the audit subcommand (verify, export or report).' : `Unknown audit subcommand ${JSON.stringify(sub)}; use verify, export or report.`);
  }
}

async function verifyCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    () =>
      parseArgs({
        args: [...args],
        options: {
          audit: { type: 'string' },
          'public-key': { type: 'string' },
          tenant: { type: 'string', short: 't', multiple: true },
          export: { type: 'string' },
          format: { type: 'string' },
          json: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
        allowPositionals: true,
        strict: true,
      }),
    VERIFY_USAGE,
  );
  if (values.help === true) {
    await writeText(io.stdout, AUDIT_HELP);
    return 0;
  }
  if (positionals.length > 0) throw usageError(VERIFY_USAGE, `Unexpected argument ${JSON.stringify(positionals[0])}.`);
  if (values.export !== undefined) {
    if (values.audit !== undefined || values.tenant !== undefined) throw usageError(VERIFY_USAGE, '--export verifies a file on its own: it takes no --audit or --tenant.');
    if (values['public-key'] === undefined) throw usageError(VERIFY_USAGE, '--export needs --public-key <pem>: the key of the log the export came from.');
    return verifyExportFile(values.export, values['public-key'], exportFormat(values.format, values.export, VERIFY_USAGE), values.json === true, io);
  }
  if (values.format !== undefined) throw usageError(VERIFY_USAGE, '--format only applies with --export.');

  const target = auditTarget(values.audit, VERIFY_USAGE);
  await requireExistingLog(target);
  const publicKey = await publicKeyFor(target, values['public-key'], VERIFY_USAGE);
  const verification = await withSink(openAuditSink(target, { readOnly: true }), (sink) =>
    verifyLog(sink, publicKey, values.tenant === undefined ? {} : { tenants: values.tenant }),
  );
  if (values.json === true) await writeText(io.stdout, `${JSON.stringify(verification)}\n`);
  else await writeText(io.stdout, verificationText(target, verification));
  return verification.ok ? 0 : 1;
}

/** The text report of `audit verify`. */
export function verificationText(target: AuditTarget, verification: AuditVerification): string {
  const lines = [`audit log: ${describeTarget(target)}`];
  if (verification.tenants.length === 0) lines.push('no tenants: the log holds no records');
  const width = Math.max(0, ...verification.tenants.map((tenant) => tenant.tenantId.length));
  for (const tenant of verification.tenants) {
    const ok = tenant.problems.length === 0;
    lines.push(`${tenant.tenantId.padEnd(width)}  ${ok ? 'ok    ' : 'FAILED'}  ${tenantSummary(tenant)}`);
    if (ok) continue;
    const first = firstBadRecord(tenant);
    if (first !== undefined) lines.push(`  first bad record: ${problemText(first)}`);
    lines.push(`  problems (${tenant.problems.length}):`);
    for (const problem of tenant.problems.slice(0, LISTED_PROBLEMS)) lines.push(`    ${problemText(problem)}`);
    if (tenant.problems.length > LISTED_PROBLEMS) lines.push(`    ... ${tenant.problems.length - LISTED_PROBLEMS} more (--json lists them all)`);
  }
  const bad = verification.tenants.filter((tenant) => tenant.problems.length > 0).length;
  lines.push(verification.ok ? `verified: ${verification.tenants.length} tenant(s), no problems` : `FAILED: ${bad} of ${verification.tenants.length} tenant(s) have problems`);
  return `${lines.join('\n')}\n`;
}

function tenantSummary(tenant: TenantVerification): string {
  const parts = [`${tenant.records} record(s)`, `${tenant.checkpoints} checkpoint(s)`, `signed up to ${tenant.verifiedTreeSize}`];
  if (tenant.uncheckpointedRecords > 0) parts.push(`${tenant.uncheckpointedRecords} not yet checkpointed`);
  return parts.join(', ');
}

/** The problem about the first bad sequence; for a tenant whose problems name no record, none. */
export function firstBadRecord(tenant: TenantVerification): AuditProblem | undefined {
  if (tenant.firstBadSequence === undefined) return undefined;
  return tenant.problems.find((problem) => problem.sequence === tenant.firstBadSequence) ?? { code: tenant.problems[0]!.code, sequence: tenant.firstBadSequence, message: tenant.problems[0]!.message };
}

function problemText(problem: { readonly code: string; readonly sequence?: number; readonly message: string }): string {
  return `${problem.sequence === undefined ? '' : `sequence ${problem.sequence}: `}${problem.code}: ${problem.message}`;
}

async function verifyExportFile(file: string, publicKeyPath: string, format: AuditExportFormat, json: boolean, io: CliIo): Promise<number> {
  const publicKey = await loadAuditPublicKey(resolve(publicKeyPath));
  const path = resolve(file);
  const handle = await open(path).catch((error: unknown) => {
    throw new CliError(CliErrorCodes.FILE_UNREADABLE, `Cannot read the export ${JSON.stringify(file)}: ${systemMessage(error)}`, { cause: error });
  });
  let verification: AuditExportVerification;
  try {
    verification = await verifyExport(handle.createReadStream({ encoding: 'utf8', autoClose: false }) as AsyncIterable<string>, publicKey, { format });
  } finally {
    await handle.close();
  }
  if (json) {
    await writeText(io.stdout, `${JSON.stringify(verification)}\n`);
  } else {
    const lines = [
      `export: ${path} (${format})`,
      `tenant ${verification.tenantId ?? '(unknown)'}: ${verification.records} record(s), checkpoint tree size ${verification.treeSize ?? '(none verified)'}`,
    ];
    if (verification.ok) lines.push('verified: every record is in the signed log, no problems');
    else {
      lines.push(`FAILED: ${verification.problems.length} problem(s)`);
      for (const problem of verification.problems.slice(0, LISTED_PROBLEMS)) lines.push(`  ${problemText(problem)}`);
      if (verification.problems.length > LISTED_PROBLEMS) lines.push(`  ... ${verification.problems.length - LISTED_PROBLEMS} more (--json lists them all)`);
    }
    await writeText(io.stdout, `${lines.join('\n')}\n`);
  }
  return verification.ok ? 0 : 1;
}

/** The options `audit export` and `audit report` share: one tenant, a time range, an output. */
async function parseTenantRangeOptions(args: readonly string[], usage: CommandUsage, io: CliIo) {
  const { values, positionals } = parseCommandLine(
    () =>
      parseArgs({
        args: [...args],
        options: {
          audit: { type: 'string' },
          'public-key': { type: 'string' },
          tenant: { type: 'string', short: 't' },
          from: { type: 'string' },
          to: { type: 'string' },
          format: { type: 'string' },
          out: { type: 'string', short: 'o' },
          help: { type: 'boolean', short: 'h' },
        },
        allowPositionals: true,
        strict: true,
      }),
    usage,
  );
  if (values.help === true) {
    await writeText(io.stdout, AUDIT_HELP);
    return 'help' as const;
  }
  if (positionals.length > 0) throw usageError(usage, `Unexpected argument ${JSON.stringify(positionals[0])}.`);
  const tenantId = values.tenant;
  if (tenantId === undefined) throw usageError(usage, 'Missing --tenant <id>.');
  if (values.out === '') throw usageError(usage, '--out needs a file name.');
  return { values, tenantId };
}

async function exportCommand(args: readonly string[], io: CliIo): Promise<number> {
  const parsed = await parseTenantRangeOptions(args, EXPORT_USAGE, io);
  if (parsed === 'help') return 0;
  const { values, tenantId } = parsed;
  const format = exportFormat(values.format, values.out, EXPORT_USAGE);
  const target = auditTarget(values.audit, EXPORT_USAGE);
  await requireExistingLog(target);
  // With a key, the exporter refuses a checkpoint that does not verify and names the key in the header.
  const publicKey = target.kind === 'file' || values['public-key'] !== undefined ? await publicKeyFor(target, values['public-key'], EXPORT_USAGE) : undefined;
  const options = {
    tenantId,
    format,
    ...(values.from === undefined ? {} : { from: values.from }),
    ...(values.to === undefined ? {} : { to: values.to }),
    ...(publicKey === undefined ? {} : { publicKey }),
  };
  await withSink(openAuditSink(target, { readOnly: true }), async (sink) => {
    const chunks = exportAuditRecords(sink, options);
    if (values.out === undefined) {
      for await (const chunk of chunks) await writeText(io.stdout, chunk);
    } else {
      await writeFileAtomically(resolve(values.out), chunks);
      await writeText(io.stderr, `exported tenant ${tenantId} (${format}) to ${resolve(values.out)}\n`);
    }
  });
  return 0;
}

async function reportCommand(args: readonly string[], io: CliIo): Promise<number> {
  const parsed = await parseTenantRangeOptions(args, REPORT_USAGE, io);
  if (parsed === 'help') return 0;
  const { values, tenantId } = parsed;
  const format = reportFormat(values.format, values.out);
  const target = auditTarget(values.audit, REPORT_USAGE);
  await requireExistingLog(target);
  const publicKey = await publicKeyFor(target, values['public-key'], REPORT_USAGE);
  const report = await withSink(openAuditSink(target, { readOnly: true }), (sink) =>
    buildAuditReport(sink, publicKey, {
      tenantId,
      ...(values.from === undefined ? {} : { from: values.from }),
      ...(values.to === undefined ? {} : { to: values.to }),
    }),
  );
  const text = format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderAuditReportHtml(report);
  if (values.out === undefined) {
    await writeText(io.stdout, text);
  } else {
    await writeFileAtomically(resolve(values.out), [text]);
    await writeText(
      io.stderr,
      `report of tenant ${tenantId} (${format}, ${report.executions.total} execution(s), log ${report.verification.ok ? 'verified' : 'DOES NOT VERIFY'}) written to ${resolve(values.out)}\n`,
    );
  }
  return report.verification.ok ? 0 : 1;
}

function reportFormat(value: string | undefined, file: string | undefined): 'html' | 'json' {
  if (value === undefined) return file !== undefined && extname(file).toLowerCase() === '.json' ? 'json' : 'html';
  if (value === 'html' || value === 'json') return value;
  throw usageError(REPORT_USAGE, `--format must be html or json; got ${JSON.stringify(value)}.`);
}

/** Writes `<path>.partial`, then renames it: a failed export leaves no file that looks complete. */
async function writeFileAtomically(path: string, chunks: AsyncIterable<string> | Iterable<string>): Promise<void> {
  const partial = `${path}.partial`;
  const handle = await open(partial, 'w').catch((error: unknown) => {
    throw new CliError(CliErrorCodes.FILE_UNREADABLE, `Cannot write ${JSON.stringify(partial)}: ${systemMessage(error)}`, { cause: error, hint: 'Check the --out directory and its permissions.' });
  });
  try {
    for await (const chunk of chunks) await handle.write(chunk);
    await handle.sync();
    await handle.close();
    await rename(partial, path);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(partial, { force: true });
    throw error;
  }
}

function exportFormat(value: string | undefined, file: string | undefined, usage: CommandUsage): AuditExportFormat {
  if (value === undefined) return file !== undefined && extname(file).toLowerCase() === '.csv' ? 'csv' : 'jsonl';
  if (value === 'jsonl' || value === 'csv') return value;
  throw usageError(usage, `--format must be jsonl or csv; got ${JSON.stringify(value)}.`);
}

async function withSink<T>(sink: AuditSink, use: (sink: AuditSink) => Promise<T>): Promise<T> {
  try {
    return await use(sink);
  } finally {
    await sink.close();
  }
}
