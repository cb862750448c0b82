import { BeddelError, ErrorCodes, KeyedMutex } from '@beddel/contracts';
import type {
  AuditChainHead,
  AuditCheckpoint,
  AuditReadRange,
  AuditSealFunction,
  AuditSink,
  AuditSinkCapabilities,
  SealedAuditRecord,
} from '@beddel/contracts';
import { assertTenantId, checkBatchContinuesHead } from './audit-record.js';

interface TenantData {
  /** Records as JSON text, like bytes on a disk: readers get fresh copies, never shared objects. */
  records: string[];
  checkpoints: string[];
}

/**
 * The backing store of `MemoryAuditSink`. Several sinks over one store behave like several
 * processes over one database (multi-writer). The raw accessors exist so tests can play the
 * attacker who owns the storage.
 */
export class MemoryAuditStore {
  readonly locks = new KeyedMutex();
  private readonly data = new Map<string, TenantData>();

  tenant(tenantId: string): TenantData | undefined {
    return this.data.get(tenantId);
  }

  tenantForWrite(tenantId: string): TenantData {
    let tenant = this.data.get(tenantId);
    if (tenant === undefined) {
      tenant = { records: [], checkpoints: [] };
      this.data.set(tenantId, tenant);
    }
    return tenant;
  }

  tenantIds(): string[] {
    return [...this.data.keys()];
  }

  /** Stored records of a tenant, parsed, in stored order. */
  rawRecords(tenantId: string): unknown[] {
    return (this.data.get(tenantId)?.records ?? []).map((text) => JSON.parse(text) as unknown);
  }

  /** Replaces a tenant's stored records as someone with write access to the storage could. */
  replaceRawRecords(tenantId: string, records: readonly unknown[]): void {
    this.tenantForWrite(tenantId).records = records.map((record) => JSON.stringify(record));
  }

  rawCheckpoints(tenantId: string): unknown[] {
    return (this.data.get(tenantId)?.checkpoints ?? []).map((text) => JSON.parse(text) as unknown);
  }

  replaceRawCheckpoints(tenantId: string, checkpoints: readonly unknown[]): void {
    this.tenantForWrite(tenantId).checkpoints = checkpoints.map((checkpoint) => JSON.stringify(checkpoint));
  }
}

/** An in-memory `AuditSink` for tests and demos. Nothing survives the process. */
export class MemoryAuditSink implements AuditSink {
  readonly capabilities: AuditSinkCapabilities = { multiWriter: true };
  private closed = false;

  constructor(readonly store: MemoryAuditStore = new MemoryAuditStore()) {}

  async appendBatch(tenantId: string, seal: AuditSealFunction): Promise<readonly SealedAuditRecord[]> {
    this.checkOpen(tenantId);
    return this.store.locks.run(tenantId, () => {
      this.checkOpen(tenantId);
      const head = this.currentHead(tenantId);
      const sealed = seal(head);
      if (sealed.length === 0) return [];
      const problem = checkBatchContinuesHead(tenantId, head, sealed);
      if (problem !== null) throw new BeddelError(ErrorCodes.AUDIT_CORRUPT, `Refusing a batch that does not continue the chain of tenant ${tenantId}: ${problem}.`);
      const texts = sealed.map((record) => JSON.stringify(record));
      this.store.tenantForWrite(tenantId).records.push(...texts);
      return texts.map((text) => JSON.parse(text) as SealedAuditRecord);
    });
  }

  read(tenantId: string, range: AuditReadRange = {}): AsyncIterable<SealedAuditRecord> {
    let records: Iterator<SealedAuditRecord> | undefined;
    const next = (): Promise<IteratorResult<SealedAuditRecord>> => {
      try {
        records ??= this.snapshot(tenantId, range);
        return Promise.resolve(records.next());
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
    return { [Symbol.asyncIterator]: () => ({ next }) };
  }

  /** Copies the record list when iteration starts: later appends are not part of this read. */
  private *snapshot(tenantId: string, range: AuditReadRange): Generator<SealedAuditRecord> {
    this.checkOpen(tenantId);
    const whole = range.fromSequence === undefined && range.toSequence === undefined;
    const from = range.fromSequence ?? 0;
    const to = range.toSequence ?? Number.MAX_SAFE_INTEGER;
    const records = [...(this.store.tenant(tenantId)?.records ?? [])];
    for (const text of records) {
      const record = JSON.parse(text) as SealedAuditRecord;
      if (whole || (record.sequence >= from && record.sequence <= to)) yield record;
    }
  }

  async head(tenantId: string): Promise<AuditChainHead | null> {
    this.checkOpen(tenantId);
    return Promise.resolve(this.currentHead(tenantId));
  }

  async putCheckpoint(tenantId: string, checkpoint: AuditCheckpoint): Promise<void> {
    this.checkOpen(tenantId);
    await this.store.locks.run(tenantId, () => {
      this.store.tenantForWrite(tenantId).checkpoints.push(JSON.stringify(checkpoint));
    });
  }

  async latestCheckpoint(tenantId: string): Promise<AuditCheckpoint | null> {
    const all = await this.listCheckpoints(tenantId);
    return all.at(-1) ?? null;
  }

  async listCheckpoints(tenantId: string): Promise<readonly AuditCheckpoint[]> {
    this.checkOpen(tenantId);
    const parsed = (this.store.tenant(tenantId)?.checkpoints ?? []).map((text) => JSON.parse(text) as AuditCheckpoint);
    // Array.prototype.sort is stable: ties stay in storage order.
    return Promise.resolve(parsed.sort((a, b) => a.treeSize - b.treeSize));
  }

  async tenants(): Promise<readonly string[]> {
    this.checkOpen();
    return Promise.resolve(this.store.tenantIds().sort());
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.store.locks.idle();
  }

  private currentHead(tenantId: string): AuditChainHead | null {
    const last = this.store.tenant(tenantId)?.records.at(-1);
    if (last === undefined) return null;
    const record = JSON.parse(last) as Partial<SealedAuditRecord>;
    if (typeof record.sequence !== 'number' || typeof record.recordHash !== 'string') {
      throw new BeddelError(ErrorCodes.AUDIT_CORRUPT, `The last stored record of tenant ${tenantId} has no sequence or hash.`);
    }
    return { sequence: record.sequence, recordHash: record.recordHash };
  }

  private checkOpen(tenantId?: string): void {
    if (this.closed) throw new BeddelError(ErrorCodes.AUDIT_UNAVAILABLE, 'The memory audit sink is closed.');
    if (tenantId !== undefined) assertTenantId(tenantId);
  }
}
