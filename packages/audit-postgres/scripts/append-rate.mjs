// Appends per second through AuditTrail (group commit) + postgresAuditSink against the local
// PostgreSQL. Run after `pnpm build`: node scripts/append-rate.mjs [appends] [callers]
// Uses PGHOST/PGPORT/PGUSER/PGDATABASE (defaults 127.0.0.1/5432/postgres/test) and a throwaway schema.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { postgresAuditSink } from '@beddel/audit-postgres';
import { measureAppendRate } from '@beddel/testing/append-rate';

const appends = Number(process.argv[2] ?? 5000);
const callers = Number(process.argv[3] ?? 200);
const host = process.env.PGHOST ?? '127.0.0.1';
const port = process.env.PGPORT ?? '5432';
const user = process.env.PGUSER ?? 'postgres';
const database = process.env.PGDATABASE ?? 'test';
const connectionString = `postgres://${encodeURIComponent(user)}@${host}:${port}/${encodeURIComponent(database)}`;
const schema = `beddel_audit_rate_${randomBytes(4).toString('hex')}`;
const open = () => postgresAuditSink({ pool: connectionString, schema });

try {
  await measureAppendRate({ label: 'postgres one tenant', tenants: [`one-${randomBytes(3).toString('hex')}`], appends, callers, openSink: open, openReader: open });
  await measureAppendRate({ label: 'postgres 10 tenants', tenants: Array.from({ length: 10 }, (_, i) => `t${i}-${randomBytes(3).toString('hex')}`), appends, callers, openSink: open, openReader: open });
} finally {
  const admin = new pg.Client({ connectionString });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
}
