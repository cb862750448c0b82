import type { KeyObject } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAuditPrivateKey, loadAuditPublicKey, publicKeyToPem, writeAuditKeyPair } from '@beddel/audit';
import { fileAuditSink } from '@beddel/audit-file';
import { postgresAuditSinkFromUri } from '@beddel/audit-postgres';
import { s3AuditSinkFromUri } from '@beddel/audit-s3';
import { BeddelError, ErrorCodes } from '@beddel/contracts';
import type { AuditSink } from '@beddel/contracts';
import type { AuditWiring } from './build-engine.js';
import { CliError, CliErrorCodes, systemMessage } from './cli-error.js';
import { usageError } from './command-line.js';
import type { CommandUsage } from './command-line.js';

/** The log `run` and `batch` write to, and `audit` reads, when `--audit` is not given. */
export const DEFAULT_AUDIT_URI = 'file:.beddel/audit';
/** In a file log's directory: the key that signs checkpoints (mode 0600), made on first use. */
export const SIGNING_KEY_FILE = 'audit-signing-key.pem';
/** In a file log's directory: the public key verifiers use by default. */
export const PUBLIC_KEY_FILE = 'audit-public-key.pem';

/** Where an audit log lives, from `--audit <uri>`. */
export type AuditTarget =
  | { readonly kind: 'file'; readonly uri: string; readonly dir: string }
  | { readonly kind: 'postgres'; readonly uri: string }
  | { readonly kind: 's3'; readonly uri: string };

/** `--audit`, `--no-audit`, `--signing-key`: the options of commands that write the audit log. */
export const auditWriteOptions = {
  audit: { type: 'string' },
  'no-audit': { type: 'boolean' },
  'signing-key': { type: 'string' },
} as const;

export const AUDIT_WRITE_HELP = `      --audit <uri>        audit log to append every execution to (default: ${DEFAULT_AUDIT_URI}):
                           file:<dir>, postgres://user@host/db?schema=<name>,
                           s3://bucket/prefix?endpoint=<url>&region=<r>&forcePathStyle=true
      --signing-key <pem>  Ed25519 private key that signs checkpoints; default for file:<dir>:
                           <dir>/${SIGNING_KEY_FILE} (created with <dir>/${PUBLIC_KEY_FILE}
                           on first use); required for postgres:// and s3://
      --no-audit           run without an audit log (results carry no receipt)`;

const URI_HINT = 'Use --audit file:<dir>, --audit postgres://user@host:5432/db?schema=<name> or --audit s3://bucket/prefix?endpoint=<url>.';

/** Parses `--audit`. A relative `file:` directory is resolved from the current directory. */
export function parseAuditUri(uri: string, usage: CommandUsage): AuditTarget {
  if (uri.startsWith('file:')) {
    let dir: string;
    try {
      dir = uri.startsWith('file://') ? fileURLToPath(uri) : uri.slice('file:'.length);
    } catch (error) {
      throw usageError(usage, `--audit ${JSON.stringify(uri)} is not a valid file URI: ${systemMessage(error)}`);
    }
    if (dir === '') throw usageError(usage, '--audit file: needs a directory, e.g. file:.beddel/audit.');
    return { kind: 'file', uri, dir: resolve(dir) };
  }
  if (uri.startsWith('postgres://') || uri.startsWith('postgresql://')) return { kind: 'postgres', uri };
  if (uri.startsWith('s3://')) return { kind: 's3', uri };
  throw new CliError(CliErrorCodes.USAGE, `--audit ${JSON.stringify(redactUri(uri))} is not a known audit log URI.`, { hint: URI_HINT });
}

/** The target of `--audit` (or the default). */
export function auditTarget(uri: string | undefined, usage: CommandUsage): AuditTarget {
  return parseAuditUri(uri ?? DEFAULT_AUDIT_URI, usage);
}

/** The target for messages: file logs by directory, other URIs without their password. */
export function describeTarget(target: AuditTarget): string {
  return target.kind === 'file' ? target.dir : redactUri(target.uri);
}

function redactUri(uri: string): string {
  try {
    const url = new URL(uri);
    if (url.password === '') return uri;
    url.password = '***';
    return url.toString();
  } catch {
    return uri;
  }
}

/**
 * Opens the sink of a target. `readOnly` matters for file logs: a read-only file sink takes no
 * lock, so `audit verify` works while a writer appends. PostgreSQL and S3 readers need no lock.
 */
export function openAuditSink(target: AuditTarget, options: { readonly readOnly?: boolean } = {}): AuditSink {
  switch (target.kind) {
    case 'file':
      return fileAuditSink({ dir: target.dir, readOnly: options.readOnly ?? false });
    case 'postgres':
      return postgresAuditSinkFromUri(target.uri);
    case 's3':
      return s3AuditSinkFromUri(target.uri);
  }
}

/**
 * The audit wiring of `run`, `batch` and `debug`: undefined with `--no-audit`, else the sink and
 * the signing key (see `signingKeyFor`).
 */
export async function auditWiring(
  values: { readonly audit?: string | undefined; readonly 'no-audit'?: boolean | undefined; readonly 'signing-key'?: string | undefined },
  usage: CommandUsage,
): Promise<AuditWiring | undefined> {
  if (values['no-audit'] === true) {
    if (values.audit !== undefined || values['signing-key'] !== undefined) throw usageError(usage, '--no-audit cannot be combined with --audit or --signing-key.');
    return undefined;
  }
  const target = auditTarget(values.audit, usage);
  const signingKey = await signingKeyFor(target, values['signing-key'], usage);
  return { sink: openAuditSink(target), signingKey };
}

