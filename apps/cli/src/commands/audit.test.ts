import { cp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAuditKeyPair } from '@beddel/audit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureDir, jsonLines, runCli, transformation, useTempCwd } from '../test-support/cli-harness.js';

let fixtures: Awaited<ReturnType<typeof fixtureDir>>;
const cwd = useTempCwd();

beforeAll(async () => {
  fixtures = await fixtureDir({
    'double.yaml': transformation('double', { result: 'return { doubled: input.n * 2 };' }),
    'throws.yaml': transformation('throws', { boom: 'throw new Error("no");' }),
  });
});
afterAll(() => fixtures.cleanup());

const logDir = (): string => join(cwd.dir(), '.beddel/audit');

/** The JSONL segment of a tenant in a file log. */
async function segmentOf(dir: string, tenantDir: string): Promise<string> {
  const files = (await readdir(join(dir, tenantDir))).filter((name) => name.startsWith('segment-'));
  return join(dir, tenantDir, files.sort()[0]!);
}

/** Changes one field of record `sequence` in a JSONL segment, leaving its recordHash as it was. */
async function tamperRecord(segment: string, sequence: number, change: (record: Record<string, unknown>) => void): Promise<void> {
  const lines = (await readFile(segment, 'utf8')).split('\n');
  const index = lines.findIndex((line) => line !== '' && (JSON.parse(line) as { sequence: number }).sequence === sequence);
  expect(index).toBeGreaterThanOrEqual(0);
  const record = JSON.parse(lines[index]!) as Record<string, unknown>;
  change(record);
  lines[index] = JSON.stringify(record);
  await writeFile(segment, lines.join('\n'));
}

