import { afterEach, describe, expect, it, vi } from 'vitest';
import { AUDIT_LOG, isBeddelError } from '@beddel/contracts';
import type { AuditReceipt, AuditSealFunction, AuditSink, ProviderRegistrar, Token } from '@beddel/contracts';
import { verifyConsistencyProof, verifyInclusionProof } from './audit-proofs.js';
import { AuditTrail } from './audit-trail.js';
import { AUDIT_TRAIL, auditTrail } from './audit-trail-plugin.js';
import { MemoryAuditSink, MemoryAuditStore } from './memory-audit-sink.js';
import { generateAuditKeyPair } from './signing-keys.js';
import { entry } from './test-support/entries.js';
import { verifyLog } from './verify-log.js';

const keys = generateAuditKeyPair();
const trails: AuditTrail[] = [];

function makeTrail(sink: AuditSink = new MemoryAuditSink(), options: Partial<ConstructorParameters<typeof AuditTrail>[0]> = {}): AuditTrail {
  const trail = new AuditTrail({ sink, signingKey: keys.privateKey, checkpoints: { everyMs: 0 }, ...options });
  trails.push(trail);
  return trail;
}

/** A sink that counts batches and can be told to fail or to hold writes. */
class SpySink extends MemoryAuditSink {
  batches: number[] = [];
  failNext = 0;
  gate: Promise<void> | null = null;

  override async appendBatch(tenantId: string, seal: AuditSealFunction) {
    if (this.gate !== null) await this.gate;
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('disk on fire');
    }
    const sealed = await super.appendBatch(tenantId, seal);
    this.batches.push(sealed.length);
    return sealed;
  }
}

afterEach(async () => {
  await Promise.allSettled(trails.splice(0).map((trail) => trail.close()));
});

