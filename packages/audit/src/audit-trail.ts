import type { KeyObject } from 'node:crypto';
import { BeddelError, ErrorCodes, isBeddelError, KeyedMutex } from '@beddel/contracts';
import type { AuditCheckpoint, AuditEntry, AuditLog, AuditReceipt, AuditSink, SealedAuditRecord, UnsealedAuditRecord } from '@beddel/contracts';
import { GENESIS_HASH, assertTenantId, computeRecordHash, recordLeafHash, sealRecords, unsealedRecordFromEntry } from './audit-record.js';
import { MerkleFrontier, MerkleTree } from './merkle.js';
import { DEFAULT_KEY_NAME, defaultOrigin, signCheckpoint } from './signed-checkpoint.js';
import type { AuditConsistencyProof, AuditInclusionProof } from './audit-proofs.js';

export interface CheckpointPolicy {
  /** Sign a checkpoint once this many records were appended since the last one. Default 1000; 0 disables. */
  readonly everyRecords?: number;
  /** Sign a checkpoint for every tenant with new records this often, in ms. Default 60 000; 0 disables. */
  readonly everyMs?: number;
  /** Sign a final checkpoint for every tenant with new records on `close()`. Default true. */
  readonly onClose?: boolean;
}

export interface AuditTrailOptions {
  readonly sink: AuditSink;
  /** Ed25519 private key that signs checkpoints. */
  readonly signingKey: KeyObject;
  /** Signed-note key name. Default `beddel-audit`. */
  readonly keyName?: string;
  /** Checkpoint origin line per tenant. Default `beddel-audit/<tenantId>`. */
  readonly origin?: (tenantId: string) => string;
  readonly checkpoints?: CheckpointPolicy;
  /** Most records one `appendBatch` carries (group commit). Default 512. */
  readonly maxBatchSize?: number;
  /** Close the sink in `close()`. Default true. */
  readonly closeSink?: boolean;
  /**
   * Called when background work fails (a periodic checkpoint). Appends report their own
   * failures by rejecting; this is for work nobody awaits.
   */
  readonly onError?: (error: BeddelError, context: { readonly tenantId: string; readonly operation: 'checkpoint' }) => void;
}

interface PendingAppend {
  readonly record: UnsealedAuditRecord;
  readonly resolve: (receipt: AuditReceipt) => void;
  readonly reject: (error: unknown) => void;
}

interface TenantState {
  readonly queue: PendingAppend[];
  writing: Promise<void> | null;
  /** Root state up to `frontier.size`, checked against the chain as it grew. */
  frontier: MerkleFrontier | null;
  frontierLastHash: string;
  /** Hashes of records this process sealed and that the frontier has not consumed yet. */
  readonly recent: Map<number, { readonly recordHash: string; readonly prevHash: string }>;
  /** Largest tree size this process saw acknowledged. */
  knownSize: number;
  /** Tree size of the last checkpoint this process signed or found. */
  checkpointedSize: number;
  checkpointScheduled: boolean;
}

const RECENT_LIMIT = 100_000;

function unavailable(message: string, cause?: unknown): BeddelError {
  return new BeddelError(ErrorCodes.AUDIT_UNAVAILABLE, message, cause === undefined ? {} : { cause });
}

function asBeddelError(error: unknown, fallback: string): BeddelError {
  return isBeddelError(error) ? error : unavailable(fallback, error);
}

/**
 * The engine-facing audit log over an `AuditSink`. `append` hashes the entry, queues it, and
 * resolves with the receipt once the sink acknowledged the durable write. Appends that arrive
 * while a tenant's batch is being written are collected into the next batch (group commit), so
 * under load one fsync / COMMIT covers many executions. Signs checkpoints by policy.
 */
export class AuditTrail implements AuditLog {
  readonly sink: AuditSink;
  private readonly signingKey: KeyObject;
  private readonly keyName: string;
  private readonly originOf: (tenantId: string) => string;
  private readonly everyRecords: number;
  private readonly checkpointOnClose: boolean;
  private readonly maxBatchSize: number;
  private readonly closeSink: boolean;
  private readonly onError: AuditTrailOptions['onError'];
  private readonly tenants = new Map<string, TenantState>();
  private readonly checkpointLock = new KeyedMutex();
  private readonly timer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | null = null;

