import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { AuditTrail, GENESIS_HASH, generateAuditKeyPair, sealRecords, unsealedRecordFromEntry, verifyLog } from '@beddel/audit';
import type { SealedAuditRecord } from '@beddel/contracts';
import { MIGRATIONS, postgresAuditSink, postgresAuditSinkFromUri } from './index.js';
import type { PostgresAuditSink } from './index.js';
import { dropSchema, entry, freshSchemaName, testConnectionString, testPool } from './test-support/postgres-test-env.js';

const keys = generateAuditKeyPair();

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

function sealFor(tenantId: string, from: number, count: number) {
  return (head: { sequence: number; recordHash: string } | null) =>
    sealRecords(
      head,
      Array.from({ length: count }, (_, i) => unsealedRecordFromEntry(entry(tenantId, from + i))),
    );
}

describe('postgresAuditSink (PostgreSQL on 127.0.0.1)', () => {
  let admin: pg.Pool;
  let schema: string;
  const opened: PostgresAuditSink[] = [];

  function open(options: { pool?: pg.Pool } = {}): PostgresAuditSink {
    const sink = postgresAuditSink({ pool: options.pool ?? testConnectionString(), schema });
    opened.push(sink);
    return sink;
  }

  beforeAll(() => {
    admin = testPool(4);
  });
  afterAll(async () => {
    await admin.end();
  });
  beforeEach(() => {
    schema = freshSchemaName();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((sink) => sink.close()));
    await dropSchema(admin, schema);
  });

  it('migrates once, idempotently, even when many sinks start together', async () => {
    const sinks = Array.from({ length: 6 }, () => open());
    await Promise.all(sinks.map((sink) => sink.migrate()));
    await sinks[0]!.migrate();
    const applied = await admin.query<{ version: number }>(`SELECT version FROM "${schema}".migrations ORDER BY version`);
    expect(applied.rows.map((row) => row.version)).toEqual(MIGRATIONS.map((migration) => migration.version));
    const tables = await admin.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, [schema]);
    expect(tables.rows.map((row) => row.table_name)).toEqual(['checkpoints', 'heads', 'migrations', 'records']);
  });

  it('refuses a schema migrated by a newer version of the package', async () => {
    await open().migrate();
    await admin.query(`INSERT INTO "${schema}".migrations (version, name) VALUES (999, 'future')`);
    await expect(open().migrate()).rejects.toMatchObject({ code: 'BEDDEL_CONFIGURATION' });
  });

  it('stores records as canonical JSON with hash columns and moves the head row in the same transaction', async () => {
    const sink = open();
    const sealed = await sink.appendBatch('acme', sealFor('acme', 0, 3));
    expect(sealed.map((record) => record.sequence)).toEqual([0, 1, 2]);
    const rows = await admin.query<{ sequence: string; prev_hash: string; record_hash: string; record: string }>(
      `SELECT sequence, prev_hash, record_hash, record FROM "${schema}".records WHERE tenant_id = 'acme' ORDER BY sequence`,
    );
    expect(rows.rows.map((row) => JSON.parse(row.record) as SealedAuditRecord)).toEqual(sealed);
    expect(rows.rows[0]!.prev_hash).toBe(GENESIS_HASH);
    expect(rows.rows.map((row) => row.record_hash)).toEqual(sealed.map((record) => record.recordHash));
    const head = await admin.query(`SELECT sequence, record_hash FROM "${schema}".heads WHERE tenant_id = 'acme'`);
    expect(head.rows).toEqual([{ sequence: '2', record_hash: sealed[2]!.recordHash }]);
    expect(await sink.head('acme')).toEqual({ sequence: 2, recordHash: sealed[2]!.recordHash });
    expect(await collect(sink.read('acme', { fromSequence: 1, toSequence: 1 }))).toEqual([sealed[1]]);
  });

  it('persists nothing when seal throws or returns a batch that does not continue the head', async () => {
    const sink = open();
    const boom = new Error('seal exploded');
    await expect(
      sink.appendBatch('acme', () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await sink.head('acme')).toBeNull();
    expect(await sink.tenants()).toEqual([]);

    await sink.appendBatch('acme', sealFor('acme', 0, 2));
    await expect(sink.appendBatch('acme', () => sealFor('acme', 2, 1)(null))).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_CORRUPT' });
    await expect(sink.appendBatch('acme', sealFor('other', 2, 1))).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_CORRUPT' });
    expect(await sink.appendBatch('acme', () => [])).toEqual([]);
    expect((await collect(sink.read('acme'))).map((record) => record.sequence)).toEqual([0, 1]);
  });

  it('forms one chain when many sink instances (separate pools) append to one tenant at once', async () => {
    const sinks = Array.from({ length: 4 }, () => open());
    await Promise.all(
      sinks.flatMap((sink, s) => Array.from({ length: 10 }, (_, i) => sink.appendBatch('acme', sealFor('acme', s * 100 + i * 3, 3)))),
    );
    const records = await collect(sinks[0]!.read('acme'));
    expect(records.map((record) => record.sequence)).toEqual(Array.from({ length: 120 }, (_, i) => i));
    const verification = await verifyLog(sinks[0]!, keys.publicKey);
    expect(verification.ok).toBe(true);
  });

  it('resumes the chain after a restart and keeps every checkpoint', async () => {
    const first = new AuditTrail({ sink: open(), signingKey: keys.privateKey, checkpoints: { everyRecords: 0, everyMs: 0 } });
    await Promise.all(Array.from({ length: 50 }, (_, i) => first.append(entry('acme', i))));
    await first.close();

    const reopened = open();
    expect((await reopened.head('acme'))?.sequence).toBe(49);
    const second = new AuditTrail({ sink: reopened, signingKey: keys.privateKey, checkpoints: { everyRecords: 0, everyMs: 0 } });
    const receipts = await Promise.all(Array.from({ length: 50 }, (_, i) => second.append(entry('acme', 50 + i))));
    expect(Math.min(...receipts.map((receipt) => receipt.sequence))).toBe(50);
    await second.close();

    const reader = open();
    expect((await reader.listCheckpoints('acme')).map((checkpoint) => checkpoint.treeSize)).toEqual([50, 100]);
    expect((await reader.latestCheckpoint('acme'))?.treeSize).toBe(100);
    const verification = await verifyLog(reader, keys.publicKey, { requireCheckpointed: true });
    expect(verification.ok).toBe(true);
    expect(verification.tenants[0]).toMatchObject({ tenantId: 'acme', records: 100, verifiedTreeSize: 100 });
  });

  it('lists tenants with records or checkpoints in code unit order and maps odd tenant ids safely', async () => {
    const sink = open();
    for (const tenantId of ['b', '..', 'B', 'a:1']) await sink.appendBatch(tenantId, sealFor(tenantId, 0, 1));
    await sink.putCheckpoint('checkpoint-only', { treeSize: 0, rootHash: 'e'.repeat(64), note: 'note', createdAt: '2025-01-01T00:00:00.000Z' });
    expect(await sink.tenants()).toEqual(['..', 'B', 'a:1', 'b', 'checkpoint-only']);
    await expect(sink.head('../etc')).rejects.toMatchObject({ code: 'BEDDEL_INVALID_TENANT' });
  });

  it('returns the latest checkpoint by tree size, the last stored among equals', async () => {
    const sink = open();
    const checkpoint = (treeSize: number, note: string) => ({ treeSize, rootHash: 'a'.repeat(64), note, createdAt: '2025-01-01T00:00:00.000Z' });
    await sink.putCheckpoint('acme', checkpoint(5, 'five'));
    await sink.putCheckpoint('acme', checkpoint(9, 'nine-a'));
    await sink.putCheckpoint('acme', checkpoint(2, 'two'));
    await sink.putCheckpoint('acme', checkpoint(9, 'nine-b'));
    expect((await sink.listCheckpoints('acme')).map((c) => c.note)).toEqual(['two', 'five', 'nine-a', 'nine-b']);
    expect((await sink.latestCheckpoint('acme'))?.note).toBe('nine-b');
    expect(await sink.latestCheckpoint('nobody')).toBeNull();
  });

  it('lets the verifier find rows an attacker with SQL access edited, deleted or reordered', async () => {
    const trail = new AuditTrail({ sink: open(), signingKey: keys.privateKey, checkpoints: { everyRecords: 0, everyMs: 0 } });
    for (const tenantId of ['edited', 'deleted', 'swapped']) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => trail.append(entry(tenantId, i))));
    }
    await trail.close();

    await admin.query(
      `UPDATE "${schema}".records SET record = replace(record, '"status":"ok"', '"status":"error"') WHERE tenant_id = 'edited' AND sequence = 4`,
    );
    await admin.query(`DELETE FROM "${schema}".records WHERE tenant_id = 'deleted' AND sequence = 6`);
    await admin.query(
      `UPDATE "${schema}".records r SET record = o.record FROM "${schema}".records o
        WHERE r.tenant_id = 'swapped' AND o.tenant_id = 'swapped' AND ((r.sequence = 2 AND o.sequence = 3) OR (r.sequence = 3 AND o.sequence = 2))`,
    );

    const verification = await verifyLog(open(), keys.publicKey);
    expect(verification.ok).toBe(false);
    const byTenant = new Map(verification.tenants.map((tenant) => [tenant.tenantId, tenant]));
    expect(byTenant.get('edited')).toMatchObject({ firstBadSequence: 4 });
    expect(byTenant.get('edited')!.problems.map((p) => p.code)).toContain('record-hash-mismatch');
    expect(byTenant.get('deleted')!.problems.map((p) => p.code)).toContain('sequence-gap');
    expect(byTenant.get('deleted')!.problems.map((p) => p.code)).toContain('checkpoint-beyond-log');
    expect(byTenant.get('swapped')!.problems.map((p) => p.code)).toContain('sequence-out-of-order');
  });

  it('refuses to append when the head row no longer matches the stored records', async () => {
    const sink = open();
    await sink.appendBatch('acme', sealFor('acme', 0, 3));
    await admin.query(`UPDATE "${schema}".heads SET sequence = 0 WHERE tenant_id = 'acme'`);
    await expect(sink.appendBatch('acme', sealFor('acme', 3, 1))).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_CORRUPT' });
    expect((await collect(sink.read('acme'))).length).toBe(3);
  });

  it('reports a record that is not JSON as corrupt', async () => {
    const sink = open();
    await sink.appendBatch('acme', sealFor('acme', 0, 2));
    await admin.query(`UPDATE "${schema}".records SET record = '{not json' WHERE tenant_id = 'acme' AND sequence = 1`);
    await expect(collect(sink.read('acme'))).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_CORRUPT' });
  });

  it('reads long logs in pages without losing or repeating records', async () => {
    const sink = open();
    for (let batch = 0; batch < 5; batch += 1) await sink.appendBatch('acme', sealFor('acme', batch * 500, 500));
    const all = await collect(sink.read('acme'));
    expect(all.map((record) => record.sequence)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
    const middle = await collect(sink.read('acme', { fromSequence: 999, toSequence: 2001 }));
    expect(middle.map((record) => record.sequence)).toEqual(Array.from({ length: 1003 }, (_, i) => 999 + i));
  });

  it('leaves a caller-owned pool open, ends its own, and rejects every call after close', async () => {
    const pool = testPool(2);
    const shared = open({ pool });
    await shared.appendBatch('acme', sealFor('acme', 0, 1));
    await shared.close();
    await shared.close();
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    await pool.end();

    const closed = open();
    await closed.close();
    const rejections = [
      closed.appendBatch('acme', sealFor('acme', 1, 1)),
      closed.head('acme'),
      closed.putCheckpoint('acme', { treeSize: 1, rootHash: 'a'.repeat(64), note: 'n', createdAt: 'x' }),
      closed.latestCheckpoint('acme'),
      closed.listCheckpoints('acme'),
      closed.tenants(),
      collect(closed.read('acme')),
    ];
    for (const rejection of rejections) await expect(rejection).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_UNAVAILABLE' });
  });

  it('reports an unreachable database as BEDDEL_AUDIT_UNAVAILABLE', async () => {
    const sink = postgresAuditSink({ pool: 'postgres://postgres@127.0.0.1:1/test', schema });
    await expect(sink.appendBatch('acme', sealFor('acme', 0, 1))).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_UNAVAILABLE' });
    await sink.close();
  });

  it('builds a sink from a postgres:// URI, taking the schema from the query', async () => {
    const sink = postgresAuditSinkFromUri(`${testConnectionString()}?schema=${schema}`);
    opened.push(sink);
    expect(sink.schema).toBe(schema);
    await sink.appendBatch('acme', sealFor('acme', 0, 1));
    expect((await admin.query(`SELECT count(*)::int AS n FROM "${schema}".records`)).rows[0]).toEqual({ n: 1 });
    expect(() => postgresAuditSinkFromUri('s3://bucket/x')).toThrow(expect.objectContaining({ code: 'BEDDEL_CONFIGURATION' }));
    expect(() => postgresAuditSinkFromUri(`${testConnectionString()}?schema=bad-name`)).toThrow(expect.objectContaining({ code: 'BEDDEL_CONFIGURATION' }));
  });
});
