import pg from 'pg';
import type { PoolClient } from 'pg';
import { BeddelError, ErrorCodes, canonicalJson, isBeddelError, GENESIS_HASH, assertBatchContinuesHead, assertTenantId, InFlightOperations } from '@beddel/contracts';
import type {
  AuditChainHead,
  AuditCheckpoint,
  AuditReadRange,
  AuditSealFunction,
  AuditSink,
  AuditSinkCapabilities,
  SealedAuditRecord,
} from '@beddel/contracts';
import { migrate, quoteIdentifier } from './migrations.js';

export interface PostgresAuditSinkOptions {
  /** A pool the caller owns (not ended by `close()`), or a connection string (the sink owns its pool). */
  readonly pool: pg.Pool | string;
  /** Schema holding the tables; created on first use. Default `beddel_audit`. */
  readonly schema?: string;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** Rows fetched per query while reading; keeps memory flat for long logs. */
const READ_PAGE = 1000;
const UNIQUE_VIOLATION = '23505';

interface HeadRow {
  readonly sequence: string;
  readonly record_hash: string;
}

interface CheckpointRow {
  readonly tree_size: string;
  readonly root_hash: string;
  readonly note: string;
  readonly created_at: string;
}

/** Wraps an error thrown by the caller's seal function so it is rethrown unchanged. */
class SealFailure extends Error {
  constructor(readonly error: unknown) {
    super('seal failed');
  }
}

function unavailable(message: string, cause: unknown): BeddelError {
  return new BeddelError(ErrorCodes.AUDIT_UNAVAILABLE, message, { cause });
}

function toHead(row: HeadRow | undefined): AuditChainHead | null {
  if (row === undefined) return null;
  const sequence = Number(row.sequence);
  return sequence < 0 ? null : { sequence, recordHash: row.record_hash };
}

function toCheckpoint(row: CheckpointRow): AuditCheckpoint {
  return { treeSize: Number(row.tree_size), rootHash: row.root_hash, note: row.note, createdAt: row.created_at };
}

/**
 * An `AuditSink` over PostgreSQL. Every tenant has a head row; an append locks it
 * (`SELECT ... FOR UPDATE`), seals the batch against it, inserts the records and moves the head
 * in one transaction, and acknowledges after COMMIT. Any number of processes on any number of
 * machines may append to the same tenant: the row lock orders them into one chain.
 *
 * The database does not make the log trustworthy (its owner can rewrite any row); the record
 * hashes, chain links and signed checkpoints do, and `verifyLog` checks them.
 */
export class PostgresAuditSink implements AuditSink {
  readonly capabilities: AuditSinkCapabilities = { multiWriter: true };
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly table: { readonly heads: string; readonly records: string; readonly checkpoints: string };
  private readonly inFlight = new InFlightOperations();
  private migrated: Promise<void> | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(options: PostgresAuditSinkOptions) {
    const schema = options.schema ?? 'beddel_audit';
    if (!SCHEMA_NAME.test(schema)) {
      throw new BeddelError(ErrorCodes.CONFIGURATION, `postgresAuditSink: schema must match ${SCHEMA_NAME.source}, got ${JSON.stringify(schema)}.`);
    }
    this.schema = schema;
    if (typeof options.pool === 'string') {
      this.pool = new pg.Pool({ connectionString: options.pool });
      // An idle client losing its connection must not crash the process; the next query reports it.
      this.pool.on('error', () => undefined);
      this.ownsPool = true;
    } else {
      this.pool = options.pool;
      this.ownsPool = false;
    }
    const quoted = quoteIdentifier(schema);
    this.table = { heads: `${quoted}.heads`, records: `${quoted}.records`, checkpoints: `${quoted}.checkpoints` };
  }

  /** Creates or upgrades the schema (also done on first use). Safe to call from many processes at once. */
  migrate(): Promise<void> {
    this.migrated ??= this.withClient('migrate the audit schema', (client) => migrate(client, this.schema)).catch((error: unknown) => {
      this.migrated = null;
      throw error;
    });
    return this.migrated;
  }

  appendBatch(tenantId: string, seal: AuditSealFunction): Promise<readonly SealedAuditRecord[]> {
    return this.track(tenantId, async () => {
      await this.migrate();
      return this.withClient(`append to the audit log of tenant ${tenantId}`, (client) => this.appendInTransaction(client, tenantId, seal));
    });
  }

