import { afterEach, describe, expect, it } from 'vitest';
import { isBeddelError } from '@beddel/contracts';
import type { AuditCheckpoint, AuditChainHead, AuditSink, SealedAuditRecord } from '@beddel/contracts';
import {
  AuditTrail,
  MerkleTree,
  computeRecordHash,
  generateAuditKeyPair,
  recordLeafHash,
  sealRecords,
  signCheckpoint,
  unsealedRecordFromEntry,
  verifyConsistencyProof,
  verifyInclusionProof,
  verifyLog,
} from '@beddel/audit';
import type { AuditProblemCode, AuditTrailOptions, TenantVerification } from '@beddel/audit';
import { auditEntry } from './audit-entry.js';

/** A stored record or checkpoint as raw JSON, the way an attacker with storage access sees it. */
export type RawAuditValue = Record<string, unknown>;

/**
 * Raw write access to a sink's backing store, implemented by each sink's test (SQL statements,
 * object puts, file rewrites). The suite calls it only while every sink on the store is closed,
 * then opens a fresh sink to verify, so a sink never has to notice changes under its feet.
 */
export interface AuditStoreTamperer {
  /**
   * Replaces the tenant's stored records with `edit(current)`: `current` is every stored record in
   * stored order; the result is what `read(tenantId)` (no range) must return afterwards, in that
   * order, exactly as given (including values that are not valid records).
   */
  rewriteRecords(tenantId: string, edit: (records: RawAuditValue[]) => unknown[]): Promise<void>;
  /** Same for stored checkpoints (`AuditCheckpoint` objects), in storage order. */
  rewriteCheckpoints(tenantId: string, edit: (checkpoints: RawAuditValue[]) => unknown[]): Promise<void>;
}

/** What a sink's test hands the suite: one fresh, empty backing store per call. */
export interface AuditSinkHarness {
  readonly sink: AuditSink;
  /**
   * Opens another sink over the same backing store: after `sink` closed (restart), or while it is
   * open (a second process: must form one chain when `capabilities.multiWriter`, else its first
   * write must fail with `BEDDEL_AUDIT_LOCKED` until the first writer closes).
   */
  openAnother(): Promise<AuditSink>;
  readonly tamper: AuditStoreTamperer;
  /** Removes the backing store. Sinks the suite opened are already closed. */
  cleanup(): Promise<void>;
}

export interface AuditSinkContractOptions {
  /** Concurrent appends per tenant in the concurrency tests. Default 20. */
  readonly appendsPerTenant?: number;
  /** Per-test timeout in ms for the slower tests. Default 30 000. */
  readonly timeoutMs?: number;
}

const TENANTS = ['acme', 'Globex.Corp:eu-1', '..'] as const;
const keys = generateAuditKeyPair();

function sealFor(tenantId: string, from: number, count: number): (head: AuditChainHead | null) => SealedAuditRecord[] {
  return (head) => sealRecords(head, Array.from({ length: count }, (_, i) => unsealedRecordFromEntry(auditEntry(tenantId, from + i))));
}

async function readAll(sink: AuditSink, tenantId: string, range?: { fromSequence?: number; toSequence?: number }): Promise<SealedAuditRecord[]> {
  const records: SealedAuditRecord[] = [];
  for await (const record of sink.read(tenantId, range)) records.push(record);
  return records;
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await errorOf(promise);
  expect(isBeddelError(error) ? error.code : error).toBe(code);
}

/**
 * The shared `AuditSink` contract suite: every sink (memory, file, PostgreSQL, S3) runs it against
 * a real backend. `makeSink` returns a harness over a fresh, empty backing store.
 *
 * ```ts
 * auditSinkContractTests('fileAuditSink', async () => {
 *   const dir = await mkdtemp(join(tmpdir(), 'audit-'));
 *   return { sink: fileAuditSink({ dir }), openAnother: async () => fileAuditSink({ dir }), tamper: fileTamperer(dir), cleanup: () => rm(dir, { recursive: true }) };
 * });
 * ```
 */
