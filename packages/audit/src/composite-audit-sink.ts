import { BeddelError, ErrorCodes, KeyedMutex } from '@beddel/contracts';
import type { AuditChainHead, AuditCheckpoint, AuditReadRange, AuditSealFunction, AuditSink, AuditSinkCapabilities, SealedAuditRecord } from '@beddel/contracts';
import { GENESIS_HASH, assertTenantId } from './audit-record.js';

export interface CompositeAuditSinkOptions {
  /** Names used in error messages, primary first. Default `primary`, `mirror 1`, `mirror 2`, ... */
  readonly names?: readonly string[];
  /**
   * Most records one mirror write copies from the primary to catch a lagging mirror up (after a
   * failed mirror write). A mirror further behind fails with `BEDDEL_AUDIT_UNAVAILABLE` until it
   * is resynchronised offline. Default 10 000.
   */
  readonly maxCatchUp?: number;
}

/** Thrown inside a mirror's seal callback when its head moved since we looked (another writer). */
class HeadMoved extends Error {}

const MIRROR_ATTEMPTS = 5;

/**
 * An `AuditSink` that writes every batch to a primary sink and mirrors the primary's sealed
 * records, byte for byte, to one or more other sinks (e.g. local files + S3 with Object Lock).
 *
 * - `appendBatch` appends to the primary (its lock and `seal` decide the records), then writes
 *   the same sealed records to every mirror (in parallel), and resolves only when all
 *   acknowledged. A mirror accepts them only if they continue its own head: a mirror that lags
 *   (an earlier mirror write failed) is first caught up from the primary; a mirror that holds
 *   different records at those sequences (diverged) or more records than the primary is refused.
 * - `read`, `head`, `latestCheckpoint`, `listCheckpoints`, `tenants` come from the primary.
 * - `putCheckpoint` stores on the primary, then on each mirror (after catching it up).
 *
 * Failure semantics: primary errors propagate unchanged (nothing was persisted). A mirror error
 * rejects with `BEDDEL_AUDIT_UNAVAILABLE` naming the mirror (cause attached), so the engine
 * fails the run; the batch IS durable in the primary, and the next append or checkpoint copies
 * it to the mirror. So with a composite a rejection means "not acknowledged by every store",
 * not "persisted nowhere": an auditor may find records of runs that failed for that reason.
 *
 * `capabilities.multiWriter` is true only when every sink is multi-writer; mirror writes from
 * several processes then converge (a writer that finds its records already mirrored by another
 * checks they are the same). With a single-writer primary the primary's lock keeps it to one process.
 */
export class CompositeAuditSink implements AuditSink {
  readonly capabilities: AuditSinkCapabilities;
  private readonly primary: AuditSink;
  private readonly mirrors: readonly AuditSink[];
  private readonly names: readonly string[];
  private readonly maxCatchUp: number;
  private readonly locks = new KeyedMutex();
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(sinks: readonly AuditSink[], options: CompositeAuditSinkOptions = {}) {
    const [primary, ...mirrors] = sinks;
    if (primary === undefined) throw new BeddelError(ErrorCodes.CONFIGURATION, 'CompositeAuditSink needs a primary sink.');
    if (new Set(sinks).size !== sinks.length) throw new BeddelError(ErrorCodes.CONFIGURATION, 'CompositeAuditSink: the same sink instance is listed twice.');
    this.primary = primary;
    this.mirrors = mirrors;
    this.names = sinks.map((_, index) => options.names?.[index] ?? (index === 0 ? 'primary' : `mirror ${index}`));
    this.maxCatchUp = options.maxCatchUp ?? 10_000;
    this.capabilities = { multiWriter: sinks.every((sink) => sink.capabilities.multiWriter) };
  }

  async appendBatch(tenantId: string, seal: AuditSealFunction): Promise<readonly SealedAuditRecord[]> {
    this.checkOpen(tenantId);
    return this.locks.run(tenantId, async () => {
      this.checkOpen(tenantId);
      const sealed = await this.primary.appendBatch(tenantId, seal);
      if (sealed.length === 0 || this.mirrors.length === 0) return sealed;
      await this.everyMirror((index) => this.mirror(index, tenantId, sealed.at(-1)!.sequence, sealed), `${sealed.length} record(s) of tenant ${tenantId}`);
      return sealed;
    });
  }

  read(tenantId: string, range?: AuditReadRange): AsyncIterable<SealedAuditRecord> {
    return this.primary.read(tenantId, range);
  }

  async head(tenantId: string): Promise<AuditChainHead | null> {
    this.checkOpen(tenantId);
    return this.primary.head(tenantId);
  }

  async putCheckpoint(tenantId: string, checkpoint: AuditCheckpoint): Promise<void> {
    this.checkOpen(tenantId);
    await this.locks.run(tenantId, async () => {
      this.checkOpen(tenantId);
      await this.primary.putCheckpoint(tenantId, checkpoint);
      await this.everyMirror(async (index) => {
        // A checkpoint must not cover records a mirror lacks: catch it up first.
        if (checkpoint.treeSize > 0) await this.mirror(index, tenantId, checkpoint.treeSize - 1, []);
        await this.mirrors[index]!.putCheckpoint(tenantId, checkpoint);
      }, `the checkpoint of size ${checkpoint.treeSize} of tenant ${tenantId}`);
    });
  }

