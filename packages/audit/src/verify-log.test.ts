import { beforeEach, describe, expect, it } from 'vitest';
import { AuditTrail } from './audit-trail.js';
import { computeRecordHash, recordLeafHash } from './audit-record.js';
import { MemoryAuditSink, MemoryAuditStore } from './memory-audit-sink.js';
import { MerkleTree } from './merkle.js';
import { generateAuditKeyPair } from './signing-keys.js';
import { signCheckpoint } from './signed-checkpoint.js';
import { entry } from './test-support/entries.js';
import { verifyLog } from './verify-log.js';
import type { AuditProblemCode, TenantVerification } from './verify-log.js';

type Row = Record<string, unknown>;
const keys = generateAuditKeyPair();

/** Rehashes records from `from` on so every hash and link is consistent again (an attacker without the key). */
function rechain(records: Row[], from: number): Row[] {
  for (let i = from; i < records.length; i += 1) {
    const prevHash = i === 0 ? '0'.repeat(64) : records[i - 1]!.recordHash;
    const body = { ...records[i], prevHash };
    records[i] = { ...body, recordHash: computeRecordHash(body) };
  }
  return records;
}

describe('verifyLog', () => {
  let store: MemoryAuditStore;

  beforeEach(async () => {
    store = new MemoryAuditStore();
    const trail = new AuditTrail({ sink: new MemoryAuditSink(store), signingKey: keys.privateKey, checkpoints: { everyRecords: 4, everyMs: 0 } });
    // Sequential appends: checkpoints land exactly at 4, 8 and (on close) 10.
    for (let n = 0; n < 10; n += 1) {
      await trail.append(entry('acme', n));
      await trail.checkpoint('acme').then(() => undefined, () => undefined).then(() => undefined);
    }
    await trail.close();
    // Keep the checkpoints at 4, 8, 10 only (the loop above signed one per record).
    store.replaceRawCheckpoints('acme', store.rawCheckpoints('acme').filter((c) => [4, 8, 10].includes((c as Row).treeSize as number)));
  });

  const verify = async (): Promise<TenantVerification> => {
    const report = await verifyLog(new MemoryAuditSink(store), keys.publicKey);
    return report.tenants.find((t) => t.tenantId === 'acme')!;
  };
  const codes = (tenant: TenantVerification): AuditProblemCode[] => [...new Set(tenant.problems.map((p) => p.code))].sort();
  const records = (): Row[] => store.rawRecords('acme') as Row[];

  it('accepts an intact log', async () => {
    const report = await verifyLog(new MemoryAuditSink(store), keys.publicKey, { requireCheckpointed: true });
    expect(report.ok).toBe(true);
    expect(report.tenants).toEqual([{ tenantId: 'acme', records: 10, checkpoints: 3, verifiedTreeSize: 10, uncheckpointedRecords: 0, problems: [] }]);
  });

  it('names a modified record', async () => {
    const rows = records();
    rows[6] = { ...rows[6], status: 'error', errorCode: 'BEDDEL_TIMEOUT' };
    store.replaceRawRecords('acme', rows);
    const tenant = await verify();
    expect(codes(tenant)).toEqual(['record-hash-mismatch']);
    expect(tenant.firstBadSequence).toBe(6);
  });

  it('catches a modified record whose hash was recomputed (the next link breaks, the signed roots differ)', async () => {
    const rows = records();
    rows[6] = { ...rows[6], status: 'error' };
    rows[6] = { ...rows[6], recordHash: computeRecordHash(rows[6]) };
    store.replaceRawRecords('acme', rows);
    const tenant = await verify();
    expect(codes(tenant)).toEqual(['chain-broken', 'checkpoint-root-mismatch']);
    expect(tenant.firstBadSequence).toBe(7);
    expect(tenant.verifiedTreeSize).toBe(4);
  });

  it('catches a consistent rewrite by its signed roots and bounds the first bad record by the last good checkpoint', async () => {
    const rows = records();
    rows[6] = { ...rows[6], status: 'error' };
    store.replaceRawRecords('acme', rechain(rows, 6));
    const tenant = await verify();
    expect(codes(tenant)).toEqual(['checkpoint-root-mismatch']);
    expect(tenant.firstBadSequence).toBe(4);
  });

  it('names a deleted record', async () => {
    store.replaceRawRecords('acme', records().filter((_, i) => i !== 5));
    const tenant = await verify();
    expect(codes(tenant)).toEqual(expect.arrayContaining(['sequence-gap', 'chain-broken', 'checkpoint-beyond-log']));
    expect(tenant.firstBadSequence).toBe(5);
  });

  it('names reordered records', async () => {
    const rows = records();
    [rows[2], rows[6]] = [rows[6]!, rows[2]!];
    store.replaceRawRecords('acme', rows);
    const tenant = await verify();
    expect(codes(tenant)).toEqual(expect.arrayContaining(['sequence-out-of-order', 'chain-broken', 'checkpoint-root-mismatch']));
    expect(tenant.firstBadSequence).toBe(2);
  });

  it('detects truncation below a signed checkpoint', async () => {
    store.replaceRawRecords('acme', records().slice(0, 7));
    const tenant = await verify();
    expect(codes(tenant)).toEqual(['checkpoint-beyond-log']);
    expect(tenant.firstBadSequence).toBe(7);
    expect(tenant.verifiedTreeSize).toBe(4);
  });

  it('names an inserted record', async () => {
    const rows = records();
    const forged = { ...rows[3], executionId: 'forged', prevHash: rows[2]!.recordHash };
    rows.splice(3, 0, { ...forged, recordHash: computeRecordHash(forged) });
    store.replaceRawRecords('acme', rows);
    const tenant = await verify();
    expect(codes(tenant)).toEqual(expect.arrayContaining(['sequence-duplicate', 'chain-broken', 'checkpoint-root-mismatch']));
    expect(tenant.firstBadSequence).toBe(3);
  });

  it('detects a forked checkpoint: history rewritten and re-signed with the log key', async () => {
    const rows = records();
    rows[6] = { ...rows[6], status: 'error' };
    const rewritten = rechain(rows, 6);
    store.replaceRawRecords('acme', rewritten);
    const tree = new MerkleTree(rewritten.map((r) => recordLeafHash(r.recordHash as string)));
    const note = signCheckpoint({ origin: 'beddel-audit/acme', treeSize: 10, rootHash: tree.root() }, keys.privateKey);
    await new MemoryAuditSink(store).putCheckpoint('acme', { treeSize: 10, rootHash: Buffer.from(tree.root()).toString('hex'), note, createdAt: new Date().toISOString() });
    const tenant = await verify();
    expect(codes(tenant)).toEqual(['checkpoint-fork', 'checkpoint-root-mismatch']);
    expect(tenant.problems.find((p) => p.code === 'checkpoint-fork')!.message).toMatch(/both sign size 10/);
    expect(tenant.firstBadSequence).toBe(4);
  });

  it('detects a growing checkpoint that does not extend the earlier one', async () => {
    const rows = records().slice(0, 8);
    rows[1] = { ...rows[1], status: 'error' };
    const rewritten = rechain(rows, 1);
    const tree = new MerkleTree(rewritten.map((r) => recordLeafHash(r.recordHash as string)));
    store.replaceRawRecords('acme', rewritten);
    const note = signCheckpoint({ origin: 'beddel-audit/acme', treeSize: 8, rootHash: tree.root() }, keys.privateKey);
    const kept = store.rawCheckpoints('acme').filter((c) => (c as Row).treeSize === 4);
    store.replaceRawCheckpoints('acme', [...kept, { treeSize: 8, rootHash: Buffer.from(tree.root()).toString('hex'), note, createdAt: '2025-01-01T00:00:00.000Z' }]);
    const tenant = await verify();
    expect(codes(tenant)).toEqual(['checkpoint-fork', 'checkpoint-root-mismatch']);
    expect(tenant.firstBadSequence).toBe(0);
  });

  it('rejects checkpoints signed by another key or for another log', async () => {
    const intruder = generateAuditKeyPair();
    const checkpoints = store.rawCheckpoints('acme') as Row[];
    const last = checkpoints[2]!;
    const forgedRoot = Buffer.from(last.rootHash as string, 'hex');
    checkpoints[2] = { ...last, note: signCheckpoint({ origin: 'beddel-audit/acme', treeSize: 10, rootHash: forgedRoot }, intruder.privateKey) };
    checkpoints[1] = { ...checkpoints[1], note: signCheckpoint({ origin: 'beddel-audit/globex', treeSize: 8, rootHash: Buffer.from(checkpoints[1]!.rootHash as string, 'hex') }, keys.privateKey) };
    store.replaceRawCheckpoints('acme', [...checkpoints, { treeSize: 3, rootHash: 'x', note: 'not a note', createdAt: '' }]);
    const tenant = await verify();
    expect(codes(tenant)).toEqual(['checkpoint-bad-signature', 'checkpoint-malformed', 'checkpoint-wrong-origin']);
    expect(tenant.firstBadSequence).toBeUndefined();
    expect(tenant.verifiedTreeSize).toBe(4);
    expect(tenant.uncheckpointedRecords).toBe(6);
  });

  it('reports malformed records and unreadable stores without throwing', async () => {
    const rows: unknown[] = records();
    rows[2] = 'garbage';
    store.replaceRawRecords('acme', rows);
    const tenant = await verify();
    expect(codes(tenant)).toEqual(expect.arrayContaining(['record-malformed', 'chain-broken']));
    expect(tenant.firstBadSequence).toBe(2);

    const failing = {
      tenants: () => Promise.resolve(['acme']),
      listCheckpoints: () => Promise.resolve([]),
      read: async function* () {
        yield* [];
        await Promise.resolve();
        throw new Error('segment 3 unreadable');
      },
    };
    const report = await verifyLog(failing, keys.publicKey);
    expect(report.ok).toBe(false);
    expect(report.tenants[0]!.problems[0]).toMatchObject({ code: 'record-unreadable', sequence: 0 });
  });

  it('reports uncheckpointed records only when asked to', async () => {
    store.replaceRawCheckpoints('acme', store.rawCheckpoints('acme').slice(0, 2));
    expect((await verify()).problems).toEqual([]);
    const strict = await verifyLog(new MemoryAuditSink(store), keys.publicKey, { requireCheckpointed: true });
    expect(strict.tenants[0]).toMatchObject({ uncheckpointedRecords: 2, firstBadSequence: 8, problems: [{ code: 'records-not-checkpointed' }] });
  });
});
