// Appends per second through AuditTrail (group commit) + s3AuditSink against s3rver started in
// this process (a local stand-in: real S3 latency is higher per request, so measure there too).
// Run after `pnpm build`: node scripts/append-rate.mjs [appends] [callers]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { AuditTrail, generateAuditKeyPair, verifyLog } from '@beddel/audit';
import { s3AuditSink } from '@beddel/audit-s3';

const appends = Number(process.argv[2] ?? 5000);
const callers = Number(process.argv[3] ?? 200);

function entry(tenantId, n) {
  return {
    tenantId,
    executionId: `exec-${n}`,
    timestamp: new Date().toISOString(),
    transformation: { name: 'pricing', version: '1.0.0', sourceSha256: 'a'.repeat(64) },
    input: { order: n },
    output: { total: n * 2 },
    profileId: 'default',
    status: 'ok',
    errorCode: null,
    metrics: { durationMs: 1.25, cpuMs: 0.5, heapBytes: 4096 },
  };
}

const directory = await mkdtemp(join(tmpdir(), 'beddel-s3rver-rate-'));
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: 'audit' }] });
const { port } = await server.run();
const client = () =>
  new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });

async function run(label, tenants, prefix) {
  const keys = generateAuditKeyPair();
  const trail = new AuditTrail({ sink: s3AuditSink({ client: client(), bucket: 'audit', prefix }), signingKey: keys.privateKey, checkpoints: { everyRecords: 0, everyMs: 0 } });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < appends) {
        const n = next++;
        await trail.append(entry(tenants[n % tenants.length], n));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await trail.close();
  const report = await verifyLog(s3AuditSink({ client: client(), bucket: 'audit', prefix }), keys.publicKey);
  console.log(`${label}: ${appends} appends, ${callers} callers, ${tenants.length} tenant(s): ${seconds.toFixed(2)} s, ${Math.round(appends / seconds)} appends/s, verify ${report.ok ? 'ok' : 'FAILED'}`);
}

try {
  await run('s3rver one tenant', ['acme'], 'rate-one');
  await run('s3rver 10 tenants', Array.from({ length: 10 }, (_, i) => `t${i}`), 'rate-ten');
} finally {
  await server.close();
  await rm(directory, { recursive: true, force: true });
}
