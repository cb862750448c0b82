import { afterAll, beforeAll } from 'vitest';
import type pg from 'pg';
import { auditSinkContractTests } from '@beddel/testing';
import type { AuditSinkHarness, RawAuditValue } from '@beddel/testing';
import { postgresAuditSink } from './index.js';
import { dropSchema, freshSchemaName, testConnectionString, testPool } from './test-support/postgres-test-env.js';

let admin: pg.Pool;
beforeAll(() => {
  admin = testPool(4);
});
afterAll(async () => {
  await admin.end();
});

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/**
 * Tampering as the database owner would: plain SQL on the tables, bypassing the sink. Rows are
 * rewritten in the given order with the `sequence` column as the stored position, so forged
 * duplicates and reorderings are stored exactly as the attacker arranged them.
 */
function sqlTamperer(schema: string): AuditSinkHarness['tamper'] {
  return {
    async rewriteRecords(tenantId, edit) {
      const current = await admin.query<{ record: string }>(`SELECT record FROM "${schema}".records WHERE tenant_id = $1 ORDER BY sequence`, [tenantId]);
      const edited = edit(current.rows.map((row) => JSON.parse(row.record) as RawAuditValue));
      const client = await admin.connect();
      try {
        await client.query('BEGIN');
        await client.query(`DELETE FROM "${schema}".records WHERE tenant_id = $1`, [tenantId]);
        for (const [position, value] of edited.entries()) {
          const record = (value ?? {}) as RawAuditValue;
          await client.query(`INSERT INTO "${schema}".records (tenant_id, sequence, prev_hash, record_hash, record) VALUES ($1, $2, $3, $4, $5)`, [
            tenantId,
            position,
            text(record.prevHash),
            text(record.recordHash),
            JSON.stringify(value),
          ]);
        }
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    },
    async rewriteCheckpoints(tenantId, edit) {
      const current = await admin.query<{ tree_size: string; root_hash: string; note: string; created_at: string }>(
        `SELECT tree_size, root_hash, note, created_at FROM "${schema}".checkpoints WHERE tenant_id = $1 ORDER BY id`,
        [tenantId],
      );
      const edited = edit(current.rows.map((row) => ({ treeSize: Number(row.tree_size), rootHash: row.root_hash, note: row.note, createdAt: row.created_at })));
      const client = await admin.connect();
      try {
        await client.query('BEGIN');
        await client.query(`DELETE FROM "${schema}".checkpoints WHERE tenant_id = $1`, [tenantId]);
        for (const value of edited) {
          const checkpoint = value as RawAuditValue;
          await client.query(`INSERT INTO "${schema}".checkpoints (tenant_id, tree_size, root_hash, note, created_at) VALUES ($1, $2, $3, $4, $5)`, [
            tenantId,
            checkpoint.treeSize,
            checkpoint.rootHash,
            checkpoint.note,
            checkpoint.createdAt,
          ]);
        }
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    },
  };
}

auditSinkContractTests('postgresAuditSink', () => {
  const schema = freshSchemaName();
  const open = () => postgresAuditSink({ pool: testConnectionString(), schema });
  return Promise.resolve({
    sink: open(),
    openAnother: () => Promise.resolve(open()),
    tamper: sqlTamperer(schema),
    cleanup: () => dropSchema(admin, schema),
  });
}, { appendsPerTenant: 100 });
