import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { auditSinkContractTests } from '@beddel/testing';
import type { AuditSinkHarness, RawAuditValue } from '@beddel/testing';
import { s3AuditSink } from './index.js';
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
  const object = await raw.send(new GetObjectCommand({ Bucket: TEST_BUCKET, Key: key }));
  return object.Body!.transformToString();
}

async function put(key: string, body: string): Promise<void> {
  await raw.send(new PutObjectCommand({ Bucket: TEST_BUCKET, Key: key, Body: body }));
}

async function removeAll(prefix: string): Promise<void> {
  for (const key of await keys(prefix)) await raw.send(new DeleteObjectCommand({ Bucket: TEST_BUCKET, Key: key }));
}

/**
 * Tampering as someone with write access to the bucket: raw object edits through the SDK. The
 * tenant's records are replaced by one batch object and a manifest naming it, consistently, so
 * only the record hashes and signed checkpoints can tell.
 */
function objectTamperer(prefix: string): AuditSinkHarness['tamper'] {
  const tenantRoot = (tenantId: string) => `${prefix}/tenant=${tenantId}/`;
  return {
    async rewriteRecords(tenantId, edit) {
      const root = tenantRoot(tenantId);
      const current: RawAuditValue[] = [];
      for (const pageKey of await keys(`${root}manifest/`)) {
        const page = JSON.parse(await text(pageKey)) as { batches: { key: string }[] };
        for (const batch of page.batches) {
          for (const line of (await text(batch.key)).split('\n')) if (line !== '') current.push(JSON.parse(line) as RawAuditValue);
        }
      }
      const edited = edit(current);
      await removeAll(`${root}manifest/`);
      await removeAll(`${root}batches/`);
      const body = edited.map((value) => `${JSON.stringify(value)}\n`).join('');
      const batchKey = `${root}batches/tampered.jsonl`;
      await put(batchKey, body);
      const last = (edited.at(-1) ?? {}) as RawAuditValue;
      const first = (edited[0] ?? {}) as RawAuditValue;
      const manifest = {
        format: 'beddel-audit-s3-manifest',
        version: 1,
        tenantId,
        page: 0,
        batches: [{ key: batchKey, firstSequence: first.sequence, lastSequence: last.sequence, lastRecordHash: last.recordHash, sha256: '', etag: null, versionId: null }],
      };
      await put(`${root}manifest/0000000000.json`, JSON.stringify(manifest));
    },
    async rewriteCheckpoints(tenantId, edit) {
      const root = `${tenantRoot(tenantId)}checkpoints/`;
      const current: RawAuditValue[] = [];
      for (const key of await keys(root)) current.push(JSON.parse(await text(key)) as RawAuditValue);
      const edited = edit(current);
      await removeAll(root);
      for (const [position, value] of edited.entries()) {
        const treeSize = String((value as RawAuditValue).treeSize).padStart(16, '0');
        await put(`${root}${treeSize}-${String(position).padStart(6, '0')}.json`, JSON.stringify(value));
      }
    },
  };
}

auditSinkContractTests(
  's3AuditSink (s3rver)',
  () => {
    const prefix = `contract-${randomBytes(6).toString('hex')}`;
    const open = () => s3AuditSink({ client: server.client(), bucket: TEST_BUCKET, prefix });
    return Promise.resolve({
      sink: open(),
      openAnother: () => Promise.resolve(open()),
      tamper: objectTamperer(prefix),
      cleanup: () => removeAll(`${prefix}/`),
    });
  },
  { appendsPerTenant: 100 },
);