/**
 * The key that signs checkpoints. `--signing-key` wins. Otherwise a file log uses
 * `<dir>/audit-signing-key.pem`, generating it (mode 0600) with `<dir>/audit-public-key.pem` the
 * first time. PostgreSQL and S3 logs are shared by processes on several machines and have no
 * directory of their own to keep a key beside, so they need `--signing-key`: a key made up on
 * the spot would sign checkpoints no one else can check.
 *
 * For a file log the public key beside the log must belong to the signing key (it is written
 * when missing): signing with another key would make every later checkpoint fail verification.
 */
export async function signingKeyFor(target: AuditTarget, signingKeyPath: string | undefined, usage: CommandUsage): Promise<KeyObject> {
  if (target.kind !== 'file') {
    if (signingKeyPath === undefined) {
      throw new CliError(CliErrorCodes.USAGE, `A ${target.kind === 'postgres' ? 'PostgreSQL' : 'S3'} audit log needs --signing-key <pem file>.`, {
        hint: `Create a key pair once (e.g. \`openssl genpkey -algorithm ed25519 -out audit.key\`), keep the private key on the engine hosts and give verifiers the public key. ${usageHint(usage)}`,
      });
    }
    return loadAuditPrivateKey(resolve(signingKeyPath));
  }
  const publicKeyPath = join(target.dir, PUBLIC_KEY_FILE);
  if (signingKeyPath !== undefined) {
    const key = await loadAuditPrivateKey(resolve(signingKeyPath));
    await ensurePublicKeyBeside(publicKeyPath, key);
    return key;
  }
  const privateKeyPath = join(target.dir, SIGNING_KEY_FILE);
  if (!(await exists(privateKeyPath))) {
    if (await exists(publicKeyPath)) {
      throw new CliError(CliErrorCodes.USAGE, `The audit log in ${target.dir} has a ${PUBLIC_KEY_FILE} but no ${SIGNING_KEY_FILE}.`, {
        hint: 'Give the key that signed this log with --signing-key <pem file>, or use another --audit directory.',
      });
    }
    try {
      return (await writeAuditKeyPair({ privateKeyPath, publicKeyPath })).privateKey;
    } catch (error) {
      // Another process made the pair first: use theirs.
      if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) {
        throw new BeddelError(ErrorCodes.CONFIGURATION, `Cannot create the audit signing key in ${target.dir}: ${systemMessage(error)}`, { cause: error });
      }
    }
  }
  const key = await loadAuditPrivateKey(privateKeyPath);
  await ensurePublicKeyBeside(publicKeyPath, key);
  return key;
}

async function ensurePublicKeyBeside(publicKeyPath: string, privateKey: KeyObject): Promise<void> {
  const expected = publicKeyToPem(privateKey);
  let existing: string | undefined;
  try {
    existing = await readFile(publicKeyPath, 'utf8');
  } catch {
    existing = undefined;
  }
  if (existing === undefined) {
    await mkdir(dirname(publicKeyPath), { recursive: true })
      .then(() => writeFile(publicKeyPath, expected, { mode: 0o644, flag: 'wx' }))
      .catch((error: unknown) => {
        throw new BeddelError(ErrorCodes.CONFIGURATION, `Cannot write the audit public key ${publicKeyPath}: ${systemMessage(error)}`, { cause: error });
      });
    return;
  }
  const beside = await loadAuditPublicKey(existing);
  if (publicKeyToPem(beside) !== expected) {
    throw new BeddelError(
      ErrorCodes.CONFIGURATION,
      `The signing key does not match ${publicKeyPath}: checkpoints it signs would not verify against the log's public key. Use the log's own signing key, or another --audit directory.`,
    );
  }
}

/**
 * The public key a verifier trusts: `--public-key`, else `<dir>/audit-public-key.pem` for a file
 * log. PostgreSQL and S3 logs need `--public-key`.
 */
export async function publicKeyFor(target: AuditTarget, publicKeyPath: string | undefined, usage: CommandUsage): Promise<KeyObject> {
  if (publicKeyPath !== undefined) return loadAuditPublicKey(resolve(publicKeyPath));
  if (target.kind !== 'file') throw usageError(usage, `Verifying a ${target.kind === 'postgres' ? 'PostgreSQL' : 'S3'} audit log needs --public-key <pem file>.`);
  const beside = join(target.dir, PUBLIC_KEY_FILE);
  if (!(await exists(beside))) {
    throw new CliError(CliErrorCodes.FILE_UNREADABLE, `There is no ${PUBLIC_KEY_FILE} in ${target.dir}.`, {
      hint: 'Check --audit (default file:.beddel/audit, relative to the current directory), or give the log\'s public key with --public-key <pem file>.',
    });
  }
  return loadAuditPublicKey(beside);
}

/** A file log must exist before it is read: a read-only sink on a missing directory would just look empty. */
export async function requireExistingLog(target: AuditTarget): Promise<void> {
  if (target.kind !== 'file') return;
  if (!(await exists(target.dir))) {
    throw new CliError(CliErrorCodes.FILE_UNREADABLE, `There is no audit log in ${target.dir}.`, {
      hint: 'Check --audit (default file:.beddel/audit, relative to the current directory where `beddel run` wrote it).',
    });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function usageHint(usage: CommandUsage): string {
  return `Usage: beddel ${usage.name} ${usage.synopsis}.`;
}