  constructor(options: AuditTrailOptions) {
    if (options.signingKey.type !== 'private' || options.signingKey.asymmetricKeyType !== 'ed25519') {
      throw new BeddelError(ErrorCodes.CONFIGURATION, 'auditTrail: signingKey must be an Ed25519 private key.');
    }
    this.sink = options.sink;
    this.signingKey = options.signingKey;
    this.keyName = options.keyName ?? DEFAULT_KEY_NAME;
    this.originOf = options.origin ?? defaultOrigin;
    this.everyRecords = options.checkpoints?.everyRecords ?? 1000;
    this.checkpointOnClose = options.checkpoints?.onClose ?? true;
    this.maxBatchSize = options.maxBatchSize ?? 512;
    this.closeSink = options.closeSink ?? true;
    this.onError = options.onError;
    if (!Number.isInteger(this.maxBatchSize) || this.maxBatchSize < 1) throw new BeddelError(ErrorCodes.CONFIGURATION, 'auditTrail: maxBatchSize must be a positive integer.');
    const everyMs = options.checkpoints?.everyMs ?? 60_000;
    if (everyMs > 0) {
      this.timer = setInterval(() => this.checkpointDueTenants(), everyMs);
      this.timer.unref();
    }
  }

  append(entry: AuditEntry): Promise<AuditReceipt> {
    if (this.closing !== null) return Promise.reject(unavailable('The audit trail is closed.'));
    let record: UnsealedAuditRecord;
    try {
      assertTenantId(entry.tenantId);
      record = unsealedRecordFromEntry(entry);
    } catch (error) {
      return Promise.reject(isBeddelError(error) ? error : unavailable(`Cannot hash the audit entry of execution ${entry.executionId}.`, error));
    }
    const state = this.state(entry.tenantId);
    return new Promise<AuditReceipt>((resolve, reject) => {
      state.queue.push({ record, resolve, reject });
      this.pump(entry.tenantId, state);
    });
  }

  /** Resolves when every append queued so far has settled. */
  async flush(): Promise<void> {
    for (;;) {
      const writing = [...this.tenants.values()].map((state) => state.writing).filter((w): w is Promise<void> => w !== null);
      if (writing.length === 0) return;
      await Promise.all(writing);
    }
  }

  /**
   * Signs and stores a checkpoint over the tenant's current durable log, computed from the
   * sink's data (so records other writers appended are covered). Returns the latest checkpoint
   * (unchanged when it already covers the log), or `null` for an empty log.
   */
  checkpoint(tenantId: string): Promise<AuditCheckpoint | null> {
    try {
      assertTenantId(tenantId);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.checkpointLock.run(tenantId, () => this.checkpointNow(tenantId));
  }

  /** An inclusion proof of record `sequence` against the latest checkpoint (signed now if none covers it). */
  async inclusionProof(tenantId: string, sequence: number): Promise<AuditInclusionProof> {
    assertTenantId(tenantId);
    let checkpoint = await this.sink.latestCheckpoint(tenantId);
    if (checkpoint === null || checkpoint.treeSize <= sequence) checkpoint = await this.checkpoint(tenantId);
    if (checkpoint === null || checkpoint.treeSize <= sequence) {
      throw new BeddelError(ErrorCodes.AUDIT_UNAVAILABLE, `Tenant ${tenantId} has no record ${sequence}.`);
    }
    const { tree, records } = await this.loadTree(tenantId, checkpoint.treeSize, sequence);
    const record = records.get(sequence)!;
    return {
      tenantId,
      sequence,
      recordHash: record.recordHash,
      treeSize: checkpoint.treeSize,
      auditPath: tree.inclusionProof(sequence, checkpoint.treeSize).map((hash) => Buffer.from(hash).toString('hex')),
      checkpoint: checkpoint.note,
    };
  }

  /**
   * A consistency proof from the tree of `oldSize` records to the latest checkpoint, for an
   * auditor who kept an older checkpoint and wants proof the log only grew.
   */
  async consistencyProof(tenantId: string, oldSize: number): Promise<AuditConsistencyProof> {
    assertTenantId(tenantId);
    const checkpoint = await this.sink.latestCheckpoint(tenantId);
    if (checkpoint === null || checkpoint.treeSize < oldSize) {
      throw new BeddelError(ErrorCodes.AUDIT_UNAVAILABLE, `Tenant ${tenantId} has no checkpoint of size ${oldSize} or more.`);
    }
    const { tree } = await this.loadTree(tenantId, checkpoint.treeSize);
    return {
      tenantId,
      oldSize,
      newSize: checkpoint.treeSize,
      consistencyPath: tree.consistencyProof(oldSize, checkpoint.treeSize).map((hash) => Buffer.from(hash).toString('hex')),
      checkpoint: checkpoint.note,
    };
  }

  /**
   * Stops accepting appends, waits for queued ones, signs final checkpoints (policy `onClose`),
   * and closes the sink. Rejects if a final checkpoint could not be written; records
   * acknowledged before are durable either way.
   */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.flush();
    let failure: unknown;
    if (this.checkpointOnClose) {
      for (const [tenantId, state] of this.tenants) {
        if (state.knownSize <= state.checkpointedSize) continue;
        try {
          await this.checkpoint(tenantId);
        } catch (error) {
          failure ??= error;
        }
      }
    }
    await this.checkpointLock.idle();
    if (this.closeSink) await this.sink.close();
    if (failure !== undefined) throw asBeddelError(failure, 'Could not write the final audit checkpoint.');
  }

