import { afterEach, describe, expect, it } from 'vitest';
import { BeddelError, ErrorCodes, isBeddelError } from '@beddel/contracts';
import type { AuditChainHead, AuditSealFunction, AuditSink, SealedAuditRecord } from '@beddel/contracts';
import { sealRecords, unsealedRecordFromEntry } from './audit-record.js';
import { AuditTrail } from './audit-trail.js';
import { CompositeAuditSink } from './composite-audit-sink.js';
import { MemoryAuditSink, MemoryAuditStore } from './memory-audit-sink.js';
import { generateAuditKeyPair } from './signing-keys.js';
import { verifyLog } from './verify-log.js';
import { entry } from './test-support/entries.js';

const keys = generateAuditKeyPair();

function sealFor(tenantId: string, from: number, count: number): (head: AuditChainHead | null) => SealedAuditRecord[] {
  return (head) => sealRecords(head, Array.from({ length: count }, (_, i) => unsealedRecordFromEntry(entry(tenantId, from + i))));
}

async function readAll(sink: AuditSink, tenantId: string): Promise<SealedAuditRecord[]> {
  const records: SealedAuditRecord[] = [];
  for await (const record of sink.read(tenantId)) records.push(record);
  return records;
}

async function rejection(promise: Promise<unknown>): Promise<BeddelError> {
  try {
    await promise;
  } catch (error) {
    if (isBeddelError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/** A memory sink whose next `failures` appendBatch / putCheckpoint calls fail like an unreachable store. */
class FlakySink extends MemoryAuditSink {
  failures = 0;

  override appendBatch(tenantId: string, seal: AuditSealFunction): Promise<readonly SealedAuditRecord[]> {
    if (this.failures > 0) {
      this.failures -= 1;
      return Promise.reject(new BeddelError(ErrorCodes.AUDIT_UNAVAILABLE, 'connection refused'));
    }
    return super.appendBatch(tenantId, seal);
  }
}

const opened: AuditSink[] = [];
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((sink) => sink.close()));
});

function composite(sinks: AuditSink[], names?: string[]): CompositeAuditSink {
  const sink = new CompositeAuditSink(sinks, names === undefined ? {} : { names });
  opened.push(sink);
  return sink;
}