  async *read(tenantId: string, range: AuditReadRange = {}): AsyncIterable<SealedAuditRecord> {
    this.checkOpen(tenantId);
    await this.migrate();
    let after: number | null = range.fromSequence === undefined ? null : range.fromSequence - 1;
    const to = range.toSequence ?? null;
    for (;;) {
      const rows = await this.query<{ sequence: string; record: string }>(
        `read the audit log of tenant ${tenantId}`,
        `SELECT sequence, record FROM ${this.table.records}
          WHERE tenant_id = $1 AND ($2::bigint IS NULL OR sequence > $2) AND ($3::bigint IS NULL OR sequence <= $3)
          ORDER BY sequence LIMIT ${READ_PAGE}`,
        [tenantId, after, to],
      );
      for (const row of rows) {
        let record: SealedAuditRecord;
        try {
          record = JSON.parse(row.record) as SealedAuditRecord;
        } catch (error) {
          throw new BeddelError(ErrorCodes.AUDIT_CORRUPT, `The stored record at sequence ${row.sequence} of tenant ${tenantId} is not JSON.`, { cause: error });
        }
        yield record;
      }
      if (rows.length < READ_PAGE) return;
      after = Number(rows.at(-1)!.sequence);
    }
  }

  head(tenantId: string): Promise<AuditChainHead | null> {
    return this.track(tenantId, async () => {
      await this.migrate();
      const rows = await this.query<HeadRow>(`read the head of tenant ${tenantId}`, `SELECT sequence, record_hash FROM ${this.table.heads} WHERE tenant_id = $1`, [tenantId]);
      return toHead(rows[0]);
    });
  }

  putCheckpoint(tenantId: string, checkpoint: AuditCheckpoint): Promise<void> {
    return this.track(tenantId, async () => {
      await this.migrate();
      await this.query(
        `store a checkpoint of tenant ${tenantId}`,
        `INSERT INTO ${this.table.checkpoints} (tenant_id, tree_size, root_hash, note, created_at) VALUES ($1, $2, $3, $4, $5)`,
        [tenantId, checkpoint.treeSize, checkpoint.rootHash, checkpoint.note, checkpoint.createdAt],
      );
    });
  }

  latestCheckpoint(tenantId: string): Promise<AuditCheckpoint | null> {
    return this.track(tenantId, async () => {
      await this.migrate();
      const rows = await this.query<CheckpointRow>(
        `read the latest checkpoint of tenant ${tenantId}`,
        `SELECT tree_size, root_hash, note, created_at FROM ${this.table.checkpoints} WHERE tenant_id = $1 ORDER BY tree_size DESC, id DESC LIMIT 1`,
        [tenantId],
      );
      return rows[0] === undefined ? null : toCheckpoint(rows[0]);
    });
  }

  listCheckpoints(tenantId: string): Promise<readonly AuditCheckpoint[]> {
    return this.track(tenantId, async () => {
      await this.migrate();
      const rows = await this.query<CheckpointRow>(
        `list the checkpoints of tenant ${tenantId}`,
        `SELECT tree_size, root_hash, note, created_at FROM ${this.table.checkpoints} WHERE tenant_id = $1 ORDER BY tree_size, id`,
        [tenantId],
      );
      return rows.map(toCheckpoint);
    });
  }

  tenants(): Promise<readonly string[]> {
    return this.track(undefined, async () => {
      await this.migrate();
      // Tenants come from the records themselves (a loose index scan over the primary key), not
      // only from head rows, so deleting a head row cannot hide a tenant from the verifier.
      const rows = await this.query<{ tenant_id: string }>(
        'list the audit tenants',
        `WITH RECURSIVE seen AS (
           (SELECT tenant_id FROM ${this.table.records} ORDER BY tenant_id LIMIT 1)
           UNION ALL
           SELECT (SELECT r.tenant_id FROM ${this.table.records} r WHERE r.tenant_id > seen.tenant_id ORDER BY r.tenant_id LIMIT 1)
             FROM seen WHERE seen.tenant_id IS NOT NULL
         )
         SELECT tenant_id FROM seen WHERE tenant_id IS NOT NULL
         UNION SELECT tenant_id FROM ${this.table.heads} WHERE sequence >= 0
         UNION SELECT DISTINCT tenant_id FROM ${this.table.checkpoints}`,
      );
      // UTF-16 code unit order, as the contract asks (JavaScript's default sort).
      return rows.map((row) => row.tenant_id).sort();
    });
  }