describe('AuditTrail', () => {
  it('group-commits concurrent appends into few batches and acknowledges each with its receipt', async () => {
    const sink = new SpySink();
    const trail = makeTrail(sink);
    const receipts = await Promise.all(Array.from({ length: 200 }, (_, n) => trail.append(entry('acme', n))));
    expect(receipts.map((r) => r.sequence).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, n) => n));
    // The first append goes alone; everything that queued behind it shares the next batch.
    expect(sink.batches.length).toBeLessThanOrEqual(3);
    expect(sink.batches.reduce((a, b) => a + b, 0)).toBe(200);
    const stored = [];
    for await (const record of sink.read('acme')) stored.push(record);
    expect(receipts[17]).toEqual({ tenantId: 'acme', sequence: receipts[17]!.sequence, recordHash: stored[receipts[17]!.sequence]!.recordHash });
    expect(stored[receipts[17]!.sequence]!.executionId).toBe('exec-acme-17');
  });

  it('respects maxBatchSize and resolves only after the sink acknowledged', async () => {
    const sink = new SpySink();
    let open!: () => void;
    sink.gate = new Promise((resolve) => (open = resolve));
    const trail = makeTrail(sink, { maxBatchSize: 10 });
    let settled = 0;
    const pending = Array.from({ length: 35 }, (_, n) => trail.append(entry('acme', n)).then((r) => ((settled += 1), r)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(0);
    sink.gate = null;
    open();
    await Promise.all(pending);
    expect(Math.max(...sink.batches)).toBeLessThanOrEqual(10);
    expect(sink.batches.reduce((a, b) => a + b, 0)).toBe(35);
  });

  it('keeps tenants on separate chains', async () => {
    const trail = makeTrail();
    const [a, b] = await Promise.all([trail.append(entry('acme', 1)), trail.append(entry('globex', 1))]);
    expect(a.sequence).toBe(0);
    expect(b.sequence).toBe(0);
    expect((await trail.append(entry('acme', 2))).sequence).toBe(1);
  });

  it('rejects with BEDDEL_AUDIT_UNAVAILABLE when the sink fails, loses nothing acknowledged, and recovers', async () => {
    const sink = new SpySink();
    const trail = makeTrail(sink);
    await trail.append(entry('acme', 0));
    sink.failNext = 1;
    const error = await trail.append(entry('acme', 1)).catch((e: unknown) => e);
    expect(isBeddelError(error) && error.code).toBe('BEDDEL_AUDIT_UNAVAILABLE');
    expect((error as Error).cause).toBeInstanceOf(Error);
    const after = await trail.append(entry('acme', 2));
    expect(after.sequence).toBe(1);
    await trail.close();
    const report = await verifyLog(new MemoryAuditSink(sink.store), keys.publicKey);
    expect(report.ok).toBe(true);
    expect(report.tenants[0]).toMatchObject({ records: 2, verifiedTreeSize: 2 });
  });

  it('rejects invalid tenants and unhashable entries before queuing', async () => {
    const trail = makeTrail();
    await expect(trail.append(entry('../etc', 1))).rejects.toMatchObject({ code: 'BEDDEL_INVALID_TENANT' });
    await expect(trail.append(entry('acme', 1, { output: { n: 10n } }))).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_UNAVAILABLE' });
    await expect(trail.checkpoint('a/b')).rejects.toMatchObject({ code: 'BEDDEL_INVALID_TENANT' });
  });

  it('signs a checkpoint every N records and on close', async () => {
    const sink = new MemoryAuditSink();
    const trail = makeTrail(sink, { checkpoints: { everyRecords: 5, everyMs: 0 } });
    for (let n = 0; n < 12; n += 1) await trail.append(entry('acme', n));
    await vi.waitFor(async () => expect((await sink.listCheckpoints('acme')).map((c) => c.treeSize)).toEqual([5, 10]));
    await trail.close();
    const sizes = (await new MemoryAuditSink(sink.store).listCheckpoints('acme')).map((c) => c.treeSize);
    expect(sizes).toEqual([5, 10, 12]);
    expect((await verifyLog(new MemoryAuditSink(sink.store), keys.publicKey, { requireCheckpointed: true })).ok).toBe(true);
  });

  it('signs a checkpoint every T ms when records arrived', async () => {
    const sink = new MemoryAuditSink();
    const trail = makeTrail(sink, { checkpoints: { everyRecords: 0, everyMs: 15 } });
    await trail.append(entry('acme', 0));
    await vi.waitFor(async () => expect((await sink.latestCheckpoint('acme'))?.treeSize).toBe(1));
    await trail.append(entry('acme', 1));
    await vi.waitFor(async () => expect((await sink.latestCheckpoint('acme'))?.treeSize).toBe(2));
  });

  it('hands out inclusion and consistency proofs that verify with the public key alone', async () => {
    const sink = new MemoryAuditSink();
    const trail = makeTrail(sink);
    const receipts: AuditReceipt[] = [];
    for (let n = 0; n < 13; n += 1) receipts.push(await trail.append(entry('acme', n)));
    const first = await trail.checkpoint('acme');
    for (let n = 13; n < 21; n += 1) receipts.push(await trail.append(entry('acme', n)));
    expect((await trail.inclusionProof('acme', 3)).treeSize).toBe(13);
    // A record after the latest checkpoint gets a fresh checkpoint that covers it.
    expect((await trail.inclusionProof('acme', 20)).treeSize).toBe(21);
    for (const receipt of receipts) {
      const proof = await trail.inclusionProof('acme', receipt.sequence);
      expect(proof.treeSize).toBe(21);
      expect(proof.recordHash).toBe(receipt.recordHash);
      expect(verifyInclusionProof(proof, keys.publicKey)).toEqual({ ok: true });
    }
    const proof = await trail.inclusionProof('acme', 4);
    const records = [];
    for await (const record of sink.read('acme', { fromSequence: 4, toSequence: 4 })) records.push(record);
    expect(verifyInclusionProof(proof, keys.publicKey, records[0])).toEqual({ ok: true });
    expect(verifyInclusionProof(proof, keys.publicKey, { ...records[0]!, status: 'error' }).ok).toBe(false);
    expect(verifyInclusionProof({ ...proof, sequence: 5 }, keys.publicKey).ok).toBe(false);
    expect(verifyInclusionProof(proof, generateAuditKeyPair().publicKey).ok).toBe(false);
    expect(verifyInclusionProof({ ...proof, tenantId: 'globex' }, keys.publicKey).ok).toBe(false);

    const consistency = await trail.consistencyProof('acme', 13);
    expect(verifyConsistencyProof(consistency, first!.note, keys.publicKey)).toEqual({ ok: true });
    const tampered = { ...consistency, consistencyPath: consistency.consistencyPath.map((h, i) => (i === 0 ? h.replace(/^./, h[0] === '0' ? '1' : '0') : h)) };
    expect(verifyConsistencyProof(tampered, first!.note, keys.publicKey).ok).toBe(false);
  });

  it('forms one chain when two trails (two processes) share a multi-writer store', async () => {
    const store = new MemoryAuditStore();
    const one = makeTrail(new MemoryAuditSink(store), { checkpoints: { everyRecords: 7, everyMs: 0 } });
    const two = makeTrail(new MemoryAuditSink(store), { checkpoints: { everyRecords: 7, everyMs: 0 } });
    const receipts = await Promise.all(Array.from({ length: 60 }, (_, n) => (n % 2 === 0 ? one : two).append(entry('acme', n))));
    expect(new Set(receipts.map((r) => r.sequence)).size).toBe(60);
    await Promise.all([one.close(), two.close()]);
    const report = await verifyLog(new MemoryAuditSink(store), keys.publicKey, { requireCheckpointed: true });
    expect(report.tenants[0]!.problems).toEqual([]);
    expect(report.tenants[0]!.checkpoints).toBeGreaterThanOrEqual(2);
  });

  it('refuses to sign a checkpoint over a rewritten history', async () => {
    const store = new MemoryAuditStore();
    const trail = makeTrail(new MemoryAuditSink(store));
    for (let n = 0; n < 4; n += 1) await trail.append(entry('acme', n));
    await trail.checkpoint('acme');
    const records = store.rawRecords('acme') as Record<string, unknown>[];
    records[1] = { ...records[1], status: 'error' };
    store.replaceRawRecords('acme', records);
    await trail.append(entry('acme', 4));
    const fresh = makeTrail(new MemoryAuditSink(store));
    await expect(fresh.checkpoint('acme')).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_CORRUPT' });
  });

  it('rejects appends after close and closes the sink once', async () => {
    const sink = new MemoryAuditSink();
    const close = vi.spyOn(sink, 'close');
    const trail = makeTrail(sink);
    await trail.append(entry('acme', 0));
    await Promise.all([trail.close(), trail.close()]);
    expect(close).toHaveBeenCalledTimes(1);
    await expect(trail.append(entry('acme', 1))).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_UNAVAILABLE' });
  });
});

describe('auditTrail plugin', () => {
  it('registers the trail as AUDIT_LOG and AUDIT_TRAIL and disposes it with a final checkpoint', async () => {
    const sink = new MemoryAuditSink();
    const plugin = auditTrail({ sink, signingKey: keys.privateKey, checkpoints: { everyMs: 0 } });
    const registered = new Map<symbol, unknown>();
    const registrar: ProviderRegistrar = {
      value<T>(token: Token<T>, value: T) {
        registered.set(token, value);
      },
      factory() {
        throw new Error('not used');
      },
    };
    plugin.register(registrar);
    expect(registered.get(AUDIT_LOG)).toBe(plugin.trail);
    expect(registered.get(AUDIT_TRAIL)).toBe(plugin.trail);
    await plugin.trail.append(entry('acme', 0));
    await plugin.dispose?.();
    expect(sink.store.rawCheckpoints('acme')).toHaveLength(1);
  });
});