describe('CompositeAuditSink', () => {
  it('writes the primary’s sealed records byte for byte to every mirror and reads from the primary', async () => {
    const [primary, one, two] = [new MemoryAuditSink(), new MemoryAuditSink(), new MemoryAuditSink()];
    const sink = composite([primary, one, two]);
    const first = await sink.appendBatch('acme', sealFor('acme', 0, 3));
    const second = await sink.appendBatch('acme', sealFor('acme', 3, 2));
    expect([...first, ...second].map((record) => record.sequence)).toEqual([0, 1, 2, 3, 4]);
    for (const store of [primary, one, two]) expect(await readAll(store, 'acme')).toEqual([...first, ...second]);
    expect(primary.store.rawRecords('acme')).toEqual(one.store.rawRecords('acme'));
    expect(await sink.head('acme')).toEqual({ sequence: 4, recordHash: second[1]!.recordHash });
    expect(await sink.tenants()).toEqual(['acme']);
    expect(sink.capabilities.multiWriter).toBe(true);
    expect(await sink.appendBatch('acme', () => [])).toEqual([]);
  });

  it('under an AuditTrail: every store holds a log that verifies, checkpoints included', async () => {
    const stores = [new MemoryAuditSink(), new MemoryAuditSink()];
    const trail = new AuditTrail({ sink: composite(stores), signingKey: keys.privateKey, checkpoints: { everyMs: 0, everyRecords: 7 }, maxBatchSize: 4 });
    await Promise.all(Array.from({ length: 25 }, (_, n) => trail.append(entry(n % 2 === 0 ? 'acme' : 'globex', n))));
    await trail.close();
    for (const store of stores) {
      const reopened = new MemoryAuditSink(store.store);
      const result = await verifyLog(reopened, keys.publicKey, { requireCheckpointed: true });
      expect(result.ok).toBe(true);
      expect(result.tenants.map((tenant) => [tenant.tenantId, tenant.records])).toEqual([
        ['acme', 13],
        ['globex', 12],
      ]);
      expect((await reopened.latestCheckpoint('acme'))?.treeSize).toBe(13);
    }
  });

  it('rejects with BEDDEL_AUDIT_UNAVAILABLE naming a failing mirror, then catches it up on the next write', async () => {
    const primary = new MemoryAuditSink();
    const flaky = new FlakySink();
    const sink = composite([primary, flaky], ['local-files', 's3-worm']);
    await sink.appendBatch('acme', sealFor('acme', 0, 2));
    flaky.failures = 1;
    const error = await rejection(sink.appendBatch('acme', sealFor('acme', 2, 3)));
    expect(error.code).toBe('BEDDEL_AUDIT_UNAVAILABLE');
    expect(error.message).toContain('"s3-worm"');
    expect(error.message).toContain('connection refused');
    expect(error.details).toEqual([{ path: 'mirrors[0]', message: 's3-worm' }]);
    // The primary holds the batch (documented); the mirror does not yet.
    expect((await primary.head('acme'))?.sequence).toBe(4);
    expect((await flaky.head('acme'))?.sequence).toBe(1);
    await sink.appendBatch('acme', sealFor('acme', 5, 1));
    expect(await readAll(flaky, 'acme')).toEqual(await readAll(primary, 'acme'));
    expect((await flaky.head('acme'))?.sequence).toBe(5);
  });

  it('catches a lagging mirror up before storing a checkpoint on it', async () => {
    const primary = new MemoryAuditSink();
    const flaky = new FlakySink();
    const sink = composite([primary, flaky]);
    flaky.failures = 1;
    await expect(sink.appendBatch('acme', sealFor('acme', 0, 4))).rejects.toThrow(/mirror 1/);
    const trail = new AuditTrail({ sink, signingKey: keys.privateKey, checkpoints: { everyMs: 0, everyRecords: 0, onClose: false }, closeSink: false });
    const checkpoint = await trail.checkpoint('acme');
    expect(checkpoint?.treeSize).toBe(4);
    expect(await flaky.listCheckpoints('acme')).toEqual([checkpoint]);
    expect((await verifyLog(new MemoryAuditSink(flaky.store), keys.publicKey)).ok).toBe(true);
    await trail.close();
  });

  it('refuses a mirror that diverged from the primary or is ahead of it, naming it', async () => {
    const primary = new MemoryAuditSink();
    const diverged = new MemoryAuditSink();
    await diverged.appendBatch('acme', sealFor('acme', 100, 1)); // another record 0 than the primary's
    const sink = composite([primary, diverged], ['primary', 'backup']);
    const error = await rejection(sink.appendBatch('acme', sealFor('acme', 0, 1)));
    expect(error.code).toBe('BEDDEL_AUDIT_UNAVAILABLE');
    expect(error.message).toMatch(/"backup".*diverged/);

    const ahead = new MemoryAuditSink();
    const shortPrimary = new MemoryAuditSink();
    await ahead.appendBatch('acme', sealFor('acme', 0, 3));
    await shortPrimary.appendBatch('acme', sealFor('acme', 50, 1));
    const second = composite([shortPrimary, ahead]);
    const aheadError = await rejection(second.appendBatch('acme', sealFor('acme', 51, 1)));
    expect(aheadError.code).toBe('BEDDEL_AUDIT_UNAVAILABLE');
    expect(aheadError.message).toMatch(/"mirror 1".*diverged/);
  });

  it('passes primary errors through unchanged and writes nothing anywhere', async () => {
    const primary = new MemoryAuditSink();
    const mirror = new MemoryAuditSink();
    const sink = composite([primary, mirror]);
    await sink.appendBatch('acme', sealFor('acme', 0, 1));
    const corrupt = await rejection(sink.appendBatch('acme', () => sealFor('acme', 1, 1)(null)));
    expect(corrupt.code).toBe('BEDDEL_AUDIT_CORRUPT');
    await expect(
      sink.appendBatch('acme', () => {
        throw new Error('seal failed');
      }),
    ).rejects.toThrow('seal failed');
    expect((await rejection(sink.head('../etc'))).code).toBe('BEDDEL_INVALID_TENANT');
    expect((await mirror.head('acme'))?.sequence).toBe(0);
    expect((await primary.head('acme'))?.sequence).toBe(0);
  });

  it('closes every sink and rejects use after close; refuses an empty or duplicated sink list', async () => {
    const stores = [new MemoryAuditSink(), new MemoryAuditSink()];
    const sink = composite(stores);
    await sink.appendBatch('acme', sealFor('acme', 0, 1));
    await sink.close();
    await sink.close();
    expect((await rejection(sink.appendBatch('acme', sealFor('acme', 1, 1)))).code).toBe('BEDDEL_AUDIT_UNAVAILABLE');
    for (const store of stores) await expect(store.head('acme')).rejects.toThrow(/closed/);
    expect(() => new CompositeAuditSink([])).toThrow(/primary/);
    const one = new MemoryAuditSink();
    expect(() => new CompositeAuditSink([one, one])).toThrow(/twice/);
  });

  it('is single-writer when any of its sinks is', () => {
    const single = Object.assign(new MemoryAuditSink(new MemoryAuditStore()), { capabilities: { multiWriter: false } });
    expect(new CompositeAuditSink([new MemoryAuditSink(), single]).capabilities.multiWriter).toBe(false);
  });
});
