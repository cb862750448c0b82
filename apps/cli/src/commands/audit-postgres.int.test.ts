import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { writeAuditKeyPair } from '@beddel/audit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureDir, jsonLines, runCli, transformation, useTempCwd } from '../test-support/cli-harness.js';

// The real database CI provides. Not skipped when it is unreachable: that must fail loudly.
const DATABASE = 'postgres://postgres@127.0.0.1:5432/test';
const schema = `beddel_cli_test_${randomBytes(6).toString('hex')}`;
const uri = `${DATABASE}?schema=${schema}`;

let fixtures: Awaited<ReturnType<typeof fixtureDir>>;
let pool: pg.Pool;
useTempCwd();

beforeAll(async () => {
  fixtures = await fixtureDir({ 'double.yaml': transformation('double', { result: 'return { doubled: input.n * 2 };' }) });
  await writeAuditKeyPair({ privateKeyPath: fixtures.path('audit.key'), publicKeyPath: fixtures.path('audit.pub') });
  pool = new pg.Pool({ connectionString: DATABASE, max: 2 });
  pool.on('error', () => undefined);
});
afterAll(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
  await fixtures.cleanup();
});

describe('beddel run / batch / audit verify with --audit postgres://', () => {
  it('appends runs and batch jobs to PostgreSQL; audit verify passes with the public key', async () => {
    const signing = ['--audit', uri, '--signing-key', fixtures.path('audit.key')];
    const run = await runCli(['run', fixtures.path('double.yaml'), '-t', 'acme', '-i', '-', ...signing], { stdin: '{"n": 1}' });
    expect(run.code).toBe(0);
    expect(jsonLines(run.stdout)[0]!.receipt).toMatchObject({ tenantId: 'acme', sequence: 0 });

    const jobs = [2, 3, 4].map((n) => JSON.stringify({ tenant: n === 3 ? 'globex' : 'acme', transformation: fixtures.path('double.yaml'), input: { n } })).join('\n');
    const batch = await runCli(['batch', '-', ...signing], { stdin: `${jobs}\n` });
    expect(batch.code).toBe(0);
    expect(jsonLines(batch.stdout).map((line) => [line.receipt?.tenantId, line.receipt?.sequence])).toEqual([
      ['acme', 1],
      ['globex', 0],
      ['acme', 2],
    ]);
    const { rows } = await pool.query<{ tenant_id: string; n: string }>(`SELECT tenant_id, count(*) AS n FROM "${schema}".records GROUP BY tenant_id ORDER BY tenant_id`);
    expect(rows).toEqual([
      { tenant_id: 'acme', n: '3' },
      { tenant_id: 'globex', n: '1' },
    ]);

    const verify = await runCli(['audit', 'verify', '--audit', uri, '--public-key', fixtures.path('audit.pub')]);
    expect(verify.stdout).toMatch(/^acme +ok +3 record\(s\), \d+ checkpoint\(s\), signed up to 3$/m);
    expect(verify.code).toBe(0);
    // The password-free URI is shown as given.
    expect(verify.stdout.split('\n')[0]).toBe(`audit log: ${uri}`);
  });

  it('audit verify exits 1 and names the record after a row is rewritten with SQL', async () => {
    await pool.query(`UPDATE "${schema}".records SET record = replace(record, '"status":"ok"', '"status":"error"') WHERE tenant_id = 'acme' AND sequence = 1`);
    const verify = await runCli(['audit', 'verify', '--audit', uri, '--public-key', fixtures.path('audit.pub')]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/^acme +FAILED /m);
    expect(verify.stdout).toMatch(/^ {2}first bad record: sequence 1: record-hash-mismatch: /m);
    expect(verify.stdout).toMatch(/^globex +ok /m);
  });

  it('exports from PostgreSQL too', async () => {
    const out = join(fixtures.dir, 'globex.jsonl');
    expect((await runCli(['audit', 'export', '--audit', uri, '--public-key', fixtures.path('audit.pub'), '-t', 'globex', '-o', out])).code).toBe(0);
    const verified = await runCli(['audit', 'verify', '--export', out, '--public-key', fixtures.path('audit.pub')]);
    expect(verified.code).toBe(0);
  });
});
