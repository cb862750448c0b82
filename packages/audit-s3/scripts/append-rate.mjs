// Appends per second through AuditTrail (group commit) + s3AuditSink against s3rver started in
// this process (a local stand-in: real S3 latency is higher per request, so measure there too).
// Run after `pnpm build`: node scripts/append-rate.mjs [appends] [callers]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { s3AuditSink } from '@beddel/audit-s3';
import { measureAppendRate } from '@beddel/testing/append-rate';

const appends = Number(process.argv[2] ?? 5000);
const callers = Number(process.argv[3] ?? 200);

const directory = await mkdtemp(join(tmpdir(), 'beddel-s3rver-rate-'));
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: 'audit' }] });
const { port } = await server.run();
const client = () =>
  new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
const opener = (prefix) => () => s3AuditSink({ client: client(), bucket: 'audit', prefix });

try {
  await measureAppendRate({ label: 's3rver one tenant', tenants: ['acme'], appends, callers, openSink: opener('rate-one'), openReader: opener('rate-one') });
  await measureAppendRate({ label: 's3rver 10 tenants', tenants: Array.from({ length: 10 }, (_, i) => `t${i}`), appends, callers, openSink: opener('rate-ten'), openReader: opener('rate-ten') });
} finally {
  await server.close();
  await rm(directory, { recursive: true, force: true });
}