describe('beddel run with the default audit log, then beddel audit', () => {
  it('appends every run to file:.beddel/audit, creating its key pair, and the results carry receipts', async () => {
    const receipts = [];
    for (const [tenant, file, n] of [['acme', 'double.yaml', 1], ['acme', 'throws.yaml', 2], ['globex', 'double.yaml', 3], ['acme', 'double.yaml', 4]] as const) {
      const { code, stdout } = await runCli(['run', fixtures.path(file), '-t', tenant, '-i', '-'], { stdin: JSON.stringify({ n }) });
      expect(code).toBe(file === 'throws.yaml' ? 1 : 0);
      receipts.push(jsonLines(stdout)[0]!.receipt);
    }
    expect(receipts.map((receipt) => [receipt?.tenantId, receipt?.sequence])).toEqual([
      ['acme', 0],
      ['acme', 1],
      ['globex', 0],
      ['acme', 2],
    ]);
    expect((await stat(join(logDir(), 'audit-signing-key.pem'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(logDir(), 'audit-public-key.pem'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it('audit verify checks the log with the public key beside it and exits 0', async () => {
    const { code, stdout, stderr } = await runCli(['audit', 'verify']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`audit log: ${logDir()}\n`);
    // `run` signs a final checkpoint when it closes the engine: every record is covered.
    expect(stdout).toMatch(/^acme +ok +3 record\(s\), \d+ checkpoint\(s\), signed up to 3$/m);
    expect(stdout).toMatch(/^globex +ok +1 record\(s\), \d+ checkpoint\(s\), signed up to 1$/m);
    expect(stdout).toMatch(/verified: 2 tenant\(s\), no problems\n$/);

    const json = await runCli(['audit', 'verify', '--json', '--tenant', 'globex']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, tenants: [{ tenantId: 'globex', records: 1, problems: [] }] });
  });

  it('audit verify of a tampered copy exits 1 and names the first bad record', async () => {
    const copy = join(cwd.dir(), 'tampered');
    await cp(logDir(), copy, { recursive: true });
    await tamperRecord(await segmentOf(copy, 't-acme'), 1, (record) => {
      record.status = 'ok';
      record.errorCode = null;
    });
    const { code, stdout } = await runCli(['audit', 'verify', '--audit', `file:${copy}`]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^acme +FAILED +3 record\(s\)/m);
    expect(stdout).toMatch(/^ {2}first bad record: sequence 1: record-hash-mismatch: Record 1 does not hash to its recordHash/m);
    expect(stdout).toMatch(/^globex +ok /m);
    expect(stdout).toMatch(/FAILED: 1 of 2 tenant\(s\) have problems\n$/);
  });

  it('audit verify works while a writer holds the log (read-only, no lock)', async () => {
    await writeFile(join(logDir(), 'writer.lock'), JSON.stringify({ pid: process.pid, hostname: 'here', token: 'x', since: new Date().toISOString() }));
    try {
      expect((await runCli(['audit', 'verify'])).code).toBe(0);
    } finally {
      const { rm } = await import('node:fs/promises');
      await rm(join(logDir(), 'writer.lock'));
    }
  });

  it('audit export writes a self-verifying export; verify --export passes, then fails after an edit', async () => {
    const out = join(cwd.dir(), 'acme.jsonl');
    const exported = await runCli(['audit', 'export', '--tenant', 'acme', '--out', out]);
    expect(exported).toMatchObject({ code: 0, stdout: '' });
    const lines = (await readFile(out, 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line) as { type: string; sequence?: number });
    expect(lines.map((line) => line.type)).toEqual(['header', 'record', 'record', 'record', 'checkpoint']);

    const publicKey = join(logDir(), 'audit-public-key.pem');
    const verified = await runCli(['audit', 'verify', '--export', out, '--public-key', publicKey]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain('tenant acme: 3 record(s), checkpoint tree size 3\nverified:');

    const text = await readFile(out, 'utf8');
    await writeFile(out, text.replace('"status":"error"', '"status":"ok"'));
    const tampered = await runCli(['audit', 'verify', '--export', out, '--public-key', publicKey]);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(/sequence 1: record-hash-mismatch: /);
  });

  it('audit export --format csv writes CSV to stdout', async () => {
    const { code, stdout } = await runCli(['audit', 'export', '-t', 'globex', '--format', 'csv']);
    expect(code).toBe(0);
    const rows = stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^# \{.*"tenantId":"globex"/);
    expect(rows[1]).toMatch(/^sequence,version,tenantId,/);
    expect(rows[2]).toMatch(/^0,1,globex,/);
  });

  it('audit report writes a self-contained HTML report; --format json the report object', async () => {
    const out = join(cwd.dir(), 'acme-report.html');
    const html = await runCli(['audit', 'report', '--tenant', 'acme', '--out', out]);
    expect(html.code).toBe(0);
    expect(html.stderr).toBe(`report of tenant acme (html, 3 execution(s), log verified) written to ${out}\n`);
    const page = await readFile(out, 'utf8');
    expect(page).toMatch(/^<!DOCTYPE html>/i);
    expect(page).toContain('id="verification"');
    expect(page).not.toMatch(/<script/i);

    const json = await runCli(['audit', 'report', '-t', 'acme', '--format', 'json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      report: 'beddel-audit-report',
      tenantId: 'acme',
      executions: { total: 3, ok: 2, failed: 1 },
      failuresByCode: [{ code: 'BEDDEL_RUNTIME_ERROR', count: 1 }],
      verification: { ok: true, records: 3 },
    });
  });

  it('audit report of a tampered log is still written, shows the failure, and exits 1', async () => {
    const copy = join(cwd.dir(), 'tampered');
    const { code, stdout } = await runCli(['audit', 'report', '-t', 'acme', '--audit', `file:${copy}`, '--format', 'json']);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ verification: { ok: false, firstBadSequence: 1 } });
  });

  it('--signing-key signs with a given key; a key that does not match the log is refused (exit 2)', async () => {
    const dir = join(cwd.dir(), 'own-key-log');
    const keys = join(cwd.dir(), 'keys');
    await writeAuditKeyPair({ privateKeyPath: join(keys, 'a.key'), publicKeyPath: join(keys, 'a.pub') });
    await writeAuditKeyPair({ privateKeyPath: join(keys, 'b.key'), publicKeyPath: join(keys, 'b.pub') });
    const ok = await runCli(['run', fixtures.path('double.yaml'), '-t', 'acme', '--audit', `file:${dir}`, '--signing-key', join(keys, 'a.key')]);
    expect(ok.code).toBe(0);
    // The public key of the given signing key is written beside the log for verifiers.
    expect(await readFile(join(dir, 'audit-public-key.pem'), 'utf8')).toBe(await readFile(join(keys, 'a.pub'), 'utf8'));
    expect((await runCli(['audit', 'verify', '--audit', `file:${dir}`])).code).toBe(0);

    const wrong = await runCli(['run', fixtures.path('double.yaml'), '-t', 'acme', '--audit', `file:${dir}`, '--signing-key', join(keys, 'b.key')]);
    expect(wrong.code).toBe(2);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toMatch(/^error BEDDEL_CONFIGURATION: The signing key does not match .*audit-public-key\.pem/);
    // Verifying with another key fails on every checkpoint signature.
    const otherKey = await runCli(['audit', 'verify', '--audit', `file:${dir}`, '--public-key', join(keys, 'b.pub')]);
    expect(otherKey.code).toBe(1);
    expect(otherKey.stdout).toContain('checkpoint-bad-signature');
  });

  it.each([
    [['run', 'X', '-t', 'acme', '--audit', 'postgres://postgres@127.0.0.1:5432/test'], /^error BEDDEL_USAGE: A PostgreSQL audit log needs --signing-key <pem file>\.\nhint: Create a key pair once/],
    [['run', 'X', '-t', 'acme', '--audit', 's3://bucket/prefix'], /^error BEDDEL_USAGE: An? S3 audit log needs --signing-key/],
    [['run', 'X', '-t', 'acme', '--audit', 'ftp://host/x'], /^error BEDDEL_USAGE: --audit "ftp:\/\/host\/x" is not a known audit log URI\.\nhint: Use --audit file:<dir>/],
    [['run', 'X', '-t', 'acme', '--no-audit', '--audit', 'file:x'], /^error BEDDEL_USAGE: --no-audit cannot be combined with --audit or --signing-key\./],
    [['audit', 'verify', '--audit', 'file:does-not-exist'], /^error BEDDEL_FILE_UNREADABLE: There is no audit log in .*does-not-exist\./],
    [['audit', 'verify', '--audit', 'postgres://postgres@127.0.0.1:5432/test'], /^error BEDDEL_USAGE: Verifying a PostgreSQL audit log needs --public-key <pem file>\./],
    [['audit', 'verify', '--export', 'x.jsonl'], /^error BEDDEL_USAGE: --export needs --public-key <pem>/],
    [['audit', 'export'], /^error BEDDEL_USAGE: Missing --tenant <id>\./],
    [['audit', 'export', '-t', 'acme', '--format', 'xml'], /^error BEDDEL_USAGE: --format must be jsonl or csv/],
    [['audit', 'frobnicate'], /^error BEDDEL_USAGE: Unknown audit subcommand "frobnicate"; use verify, export or report\./],
    [['audit', 'report'], /^error BEDDEL_USAGE: Missing --tenant <id>\./],
    [['audit', 'report', '-t', 'acme', '--format', 'pdf'], /^error BEDDEL_USAGE: --format must be html or json/],
    [['audit', 'export', '-t', 'acme', '--from', 'yesterday'], /^error BEDDEL_CONFIGURATION: Invalid from time "yesterday"/],
  ])('%j exits 2 with a coded error', async (argv, stderr) => {
    const { code, stdout, stderr: actual } = await runCli(argv.map((arg) => (arg === 'X' ? fixtures.path('double.yaml') : arg)));
    expect(actual).toMatch(stderr);
    expect(code).toBe(2);
    expect(stdout).toBe('');
  });

  it('audit export of a tenant with no records exits 1 with BEDDEL_AUDIT_UNAVAILABLE', async () => {
    const { code, stderr } = await runCli(['audit', 'export', '-t', 'nobody']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error BEDDEL_AUDIT_UNAVAILABLE: Tenant nobody has no signed checkpoint yet/);
  });
});
