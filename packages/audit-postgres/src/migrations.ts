import { BeddelError, ErrorCodes } from '@beddel/contracts';
import type { PoolClient } from 'pg';

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** SQL run with `search_path` set to the sink's schema. */
  readonly sql: string;
}

/**
 * Versioned schema changes, applied in order and recorded in `migrations`. A published migration
 * never changes; a new schema version is a new entry.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'heads, records, checkpoints',
    sql: `
      CREATE TABLE heads (
        tenant_id   text COLLATE "C" PRIMARY KEY,
        -- -1 with 64 zeros: the row exists (so it can be locked) but the chain is empty.
        sequence    bigint NOT NULL,
        record_hash text NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE records (
        tenant_id   text COLLATE "C" NOT NULL,
        sequence    bigint NOT NULL,
        prev_hash   text NOT NULL,
        record_hash text NOT NULL,
        -- The sealed record as RFC 8785 canonical JSON text, byte for byte what was hashed.
        record      text NOT NULL,
        stored_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, sequence)
      );
      CREATE TABLE checkpoints (
        id          bigserial PRIMARY KEY,
        tenant_id   text COLLATE "C" NOT NULL,
        tree_size   bigint NOT NULL,
        root_hash   text NOT NULL,
        note        text NOT NULL,
        created_at  text NOT NULL,
        stored_at   timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX checkpoints_by_tenant_size ON checkpoints (tenant_id, tree_size, id);
    `,
  },
];

/** Arbitrary first key of the two-key advisory lock that serialises migrations of one schema. */
const MIGRATION_LOCK_CLASS = 0x6264_6c61; // "bdla"

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Brings `schema` to the latest version. Runs in one transaction under an advisory lock keyed by
 * the schema name, so processes starting together neither race on `CREATE` nor apply a
 * migration twice; a process that waited finds the work done. Idempotent.
 */
export async function migrate(client: PoolClient, schema: string): Promise<void> {
  const quoted = quoteIdentifier(schema);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK_CLASS, schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quoted}.migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const applied = await client.query<{ version: number }>(`SELECT version FROM ${quoted}.migrations`);
    const done = new Set(applied.rows.map((row) => row.version));
    const latest = Math.max(...MIGRATIONS.map((migration) => migration.version));
    const newer = [...done].filter((version) => version > latest);
    if (newer.length > 0) {
      throw new BeddelError(ErrorCodes.CONFIGURATION, `Audit schema ${schema} is at version ${Math.max(...newer)}, newer than this @beddel/audit-postgres knows (${latest}); upgrade the package.`);
    }
    await client.query(`SET LOCAL search_path TO ${quoted}`);
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query(`INSERT INTO ${quoted}.migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