  private state(tenantId: string): TenantState {
    let state = this.tenants.get(tenantId);
    if (state === undefined) {
      state = {
        queue: [],
        writing: null,
        frontier: null,
        frontierLastHash: GENESIS_HASH,
        recent: new Map(),
        knownSize: 0,
        checkpointedSize: 0,
        checkpointScheduled: false,
      };
      this.tenants.set(tenantId, state);
    }
    return state;
  }

  /** Starts a batch if none is in flight; the batch takes everything queued (up to the max). */
  private pump(tenantId: string, state: TenantState): void {
    if (state.writing !== null || state.queue.length === 0) return;
    const batch = state.queue.splice(0, this.maxBatchSize);
    state.writing = this.writeBatch(tenantId, state, batch).finally(() => {
      state.writing = null;
      this.pump(tenantId, state);
    });
  }

  private async writeBatch(tenantId: string, state: TenantState, batch: readonly PendingAppend[]): Promise<void> {
    const records = batch.map((pending) => pending.record);
    let sealed: readonly SealedAuditRecord[];
    try {
      sealed = await this.sink.appendBatch(tenantId, (head) => sealRecords(head, records));
      if (sealed.length !== batch.length) throw new BeddelError(ErrorCodes.AUDIT_CORRUPT, `The sink acknowledged ${sealed.length} of ${batch.length} records.`);
    } catch (error) {
      const failure = unavailable(`The audit sink did not persist ${batch.length} record(s) of tenant ${tenantId}.`, error);
      for (const pending of batch) pending.reject(failure);
      return;
    }
    for (const [index, record] of sealed.entries()) {
      if (state.recent.size < RECENT_LIMIT) state.recent.set(record.sequence, { recordHash: record.recordHash, prevHash: record.prevHash });
      batch[index]!.resolve({ tenantId, sequence: record.sequence, recordHash: record.recordHash });
    }
    state.knownSize = Math.max(state.knownSize, sealed.at(-1)!.sequence + 1);
    if (this.everyRecords > 0 && state.knownSize - state.checkpointedSize >= this.everyRecords) this.scheduleCheckpoint(tenantId, state);
  }

  private checkpointDueTenants(): void {
    for (const [tenantId, state] of this.tenants) {
      if (state.knownSize > state.checkpointedSize) this.scheduleCheckpoint(tenantId, state);
    }
  }

  private scheduleCheckpoint(tenantId: string, state: TenantState): void {
    if (state.checkpointScheduled || this.closing !== null) return;
    state.checkpointScheduled = true;
    this.checkpoint(tenantId)
      .catch((error: unknown) => this.onError?.(asBeddelError(error, `Could not write an audit checkpoint for tenant ${tenantId}.`), { tenantId, operation: 'checkpoint' }))
      .finally(() => {
        state.checkpointScheduled = false;
      });
  }

  private async checkpointNow(tenantId: string): Promise<AuditCheckpoint | null> {
    const state = this.state(tenantId);
    const head = await this.sink.head(tenantId);
    const latest = await this.sink.latestCheckpoint(tenantId);
    if (head === null) return latest;
    const size = head.sequence + 1;
    if (latest !== null && latest.treeSize > size) {
      throw new BeddelError(ErrorCodes.AUDIT_CORRUPT, `Tenant ${tenantId} has a checkpoint of ${latest.treeSize} records but only ${size} records: the log was truncated.`);
    }
    await this.extendFrontier(tenantId, state, size, latest);
    const frontier = state.frontier!;
    if (latest !== null && latest.treeSize === size) {
      state.checkpointedSize = Math.max(state.checkpointedSize, size);
      return latest;
    }
    const rootHash = frontier.root();
    const note = signCheckpoint({ origin: this.originOf(tenantId), treeSize: size, rootHash }, this.signingKey, this.keyName);
    const checkpoint: AuditCheckpoint = { treeSize: size, rootHash: Buffer.from(rootHash).toString('hex'), note, createdAt: new Date().toISOString() };
    await this.sink.putCheckpoint(tenantId, checkpoint);
    state.checkpointedSize = Math.max(state.checkpointedSize, size);
    state.knownSize = Math.max(state.knownSize, size);
    return checkpoint;
  }