  close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      await this.inFlight.settled();
      if (this.ownsPool) await this.pool.end();
    })();
    return this.closing;
  }

  private async appendInTransaction(client: PoolClient, tenantId: string, seal: AuditSealFunction): Promise<readonly SealedAuditRecord[]> {
    await client.query('BEGIN');
    try {
      // The head row must exist before it can be locked; a concurrent first append waits on
      // this insert and then finds the row.
      await client.query(`INSERT INTO ${this.table.heads} (tenant_id, sequence, record_hash) VALUES ($1, -1, $2) ON CONFLICT (tenant_id) DO NOTHING`, [tenantId, GENESIS_HASH]);
      const locked = await client.query<HeadRow>(`SELECT sequence, record_hash FROM ${this.table.heads} WHERE tenant_id = $1 FOR UPDATE`, [tenantId]);
      const head = toHead(locked.rows[0]);
      const last = await client.query<HeadRow>(`SELECT sequence, record_hash FROM ${this.table.records} WHERE tenant_id = $1 ORDER BY sequence DESC LIMIT 1`, [tenantId]);
      const stored = toHead(last.rows[0]);
      if (stored?.sequence !== head?.sequence || stored?.recordHash !== head?.recordHash) {
        throw new BeddelError(ErrorCodes.AUDIT_CORRUPT, `The head row of tenant ${tenantId} does not match its last stored record; run \`beddel audit verify\`.`);
      }
      let sealed: readonly SealedAuditRecord[];
      try {
        sealed = seal(head);
      } catch (error) {
        throw new SealFailure(error);
      }
      if (sealed.length === 0) {
        await client.query('ROLLBACK');
        return [];
      }
      assertBatchContinuesHead(tenantId, head, sealed);
      const texts = sealed.map((record) => canonicalJson(record));
      await client.query(
        `INSERT INTO ${this.table.records} (tenant_id, sequence, prev_hash, record_hash, record)
         SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[])`,
        [tenantId, sealed.map((record) => record.sequence), sealed.map((record) => record.prevHash), sealed.map((record) => record.recordHash), texts],
      );
      const newHead = sealed.at(-1)!;
      await client.query(`UPDATE ${this.table.heads} SET sequence = $2, record_hash = $3, updated_at = now() WHERE tenant_id = $1`, [tenantId, newHead.sequence, newHead.recordHash]);
      await client.query('COMMIT');
      return texts.map((text) => JSON.parse(text) as SealedAuditRecord);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (error instanceof SealFailure) throw error;
      if (isBeddelError(error)) throw error;
      if ((error as { code?: unknown }).code === UNIQUE_VIOLATION) {
        throw new BeddelError(ErrorCodes.AUDIT_CORRUPT, `Tenant ${tenantId} already has records after its head row; run \`beddel audit verify\`.`, { cause: error });
      }
      throw error;
    }
  }

  /** Runs `task` with a pooled client; connection and query failures become BEDDEL_AUDIT_UNAVAILABLE. */
  private async withClient<T>(what: string, task: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw unavailable(`Could not connect to PostgreSQL to ${what}.`, error);
    }
    let broken: Error | undefined;
    try {
      return await task(client);
    } catch (error) {
      if (error instanceof SealFailure) throw error.error;
      if (isBeddelError(error)) throw error;
      broken = error instanceof Error ? error : new Error(String(error));
      throw unavailable(`PostgreSQL failed to ${what}.`, error);
    } finally {
      // A client whose query failed for a reason we did not raise ourselves may hold a broken
      // connection: destroy it rather than hand it to the next caller.
      client.release(broken);
    }
  }

  private async query<Row extends object>(what: string, sql: string, values: readonly unknown[] = []): Promise<Row[]> {
    try {
      const result = await this.pool.query<Row>(sql, values as unknown[]);
      return result.rows;
    } catch (error) {
      throw unavailable(`PostgreSQL failed to ${what}.`, error);
    }
  }

  /** Checks arguments and state, and lets `close()` wait for the operation. */
  private track<T>(tenantId: string | undefined, operation: () => Promise<T>): Promise<T> {
    return this.inFlight.run(() => {
      this.checkOpen(tenantId);
      return operation();
    });
  }

  private checkOpen(tenantId: string | undefined): void {
    if (this.closed) throw new BeddelError(ErrorCodes.AUDIT_UNAVAILABLE, 'The PostgreSQL audit sink is closed.');
    if (tenantId !== undefined) assertTenantId(tenantId);
  }
}

export function postgresAuditSink(options: PostgresAuditSinkOptions): PostgresAuditSink {
  return new PostgresAuditSink(options);
}

/**
 * A sink from a URI such as `postgres://user:password@host:5432/db?schema=beddel_audit` (for the
 * CLI's `--audit`). `schema` is the only parameter the sink reads; the rest of the URI goes to
 * `pg` unchanged (including `sslmode` and friends). The sink owns and closes its pool.
 */
export function postgresAuditSinkFromUri(uri: string): PostgresAuditSink {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (error) {
    throw new BeddelError(ErrorCodes.CONFIGURATION, 'postgresAuditSinkFromUri: not a valid URI.', { cause: error });
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new BeddelError(ErrorCodes.CONFIGURATION, `postgresAuditSinkFromUri: expected a postgres:// URI, got ${url.protocol}//.`);
  }
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  return new PostgresAuditSink(schema === undefined ? { pool: url.toString() } : { pool: url.toString(), schema });
}
