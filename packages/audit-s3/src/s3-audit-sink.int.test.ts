import { randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuditTrail, generateAuditKeyPair, sealRecords, unsealedRecordFromEntry, verifyLog } from '@beddel/audit';
import { sha256Hex } from '@beddel/contracts';
import type { AuditChainHead } from '@beddel/contracts';
import { auditEntry as auditEntryFor } from '@beddel/testing';
import { s3AuditSink, s3AuditSinkFromUri } from './index.js';
import type { S3AuditSink, S3ManifestPage } from './index.js';
import { TEST_BUCKET, startS3TestServer } from './test-support/s3-test-server.js';
import type { S3TestServer } from './test-support/s3-test-server.js';

let server: S3TestServer;
let raw: S3Client;
beforeAll(async () => {
  server = await startS3TestServer();
  raw = server.client();
});
afterAll(async () => {
  raw.destroy();
  await server.stop();
});

async function keys(prefix: string): Promise<string[]> {
  const listed = await raw.send(new ListObjectsV2Command({ Bucket: TEST_BUCKET, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key!);
}

async function text(key: string): Promise<string> {
  return (await raw.send(new GetObjectCommand({ Bucket: TEST_BUCKET, Key: key }))).Body!.transformToString();
}

function sealFor(tenantId: string, from: number, count: number) {
  return (head: AuditChainHead | null) => sealRecords(head, Array.from({ length: count }, (_, i) => unsealedRecordFromEntry(auditEntryFor(tenantId, from + i))));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('s3AuditSink object layout and single-writer lock (s3rver)', () => {
  const opened: S3AuditSink[] = [];
  let prefix: string;
  const open = (options: { lockTtlMs?: number; manifestPageSize?: number } = {}) => {
    const sink = s3AuditSink({ client: server.client(), bucket: TEST_BUCKET, prefix, ...options });
    opened.push(sink);
    return sink;
  };

  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((sink) => sink.close()));
    prefix = `layout-${randomBytes(6).toString('hex')}`;
  });
  beforeAll(() => {
    prefix = `layout-${randomBytes(6).toString('hex')}`;
  });

  it('writes one JSONL object per batch and a manifest naming each with its SHA-256 and ETag', async () => {
    const sink = open();
    const first = await sink.appendBatch('acme', sealFor('acme', 0, 3));
    await sink.appendBatch('acme', sealFor('acme', 3, 2));
    const tenantKeys = await keys(`${prefix}/tenant=acme/`);
    const batchKeys = tenantKeys.filter((key) => key.includes('/batches/'));
    expect(batchKeys).toHaveLength(2);
    expect(batchKeys[0]).toMatch(new RegExp(`^${prefix}/tenant=acme/batches/0000000000000000-0000000000000002-[0-9a-f]{16}\\.jsonl$`));
    expect(batchKeys[1]).toMatch(/batches\/0000000000000003-0000000000000004-[0-9a-f]{16}\.jsonl$/);
    const body = await text(batchKeys[0]!);
    expect(body.trimEnd().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual(first);

    const manifest = JSON.parse(await text(`${prefix}/tenant=acme/manifest/0000000000.json`)) as S3ManifestPage;
    expect(manifest).toMatchObject({ format: 'beddel-audit-s3-manifest', version: 1, tenantId: 'acme', page: 0 });
    expect(manifest.batches.map((batch) => [batch.key, batch.firstSequence, batch.lastSequence])).toEqual([
      [batchKeys[0], 0, 2],
      [batchKeys[1], 3, 4],
    ]);
    expect(manifest.batches[0]!.sha256).toBe(sha256Hex(body));
    expect(manifest.batches[0]!.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(tenantKeys).toContain(`${prefix}/tenant=acme/tenant.json`);
  });

  it('starts a new manifest page when one is full and reads across pages', async () => {
    const sink = open({ manifestPageSize: 2 });
    for (let batch = 0; batch < 5; batch += 1) await sink.appendBatch('acme', sealFor('acme', batch * 2, 2));
    expect((await keys(`${prefix}/tenant=acme/manifest/`)).map((key) => key.slice(key.lastIndexOf('/') + 1))).toEqual([
      '0000000000.json',
      '0000000001.json',
      '0000000002.json',
    ]);
    const reopened = open({ manifestPageSize: 2 });
    const sequences: number[] = [];
    for await (const record of reopened.read('acme', { fromSequence: 3, toSequence: 8 })) sequences.push(record.sequence);
    expect(sequences).toEqual([3, 4, 5, 6, 7, 8]);
    expect((await reopened.head('acme'))?.sequence).toBe(9);
  });

  it('keeps a second writer out while the first holds the lease, and lets readers in', async () => {
    const first = open();
    await first.appendBatch('acme', sealFor('acme', 0, 1));
    const lock = JSON.parse(await text(`${prefix}/writer.lock`)) as { pid: number; expiresAt: string };
    expect(lock.pid).toBe(process.pid);
    const second = open();
    await expect(second.putCheckpoint('acme', { treeSize: 1, rootHash: 'a'.repeat(64), note: 'n', createdAt: 'x' })).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_LOCKED' });
    expect((await second.head('acme'))?.sequence).toBe(0);
    await first.close();
    expect(await keys(`${prefix}/writer.lock`)).toEqual([]);
    expect((await second.appendBatch('acme', sealFor('acme', 1, 1)))[0]!.sequence).toBe(1);
  });

  it('takes over the lease of a writer that crashed once it expired', async () => {
    await raw.send(
      new PutObjectCommand({
        Bucket: TEST_BUCKET,
        Key: `${prefix}/writer.lock`,
        Body: JSON.stringify({ owner: 'crashed', host: 'elsewhere', pid: 1, expiresAt: new Date(Date.now() + 400).toISOString() }),
      }),
    );
    const sink = open();
    await expect(sink.appendBatch('acme', sealFor('acme', 0, 1))).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_LOCKED' });
    await sleep(500);
    expect((await sink.appendBatch('acme', sealFor('acme', 0, 1)))[0]!.sequence).toBe(0);
  });

  it('stops writing for good once another writer took its lease', async () => {
    const sink = open({ lockTtlMs: 300 });
    await sink.appendBatch('acme', sealFor('acme', 0, 1));
    await raw.send(
      new PutObjectCommand({
        Bucket: TEST_BUCKET,
        Key: `${prefix}/writer.lock`,
        Body: JSON.stringify({ owner: 'intruder', host: 'elsewhere', pid: 1, expiresAt: new Date(Date.now() + 60_000).toISOString() }),
      }),
    );
    await sleep(400);
    await expect(sink.appendBatch('acme', sealFor('acme', 1, 1))).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_LOCKED' });
    expect(JSON.parse(await text(`${prefix}/writer.lock`))).toMatchObject({ owner: 'intruder' });
  });

  it('keeps the lease alive past its lifetime while the writer runs', async () => {
    const sink = open({ lockTtlMs: 300 });
    const trail = new AuditTrail({ sink, signingKey: generateAuditKeyPair().privateKey, checkpoints: { everyRecords: 0, everyMs: 0 }, closeSink: false });
    for (let round = 0; round < 4; round += 1) {
      await trail.append(auditEntryFor('acme', round));
      await sleep(250);
    }
    await trail.close();
    expect((await sink.head('acme'))?.sequence).toBe(3);
    await sink.close();
    expect((await open().appendBatch('acme', sealFor('acme', 4, 1)))[0]!.sequence).toBe(4);
  }, 10_000);

  it('reports a manifest that is not JSON, and a missing batch object, as corrupt', async () => {
    const sink = open();
    await sink.appendBatch('acme', sealFor('acme', 0, 2));
    await sink.close();
    const manifestKey = `${prefix}/tenant=acme/manifest/0000000000.json`;
    const manifest = JSON.parse(await text(manifestKey)) as S3ManifestPage;
    await raw.send(new PutObjectCommand({ Bucket: TEST_BUCKET, Key: manifestKey, Body: JSON.stringify({ ...manifest, batches: [{ ...manifest.batches[0], key: `${prefix}/gone.jsonl` }] }) }));
    const reader = open();
    const read = async () => {
      for await (const _ of reader.read('acme')) void _;
    };
    await expect(read()).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_CORRUPT' });
    await raw.send(new PutObjectCommand({ Bucket: TEST_BUCKET, Key: manifestKey, Body: '{not json' }));
    await expect(read()).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_CORRUPT' });
    await expect(reader.head('acme')).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_CORRUPT' });
  });

  it('refuses further appends after a commit with an unknown outcome, until reopened', async () => {
    const client = server.client();
    let failManifestWrites = false;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: string };
        if (failManifestWrites && context.commandName === 'PutObjectCommand' && input.Key?.includes('/manifest/') === true) throw new Error('connection reset');
        return next(args);
      },
      { step: 'initialize', name: 'failManifestWrites' },
    );
    const sink = s3AuditSink({ client, bucket: TEST_BUCKET, prefix });
    opened.push(sink);
    const kept = await sink.appendBatch('acme', sealFor('acme', 0, 2));
    failManifestWrites = true;
    await expect(sink.appendBatch('acme', sealFor('acme', 2, 1))).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_UNAVAILABLE' });
    failManifestWrites = false;
    await expect(sink.appendBatch('acme', sealFor('acme', 2, 1))).rejects.toThrow(/reopen/);
    // The orphaned batch object exists but is not part of the log.
    expect((await keys(`${prefix}/tenant=acme/batches/`)).length).toBe(2);
    await sink.close();

    const reopened = open();
    expect(await reopened.head('acme')).toEqual({ sequence: 1, recordHash: kept[1]!.recordHash });
    expect((await reopened.appendBatch('acme', sealFor('acme', 2, 1)))[0]!.sequence).toBe(2);
    expect((await verifyLog(reopened, generateAuditKeyPair().publicKey)).ok).toBe(true);
  });

  it('reports an unreachable endpoint as BEDDEL_AUDIT_UNAVAILABLE', async () => {
    const sink = s3AuditSinkFromUri('s3://audit/x?endpoint=http://127.0.0.1:1&region=us-east-1&forcePathStyle=true');
    await expect(sink.tenants()).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_UNAVAILABLE' });
    await sink.close();
  });

  it('builds a sink from an s3:// URI that round-trips through the real SDK', async () => {
    const previous = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    try {
      const sink = s3AuditSinkFromUri(`s3://${TEST_BUCKET}/${prefix}/nested/?endpoint=${server.endpoint}&region=us-east-1&forcePathStyle=true`);
      expect([sink.bucket, sink.prefix]).toEqual([TEST_BUCKET, `${prefix}/nested`]);
      const keysPair = generateAuditKeyPair();
      const trail = new AuditTrail({ sink, signingKey: keysPair.privateKey, checkpoints: { everyRecords: 0, everyMs: 0 } });
      await Promise.all(Array.from({ length: 20 }, (_, n) => trail.append(auditEntryFor('acme', n))));
      await trail.close();
      expect(await keys(`${prefix}/nested/tenant=acme/manifest/`)).toHaveLength(1);
      const reader = s3AuditSink({ client: server.client(), bucket: TEST_BUCKET, prefix: `${prefix}/nested` });
      opened.push(reader);
      expect((await verifyLog(reader, keysPair.publicKey, { requireCheckpointed: true })).ok).toBe(true);
    } finally {
      if (previous.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      else process.env.AWS_ACCESS_KEY_ID = previous.id;
      if (previous.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = previous.secret;
    }
    expect(() => s3AuditSinkFromUri('postgres://x/y')).toThrow(expect.objectContaining({ code: 'BEDDEL_CONFIGURATION' }));
    expect(() => s3AuditSink({ client: raw, bucket: TEST_BUCKET, prefix: 'a/../b' })).toThrow(expect.objectContaining({ code: 'BEDDEL_CONFIGURATION' }));
  });
});
