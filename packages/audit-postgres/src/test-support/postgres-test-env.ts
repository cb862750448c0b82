import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { AuditEntry } from '@beddel/contracts';

/** Connection settings of the test database: PG* environment variables, else the local default. */
export function testConnectionConfig(): pg.PoolConfig {
  return {
    host: process.env.PGHOST ?? '127.0.0.1',
    port: Number(process.env.PGPORT ?? 5432),
    user: process.env.PGUSER ?? 'postgres',
    database: process.env.PGDATABASE ?? 'test',
    ...(process.env.PGPASSWORD === undefined ? {} : { password: process.env.PGPASSWORD }),
  };
}

export function testConnectionString(): string {
  const config = testConnectionConfig();
  const password = config.password === undefined ? '' : `:${encodeURIComponent(String(config.password))}`;
  return `postgres://${encodeURIComponent(config.user!)}${password}@${config.host}:${config.port}/${encodeURIComponent(config.database!)}`;
}

export function testPool(max = 10): pg.Pool {
  const pool = new pg.Pool({ ...testConnectionConfig(), max });
  pool.on('error', () => undefined);
  return pool;
}

/** A schema name no other test run uses; drop it with `dropSchema` when done. */
export function freshSchemaName(): string {
  return `beddel_audit_test_${randomBytes(6).toString('hex')}`;
}

export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

export function entry(tenantId: string, n: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    tenantId,
    executionId: `exec-${tenantId}-${n}`,
    timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, n % 60)).toISOString(),
    transformation: { name: 'pricing', version: '1.0.0', sourceSha256: 'a'.repeat(64) },
    input: { n },
    output: { total: n * 2 },
    profileId: 'default',
    status: 'ok',
    errorCode: null,
    metrics: { durationMs: 1.5, cpuMs: 1, heapBytes: 2048 },
    ...overrides,
  };
}