  async latestCheckpoint(tenantId: string): Promise<AuditCheckpoint | null> {
    this.checkOpen(tenantId);
    return this.primary.latestCheckpoint(tenantId);
  }

  async listCheckpoints(tenantId: string): Promise<readonly AuditCheckpoint[]> {
    this.checkOpen(tenantId);
    return this.primary.listCheckpoints(tenantId);
  }

  async tenants(): Promise<readonly string[]> {
    this.checkOpen();
    return this.primary.tenants();
  }

  /** Waits for in-flight appends, then closes every sink (all of them, even if one fails). */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      await this.locks.idle();
      const results = await Promise.allSettled([this.primary, ...this.mirrors].map((sink) => sink.close()));
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    })();
    return this.closing;
  }

  /** Runs `task` for every mirror in parallel; the first failure (in mirror order) rejects, naming its mirror. */
  private async everyMirror(task: (index: number) => Promise<void>, what: string): Promise<void> {
    const results = await Promise.allSettled(this.mirrors.map((_, index) => task(index)));
    for (const [index, result] of results.entries()) {
      if (result.status === 'fulfilled') continue;
      const name = this.names[index + 1]!;
      const reason: unknown = result.reason;
      const detail = reason instanceof Error ? reason.message : String(reason);
      throw new BeddelError(
        ErrorCodes.AUDIT_UNAVAILABLE,
        `Audit mirror "${name}" did not acknowledge ${what} (the primary "${this.names[0]!}" holds it): ${detail}`,
        { cause: reason, details: [{ path: `mirrors[${index}]`, message: name }] },
      );
    }
  }

  /**
   * Makes mirror `index` hold the primary's records up to sequence `last`. `known` are records
   * the primary just acknowledged (contiguous, ending at `last`); anything else is read from the
   * primary. Records the mirror already holds must be the same ones.
   */
  private async mirror(index: number, tenantId: string, last: number, known: readonly SealedAuditRecord[]): Promise<void> {
    const mirror = this.mirrors[index]!;
    const firstKnown = known[0]?.sequence ?? last + 1;
    for (let attempt = 0; attempt < MIRROR_ATTEMPTS; attempt += 1) {
      const head = await mirror.head(tenantId);
      const headSequence = head?.sequence ?? -1;
      if (headSequence >= firstKnown) {
        await this.expectMirrored(mirror, tenantId, known.filter((record) => record.sequence <= headSequence));
      }
      if (headSequence >= last) return;
      const missingFrom = headSequence + 1;
      if (firstKnown - missingFrom > this.maxCatchUp) {
        throw new Error(`it is ${firstKnown - missingFrom} records behind the primary (more than maxCatchUp ${this.maxCatchUp}); resynchronise it offline`);
      }
      const copied = missingFrom < firstKnown ? await this.readPrimary(tenantId, missingFrom, firstKnown - 1) : [];
      const batch = [...copied, ...known.filter((record) => record.sequence > headSequence)];
      const expectedPrev = head?.recordHash ?? GENESIS_HASH;
      if (batch[0]?.prevHash !== expectedPrev) {
        throw new Error(`it diverged from the primary: its record ${headSequence} is not the primary's record ${headSequence}`);
      }
      try {
        await mirror.appendBatch(tenantId, (current) => {
          if ((current?.sequence ?? -1) !== headSequence || (current?.recordHash ?? GENESIS_HASH) !== expectedPrev) throw new HeadMoved();
          return batch;
        });
        return;
      } catch (error) {
        if (!(error instanceof HeadMoved)) throw error;
      }
    }
    throw new Error(`its head kept moving under ${MIRROR_ATTEMPTS} attempts to write`);
  }

  private async expectMirrored(mirror: AuditSink, tenantId: string, records: readonly SealedAuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    const expected = new Map(records.map((record) => [record.sequence, record.recordHash]));
    let seen = 0;
    for await (const stored of mirror.read(tenantId, { fromSequence: records[0]!.sequence, toSequence: records.at(-1)!.sequence })) {
      if (expected.get(stored.sequence) !== stored.recordHash) {
        throw new Error(`it diverged from the primary: its record ${stored.sequence} differs from the primary's`);
      }
      seen += 1;
    }
    if (seen !== records.length) throw new Error(`it diverged from the primary: it lacks records ${records[0]!.sequence}..${records.at(-1)!.sequence} below its head`);
  }

  private async readPrimary(tenantId: string, from: number, to: number): Promise<SealedAuditRecord[]> {
    const records: SealedAuditRecord[] = [];
    for await (const record of this.primary.read(tenantId, { fromSequence: from, toSequence: to })) records.push(record);
    if (records.length !== to - from + 1 || records.some((record, i) => record.sequence !== from + i)) {
      throw new BeddelError(ErrorCodes.AUDIT_CORRUPT, `The primary returned ${records.length} records for sequences ${from}..${to} of tenant ${tenantId}.`);
    }
    return records;
  }

  private checkOpen(tenantId?: string): void {
    if (this.closed) throw new BeddelError(ErrorCodes.AUDIT_UNAVAILABLE, 'The composite audit sink is closed.');
    if (tenantId !== undefined) assertTenantId(tenantId);
  }
}
