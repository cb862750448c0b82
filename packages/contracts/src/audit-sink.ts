import type { ErrorCode } from './errors.js';

/**
 * The part of an audit record the core builds from an `AuditEntry`, before it has a place in
 * the tenant's chain. Raw input and output are not here: only their SHA-256 over canonical JSON
 * (RFC 8785). The byte-level format is specified in `docs/audit-log-format.md`.
 */
export interface UnsealedAuditRecord {
  /** Record format version. A verifier refuses versions it does not know rather than guessing. */
  readonly version: 1;
  readonly tenantId: string;
  readonly executionId: string;
  /** ISO-8601 UTC time the execution started (copied from the entry). */
  readonly timestamp: string;
  readonly transformation: { readonly name: string; readonly version: string; readonly sourceSha256: string };
  /** Lower-case hex SHA-256 of `canonicalJson(input)`. */
  readonly inputSha256: string;
  /** Lower-case hex SHA-256 of `canonicalJson(output)`; a missing output (failed run) is hashed as `null`. */
  readonly outputSha256: string;
  readonly profileId: string;
  readonly status: 'ok' | 'error';
  readonly errorCode: ErrorCode | null;
  readonly metrics: { readonly durationMs: number; readonly cpuMs: number; readonly heapBytes: number };
}

/**
 * A record with its place in the tenant's chain. `recordHash` is the lower-case hex SHA-256 of
 * the canonical JSON of the record without the `recordHash` member; `sequence` is 0-based and is
 * also the record's leaf index in the tenant's RFC 6962 Merkle tree.
 */
export interface SealedAuditRecord extends UnsealedAuditRecord {
  readonly sequence: number;
  /** `recordHash` of the record with `sequence - 1`; 64 zeros for sequence 0. */
  readonly prevHash: string;
  readonly recordHash: string;
}

/** The last durable record of a tenant's chain. Tree size is `sequence + 1`. */
export interface AuditChainHead {
  readonly sequence: number;
  readonly recordHash: string;
}

/**
 * Computes the records of one batch from the current head (`null` for an empty log). Pure and
 * synchronous: a sink may call it again (e.g. when it retries a transaction that lost a race),
 * and persists only the result of the last call.
 */
export type AuditSealFunction = (head: AuditChainHead | null) => readonly SealedAuditRecord[];

/** Inclusive sequence range; both ends optional. */
export interface AuditReadRange {
  readonly fromSequence?: number;
  readonly toSequence?: number;
}

/**
 * A signed checkpoint as stored: a C2SP signed note over "origin\ntree size\nbase64 root\n".
 * `treeSize` and `rootHash` repeat what the note says so sinks can sort and index without
 * parsing it; a verifier trusts only the note and its signature.
 */
export interface AuditCheckpoint {
  readonly treeSize: number;
  /** Lower-case hex RFC 6962 Merkle tree hash of the first `treeSize` records. */
  readonly rootHash: string;
  /** The complete signed note text (body, blank line, signature lines), stored verbatim. */
  readonly note: string;
  /** ISO-8601 UTC time the checkpoint was signed. Informational, not signed. */
  readonly createdAt: string;
}

/** What a sink guarantees about several sink instances over one backing store. */
export interface AuditSinkCapabilities {
  /**
   * `true`: several instances (processes, machines) may append to the same tenant at the same
   * time and still form one chain (e.g. a locked head row). `false`: one writer per backing
   * store, enforced; a second writer fails with `BEDDEL_AUDIT_LOCKED`.
   */
  readonly multiWriter: boolean;
}

/**
 * Durable storage for per-tenant, append-only sequences of sealed audit records plus signed
 * checkpoints. A sink is deliberately dumb: hashing, sealing and signing belong to the audit
 * core (`@beddel/audit`), so every backend stores the same bytes and one verifier checks them all.
 * Integrity comes from the hashes, not from the store: a sink never "fixes" data it reads.
 *
 * Errors: I/O or connectivity failures reject with a `BeddelError` coded
 * `BEDDEL_AUDIT_UNAVAILABLE`; data the sink cannot parse or that breaks its own invariants with
 * `BEDDEL_AUDIT_CORRUPT`; a backing store held by another writer with `BEDDEL_AUDIT_LOCKED`;
 * invalid tenant ids with `BEDDEL_INVALID_TENANT`. Every method rejects after `close()`.
 *
 * Tenant ids match `^[A-Za-z0-9._:-]{1,128}$`; a sink must map them to storage names safely
 * (`..` is a valid tenant id and must not escape a directory).
 */
export interface AuditSink {
  readonly capabilities: AuditSinkCapabilities;

  /**
   * Appends one batch atomically with respect to every other append for the tenant (in this
   * process and, for multi-writer sinks, in every process): lock the tenant's head (a mutex and
   * lock file, `SELECT ... FOR UPDATE` on a head row, a conditional write), read the current
   * head, call `seal(head)`, persist the returned records durably (fsync, COMMIT), release.
   *
   * The sink rejects with `BEDDEL_AUDIT_CORRUPT` and persists nothing when the sealed records
   * do not continue the head: first `sequence` must be `head.sequence + 1` (0 when empty),
   * `prevHash` must be `head.recordHash` (64 zeros when empty), sequences must be consecutive,
   * each `prevHash` must equal the previous record's `recordHash`, and `tenantId` must match.
   * An empty batch is a no-op. If `seal` throws, nothing is persisted and its error is rethrown.
   *
   * Resolves with the persisted records only once they are durable: an acknowledged record
   * survives a crash of the process or the machine. A rejection means the batch was not
   * persisted; a sink that cannot tell (e.g. a torn write it could not roll back) refuses
   * further appends for the tenant until reopened, so a torn batch is never followed by more.
   */
  appendBatch(tenantId: string, seal: AuditSealFunction): Promise<readonly SealedAuditRecord[]>;

  /**
   * The tenant's durable records in stored order (ascending sequence for an intact log),
   * restricted to `range` by each record's `sequence`. Without a range it yields every stored
   * record, even one whose `sequence` is missing or wrong. Yields records as stored, never
   * repaired: a verifier treats them as untrusted. Yields nothing for an unknown tenant.
   */
  read(tenantId: string, range?: AuditReadRange): AsyncIterable<SealedAuditRecord>;

  /** The tenant's last durable record, or `null` when it has none. */
  head(tenantId: string): Promise<AuditChainHead | null>;

  /**
   * Stores a signed checkpoint durably. Checkpoints are append-only too; the sink keeps every
   * one (a verifier checks consistency between successive ones).
   */
  putCheckpoint(tenantId: string, checkpoint: AuditCheckpoint): Promise<void>;

  /** The stored checkpoint with the largest `treeSize` (the last stored among equals), or `null`. */
  latestCheckpoint(tenantId: string): Promise<AuditCheckpoint | null>;

  /** Every stored checkpoint of the tenant, ascending by `treeSize`, ties in storage order. */
  listCheckpoints(tenantId: string): Promise<readonly AuditCheckpoint[]>;

  /** Every tenant that has records or checkpoints, sorted by UTF-16 code units. */
  tenants(): Promise<readonly string[]>;

  /** Waits for in-flight appends, releases locks and handles. Idempotent. */
  close(): Promise<void>;
}