  /**
   * Brings the tenant's frontier to `size` records, from this process's own sealed records when
   * it has them all, otherwise from the sink. Checks every hash and link on the way, and that
   * the data still matches the latest stored checkpoint: a checkpoint never blesses a rewritten
   * history.
   */
  private async extendFrontier(tenantId: string, state: TenantState, size: number, latest: AuditCheckpoint | null): Promise<void> {
    if (state.frontier === null) {
      state.frontier = new MerkleFrontier();
      state.frontierLastHash = GENESIS_HASH;
    }
    const frontier = state.frontier;
    const from = frontier.size;
    const expectRoot = (atSize: number): void => {
      if (latest !== null && latest.treeSize === atSize && Buffer.from(frontier.root()).toString('hex') !== latest.rootHash) {
        state.frontier = null;
        throw new BeddelError(ErrorCodes.AUDIT_CORRUPT, `The first ${atSize} records of tenant ${tenantId} no longer match their signed checkpoint.`);
      }
    };
    const take = (sequence: number, recordHash: string, prevHash: string): void => {
      if (prevHash !== state.frontierLastHash) {
        state.frontier = null;
        throw new BeddelError(ErrorCodes.AUDIT_CORRUPT, `Record ${sequence} of tenant ${tenantId} does not link to record ${sequence - 1}.`);
      }
      frontier.appendLeafHash(recordLeafHash(recordHash));
      state.frontierLastHash = recordHash;
      expectRoot(frontier.size);
    };
    expectRoot(frontier.size);
    let ownRecords = true;
    for (let sequence = from; sequence < size && ownRecords; sequence += 1) ownRecords = state.recent.has(sequence);
    if (ownRecords) {
      for (let sequence = from; sequence < size; sequence += 1) {
        const own = state.recent.get(sequence)!;
        take(sequence, own.recordHash, own.prevHash);
      }
    } else {
      let expected = from;
      for await (const record of this.sink.read(tenantId, { fromSequence: from, toSequence: size - 1 })) {
        checkStoredRecord(tenantId, record, expected);
        take(expected, record.recordHash, record.prevHash);
        expected += 1;
      }
      if (expected !== size) {
        state.frontier = null;
        throw new BeddelError(ErrorCodes.AUDIT_CORRUPT, `Tenant ${tenantId} should have ${size} records but the sink returned ${expected}.`);
      }
    }
    for (const sequence of state.recent.keys()) if (sequence < size) state.recent.delete(sequence);
  }

  /** Reads and checks the first `size` records into a full tree (for proofs). */
  private async loadTree(tenantId: string, size: number, keep?: number): Promise<{ tree: MerkleTree; records: Map<number, SealedAuditRecord> }> {
    const tree = new MerkleTree();
    const records = new Map<number, SealedAuditRecord>();
    let previous = GENESIS_HASH;
    for await (const record of this.sink.read(tenantId, { fromSequence: 0, toSequence: size - 1 })) {
      checkStoredRecord(tenantId, record, tree.size);
      if (record.prevHash !== previous) throw new BeddelError(ErrorCodes.AUDIT_CORRUPT, `Record ${record.sequence} of tenant ${tenantId} does not link to its predecessor.`);
      tree.appendLeafHash(recordLeafHash(record.recordHash));
      if (record.sequence === keep) records.set(record.sequence, record);
      previous = record.recordHash;
    }
    if (tree.size !== size) throw new BeddelError(ErrorCodes.AUDIT_CORRUPT, `Tenant ${tenantId} should have ${size} records but the sink returned ${tree.size}.`);
    const checkpoint = await this.sink.latestCheckpoint(tenantId);
    if (checkpoint !== null && checkpoint.treeSize === size && Buffer.from(tree.root()).toString('hex') !== checkpoint.rootHash) {
      throw new BeddelError(ErrorCodes.AUDIT_CORRUPT, `The records of tenant ${tenantId} no longer match their signed checkpoint.`);
    }
    return { tree, records };
  }
}

function checkStoredRecord(tenantId: string, record: SealedAuditRecord, expectedSequence: number): void {
  if (record.sequence !== expectedSequence || record.tenantId !== tenantId || computeRecordHash(record) !== record.recordHash) {
    throw new BeddelError(ErrorCodes.AUDIT_CORRUPT, `Stored record ${expectedSequence} of tenant ${tenantId} is altered or out of place; run the verifier.`);
  }
}