export function auditSinkContractTests(name: string, makeSink: () => Promise<AuditSinkHarness>, options: AuditSinkContractOptions = {}): void {
  const perTenant = options.appendsPerTenant ?? 20;
  const slow = options.timeoutMs ?? 30_000;

  describe(`AuditSink contract: ${name}`, () => {
    let harness: AuditSinkHarness | undefined;
    const opened: AuditSink[] = [];
    const trails: AuditTrail[] = [];

    const setUp = async (): Promise<AuditSinkHarness> => {
      harness = await makeSink();
      opened.push(harness.sink);
      return harness;
    };
    const another = async (h: AuditSinkHarness): Promise<AuditSink> => {
      const sink = await h.openAnother();
      opened.push(sink);
      return sink;
    };
    const trailOver = (sink: AuditSink, extra: Partial<AuditTrailOptions> = {}): AuditTrail => {
      const trail = new AuditTrail({ sink, signingKey: keys.privateKey, checkpoints: { everyMs: 0, everyRecords: 0 }, ...extra });
      trails.push(trail);
      return trail;
    };

    afterEach(async () => {
      await Promise.allSettled(trails.splice(0).map((trail) => trail.close()));
      await Promise.allSettled(opened.splice(0).map((sink) => sink.close()));
      await harness?.cleanup();
      harness = undefined;
    });

    describe('storage', () => {
      it('starts empty', async () => {
        const { sink } = await setUp();
        expect(await sink.tenants()).toEqual([]);
        expect(await sink.head('acme')).toBeNull();
        expect(await readAll(sink, 'acme')).toEqual([]);
        expect(await sink.latestCheckpoint('acme')).toBeNull();
        expect(await sink.listCheckpoints('acme')).toEqual([]);
        expect(typeof sink.capabilities.multiWriter).toBe('boolean');
      });

      it('appends a batch, acknowledges the sealed records, and reads them back unchanged in order', async () => {
        const { sink } = await setUp();
        const heads: (AuditChainHead | null)[] = [];
        const first = await sink.appendBatch('acme', (head) => {
          heads.push(head);
          return sealFor('acme', 0, 3)(head);
        });
        expect(heads.at(-1)).toBeNull();
        expect(first.map((r) => r.sequence)).toEqual([0, 1, 2]);
        const second = await sink.appendBatch('acme', (head) => {
          heads.push(head);
          return sealFor('acme', 3, 2)(head);
        });
        expect(heads.at(-1)).toEqual({ sequence: 2, recordHash: first[2]!.recordHash });
        expect(second.map((r) => r.sequence)).toEqual([3, 4]);
        expect(second[0]!.prevHash).toBe(first[2]!.recordHash);
        expect(await sink.head('acme')).toEqual({ sequence: 4, recordHash: second[1]!.recordHash });
        const stored = await readAll(sink, 'acme');
        expect(stored).toEqual([...first, ...second]);
        expect(await sink.tenants()).toEqual(['acme']);
      });

      it('stores records byte-exactly enough that they hash back (unicode, fractions, large numbers)', async () => {
        const { sink } = await setUp();
        const odd = auditEntry('acme', 0, {
          transformation: { name: 'pr\u00e9\u00e7o \u20ac \ud83d\ude00 "quoted" \\ \n', version: '1.0.0-\u03b2', sourceSha256: 'b'.repeat(64) },
          metrics: { durationMs: 0.1 + 0.2, cpuMs: 1e-7, heapBytes: 2 ** 53 - 1 },
          status: 'error',
          errorCode: 'BEDDEL_TIMEOUT',
          output: undefined,
        });
        await sink.appendBatch('acme', (head) => sealRecords(head, [unsealedRecordFromEntry(odd)]));
        const [stored] = await readAll(sink, 'acme');
        expect(stored!.transformation.name).toBe(odd.transformation.name);
        expect(stored!.metrics).toEqual(odd.metrics);
        expect(computeRecordHash(stored!)).toBe(stored!.recordHash);
      });

      it('refuses batches that do not continue the head, and persists nothing of them', async () => {
        const { sink } = await setUp();
        const [genesis] = await sink.appendBatch('acme', sealFor('acme', 0, 1));
        const valid = sealFor('acme', 1, 3)({ sequence: 0, recordHash: genesis!.recordHash });
        const rehash = (record: SealedAuditRecord, patch: Partial<SealedAuditRecord>): SealedAuditRecord => {
          const body = { ...record, ...patch };
          return { ...body, recordHash: computeRecordHash(body) };
        };
        const bad: SealedAuditRecord[][] = [
          valid.map((r) => rehash(r, { sequence: r.sequence + 1 })),
          [rehash(valid[0]!, { prevHash: 'f'.repeat(64) }), ...valid.slice(1)],
          [valid[0]!, valid[2]!],
          [valid[0]!, rehash(valid[1]!, { tenantId: 'globex' })],
          sealFor('acme', 1, 1)(null),
        ];
        for (const batch of bad) await expectCode(sink.appendBatch('acme', () => batch), 'BEDDEL_AUDIT_CORRUPT');
        expect(await sink.head('acme')).toEqual({ sequence: 0, recordHash: genesis!.recordHash });
        expect(await readAll(sink, 'acme')).toHaveLength(1);
        expect(await sink.appendBatch('acme', () => valid)).toEqual(valid);
      });

      it('persists nothing when seal throws, and treats an empty batch as a no-op', async () => {
        const { sink } = await setUp();
        const failure = new Error('seal failed');
        expect(await errorOf(sink.appendBatch('acme', () => {
          throw failure;
        }))).toBe(failure);
        expect(await sink.appendBatch('acme', () => [])).toEqual([]);
        expect(await sink.head('acme')).toBeNull();
        expect(await readAll(sink, 'acme')).toEqual([]);
        expect((await sink.appendBatch('acme', sealFor('acme', 0, 1)))[0]!.sequence).toBe(0);
      });

      it('reads inclusive sequence ranges', async () => {
        const { sink } = await setUp();
        await sink.appendBatch('acme', sealFor('acme', 0, 6));
        await sink.appendBatch('acme', sealFor('acme', 6, 4));
        const sequences = async (range: { fromSequence?: number; toSequence?: number }): Promise<number[]> => (await readAll(sink, 'acme', range)).map((r) => r.sequence);
        expect(await sequences({})).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(await sequences({ fromSequence: 7 })).toEqual([7, 8, 9]);
        expect(await sequences({ toSequence: 2 })).toEqual([0, 1, 2]);
        expect(await sequences({ fromSequence: 4, toSequence: 6 })).toEqual([4, 5, 6]);
        expect(await sequences({ fromSequence: 5, toSequence: 5 })).toEqual([5]);
        expect(await sequences({ fromSequence: 10 })).toEqual([]);
        expect(await sequences({ fromSequence: 6, toSequence: 3 })).toEqual([]);
      });

      it('keeps tenants apart, lists them sorted, and maps every valid tenant id safely', async () => {
        const { sink } = await setUp();
        for (const tenantId of [...TENANTS].reverse()) await sink.appendBatch(tenantId, sealFor(tenantId, 0, 2));
        await sink.appendBatch('acme', sealFor('acme', 2, 1));
        expect(await sink.tenants()).toEqual([...TENANTS].sort());
        for (const tenantId of TENANTS) {
          const records = await readAll(sink, tenantId);
          expect(records.every((r) => r.tenantId === tenantId)).toBe(true);
          expect(records).toHaveLength(tenantId === 'acme' ? 3 : 2);
        }
      });

      it('rejects invalid tenant ids with BEDDEL_INVALID_TENANT', async () => {
        const { sink } = await setUp();
        for (const tenantId of ['', '../etc', 'a/b', 'a\\b', 'x'.repeat(129), 'caf\u00e9']) {
          await expectCode(sink.appendBatch(tenantId, () => []), 'BEDDEL_INVALID_TENANT');
          await expectCode(sink.head(tenantId), 'BEDDEL_INVALID_TENANT');
          await expectCode(readAll(sink, tenantId), 'BEDDEL_INVALID_TENANT');
        }
      });

      it('round-trips checkpoints verbatim, sorted by tree size, latest = largest', async () => {
        const { sink } = await setUp();
        await sink.appendBatch('acme', sealFor('acme', 0, 5));
        const checkpoint = (treeSize: number, tag: string): AuditCheckpoint => ({
          treeSize,
          rootHash: tag.repeat(64),
          note: `beddel-audit/acme\n${treeSize}\n${tag}\n\n\u2014 beddel-audit ${tag}\n`,
          createdAt: `2025-01-0${treeSize}T00:00:00.000Z`,
        });
        const stored = [checkpoint(3, 'a'), checkpoint(1, 'b'), checkpoint(5, 'c'), checkpoint(3, 'd')];
        for (const c of stored) await sink.putCheckpoint('acme', c);
        expect(await sink.listCheckpoints('acme')).toEqual([stored[1], stored[0], stored[3], stored[2]]);
        expect(await sink.latestCheckpoint('acme')).toEqual(stored[2]);
        await sink.putCheckpoint('acme', checkpoint(5, 'e'));
        expect(await sink.latestCheckpoint('acme')).toEqual(checkpoint(5, 'e'));
        expect(await sink.listCheckpoints('globex')).toEqual([]);
      });

      it('rejects use after close', async () => {
        const { sink } = await setUp();
        await sink.appendBatch('acme', sealFor('acme', 0, 1));
        await sink.close();
        await sink.close();
        await expect(sink.appendBatch('acme', sealFor('acme', 1, 1))).rejects.toThrow();
        await expect(sink.head('acme')).rejects.toThrow();
      });
    });

    describe('chaining under load and across restarts', () => {
      it(`forms one gap-free chain per tenant from ${perTenant} concurrent appends x ${TENANTS.length} tenants`, { timeout: slow }, async () => {
        const { sink } = await setUp();
        const trail = trailOver(sink);
        const receipts = await Promise.all(TENANTS.flatMap((tenantId) => Array.from({ length: perTenant }, (_, n) => trail.append(auditEntry(tenantId, n)))));
        for (const tenantId of TENANTS) {
          const sequences = receipts.filter((r) => r.tenantId === tenantId).map((r) => r.sequence).sort((a, b) => a - b);
          expect(sequences).toEqual(Array.from({ length: perTenant }, (_, n) => n));
          const stored = await readAll(sink, tenantId);
          for (const receipt of receipts.filter((r) => r.tenantId === tenantId)) expect(stored[receipt.sequence]!.recordHash).toBe(receipt.recordHash);
        }
        const report = await verifyLog(sink, keys.publicKey);
        expect(report.tenants.map((t) => t.problems)).toEqual(TENANTS.map(() => []));
      });

      it('serialises concurrent raw appendBatch calls (seal always sees the latest head)', { timeout: slow }, async () => {
        const { sink } = await setUp();
        await Promise.all(Array.from({ length: perTenant }, (_, n) => sink.appendBatch('acme', sealFor('acme', n * 2, 2))));
        const stored = await readAll(sink, 'acme');
        expect(stored.map((r) => r.sequence)).toEqual(Array.from({ length: perTenant * 2 }, (_, n) => n));
        expect((await verifyLog(sink, keys.publicKey)).ok).toBe(true);
      });

      it('continues the chain after close and reopen', { timeout: slow }, async () => {
        const h = await setUp();
        const first = trailOver(h.sink);
        for (let n = 0; n < 5; n += 1) await first.append(auditEntry('acme', n));
        await first.close();
        const reopened = await another(h);
        expect(await reopened.head('acme')).toMatchObject({ sequence: 4 });
        expect((await reopened.latestCheckpoint('acme'))?.treeSize).toBe(5);
        const second = trailOver(reopened);
        const receipts = await Promise.all(Array.from({ length: 5 }, (_, n) => second.append(auditEntry('acme', 5 + n))));
        expect(receipts.map((r) => r.sequence).sort((a, b) => a - b)).toEqual([5, 6, 7, 8, 9]);
        await second.close();
        const verifier = await another(h);
        const report = await verifyLog(verifier, keys.publicKey, { requireCheckpointed: true });
        expect(report.tenants).toEqual([{ tenantId: 'acme', records: 10, checkpoints: 2, verifiedTreeSize: 10, uncheckpointedRecords: 0, problems: [] }]);
      });

      it('coordinates a second writer on the same backing store as its capabilities claim', { timeout: slow }, async () => {
        const h = await setUp();
        await h.sink.appendBatch('acme', sealFor('acme', 0, 1));
        const second = await another(h);
        if (h.sink.capabilities.multiWriter) {
          const one = trailOver(h.sink, { closeSink: false });
          const two = trailOver(second, { closeSink: false });
          const receipts = await Promise.all(
            TENANTS.flatMap((tenantId) => Array.from({ length: perTenant * 2 }, (_, n) => (n % 2 === 0 ? one : two).append(auditEntry(tenantId, n)))),
          );
          expect(new Set(receipts.map((r) => `${r.tenantId}#${r.sequence}`)).size).toBe(receipts.length);
          await Promise.all([one.close(), two.close()]);
          const report = await verifyLog(second, keys.publicKey, { requireCheckpointed: true });
          expect(report.tenants.map((t) => [t.tenantId, t.records, t.problems])).toEqual(
            [...TENANTS].sort().map((tenantId) => [tenantId, perTenant * 2 + (tenantId === 'acme' ? 1 : 0), []]),
          );
        } else {
          await expectCode(second.appendBatch('acme', sealFor('acme', 1, 1)), 'BEDDEL_AUDIT_LOCKED');
          await h.sink.close();
          expect((await second.appendBatch('acme', sealFor('acme', 1, 1)))[0]!.sequence).toBe(1);
        }
      });
    });

    describe('checkpoints and proofs over stored data', () => {
      it('signs checkpoints over the stored log and serves proofs that verify with the public key alone', { timeout: slow }, async () => {
        const { sink } = await setUp();
        const trail = trailOver(sink, { checkpoints: { everyMs: 0, everyRecords: 0 } });
        for (let n = 0; n < 11; n += 1) await trail.append(auditEntry('acme', n));
        const older = await trail.checkpoint('acme');
        expect(older?.treeSize).toBe(11);
        for (let n = 11; n < 25; n += 1) await trail.append(auditEntry('acme', n));
        const latest = await trail.checkpoint('acme');
        expect(await sink.latestCheckpoint('acme')).toEqual(latest);
        const records = await readAll(sink, 'acme');
        for (const record of records) {
          const proof = await trail.inclusionProof('acme', record.sequence);
          expect(verifyInclusionProof(proof, keys.publicKey, record)).toEqual({ ok: true });
        }
        expect(verifyConsistencyProof(await trail.consistencyProof('acme', 11), older!.note, keys.publicKey)).toEqual({ ok: true });
      });
    });

    describe('tamper detection through verifyLog', () => {
      /** 10 records of `acme` with checkpoints at 4, 8 and 10; every sink closed afterwards. */
      const seeded = async (): Promise<AuditSinkHarness> => {
        const h = await setUp();
        const trail = trailOver(h.sink);
        for (let n = 0; n < 10; n += 1) {
          await trail.append(auditEntry('acme', n));
          if (n === 3 || n === 7) await trail.checkpoint('acme');
        }
        await trail.append(auditEntry('globex', 0));
        await trail.close();
        return h;
      };
      const verifyAcme = async (h: AuditSinkHarness): Promise<TenantVerification> => {
        const report = await verifyLog(await another(h), keys.publicKey);
        expect(report.ok).toBe(false);
        expect(report.tenants.find((t) => t.tenantId === 'globex')?.problems).toEqual([]);
        return report.tenants.find((t) => t.tenantId === 'acme')!;
      };
      const codes = (tenant: TenantVerification): AuditProblemCode[] => [...new Set(tenant.problems.map((p) => p.code))].sort();
      const rehash = (record: RawAuditValue): RawAuditValue => ({ ...record, recordHash: computeRecordHash(record) });

      it('verifies the untouched seed', async () => {
        const h = await seeded();
        const report = await verifyLog(await another(h), keys.publicKey, { requireCheckpointed: true });
        expect(report.ok).toBe(true);
        expect(report.tenants.find((t) => t.tenantId === 'acme')).toMatchObject({ records: 10, checkpoints: 3, verifiedTreeSize: 10 });
      });

      it('modification: names the modified record', async () => {
        const h = await seeded();
        await h.tamper.rewriteRecords('acme', (records) => records.map((r, i) => (i === 6 ? { ...r, status: 'error', errorCode: 'BEDDEL_TIMEOUT' } : r)));
        const tenant = await verifyAcme(h);
        expect(codes(tenant)).toContain('record-hash-mismatch');
        expect(tenant.firstBadSequence).toBe(6);
      });

      it('deletion: names the first missing record', async () => {
        const h = await seeded();
        await h.tamper.rewriteRecords('acme', (records) => records.filter((_, i) => i !== 5));
        const tenant = await verifyAcme(h);
        expect(codes(tenant)).toEqual(expect.arrayContaining(['sequence-gap', 'chain-broken']));
        expect(tenant.firstBadSequence).toBe(5);
      });

      it('reordering: names the first record out of place', async () => {
        const h = await seeded();
        await h.tamper.rewriteRecords('acme', (records) => records.map((r, i) => (i === 2 ? records[6]! : i === 6 ? records[2]! : r)));
        const tenant = await verifyAcme(h);
        expect(codes(tenant)).toContain('sequence-out-of-order');
        expect(tenant.firstBadSequence).toBe(2);
      });

      it('truncation: a checkpoint covers records that are gone', async () => {
        const h = await seeded();
        await h.tamper.rewriteRecords('acme', (records) => records.slice(0, 7));
        const tenant = await verifyAcme(h);
        expect(codes(tenant)).toEqual(['checkpoint-beyond-log']);
        expect(tenant.firstBadSequence).toBe(7);
      });

      it('insertion: names the inserted position', async () => {
        const h = await seeded();
        await h.tamper.rewriteRecords('acme', (records) => {
          const forged = rehash({ ...records[3], executionId: 'forged', prevHash: records[2]!.recordHash });
          return [...records.slice(0, 3), forged, ...records.slice(3)];
        });
        const tenant = await verifyAcme(h);
        expect(codes(tenant)).toContain('sequence-duplicate');
        expect(tenant.firstBadSequence).toBe(3);
      });

      it('fork: a rewritten history re-signed with the log key contradicts the earlier checkpoints', async () => {
        const h = await seeded();
        let rewritten: RawAuditValue[] = [];
        await h.tamper.rewriteRecords('acme', (records) => {
          rewritten = records.map((r) => ({ ...r }));
          rewritten[6] = { ...rewritten[6], status: 'error' };
          for (let i = 6; i < rewritten.length; i += 1) rewritten[i] = rehash({ ...rewritten[i], prevHash: i === 0 ? '0'.repeat(64) : rewritten[i - 1]!.recordHash });
          return rewritten;
        });
        const tree = new MerkleTree(rewritten.map((r) => recordLeafHash(r.recordHash as string)));
        const note = signCheckpoint({ origin: 'beddel-audit/acme', treeSize: 10, rootHash: tree.root() }, keys.privateKey);
        const forged = { treeSize: 10, rootHash: Buffer.from(tree.root()).toString('hex'), note, createdAt: new Date().toISOString() };
        await h.tamper.rewriteCheckpoints('acme', (checkpoints) => [...checkpoints, forged]);
        const tenant = await verifyAcme(h);
        expect(codes(tenant)).toEqual(['checkpoint-fork', 'checkpoint-root-mismatch']);
        expect(tenant.firstBadSequence).toBe(4);
      });

      it('bad signature: a checkpoint not signed by the log key is rejected', async () => {
        const h = await seeded();
        const intruder = generateAuditKeyPair();
        await h.tamper.rewriteCheckpoints('acme', (checkpoints) =>
          checkpoints.map((c) => (c.treeSize === 10 ? { ...c, note: signCheckpoint({ origin: 'beddel-audit/acme', treeSize: 10, rootHash: Buffer.from(c.rootHash as string, 'hex') }, intruder.privateKey) } : c)),
        );
        const tenant = await verifyAcme(h);
        expect(codes(tenant)).toEqual(['checkpoint-bad-signature']);
        expect(tenant.verifiedTreeSize).toBe(8);
      });
    });
  });
}
