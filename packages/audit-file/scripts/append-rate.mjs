// Appends per second through AuditTrail (group commit) + fileAuditSink on a temporary directory,
// and the same with group commit off (maxBatchSize 1: one write + fdatasync per record).
// Run after `pnpm build`: node scripts/append-rate.mjs [appends] [callers]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditTrail, generateAuditKeyPair, verifyLog } from '@beddel/audit';
import { fileAuditSink } from '@beddel/audit-file';

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

async function run(label, tenants, count, maxBatchSize) {
  const dir = await mkdtemp(join(tmpdir(), 'beddel-append-rate-'));
  try {
    const keys = generateAuditKeyPair();
    const trail = new AuditTrail({ sink: fileAuditSink({ dir }), signingKey: keys.privateKey, maxBatchSize, checkpoints: { everyRecords: 0, everyMs: 0 } });
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (next < count) {
          const n = next++;
          await trail.append(entry(tenants[n % tenants.length], n));
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    await trail.close();
    const reader = fileAuditSink({ dir, readOnly: true });
    const report = await verifyLog(reader, keys.publicKey, { tenants });
    await reader.close();
    console.log(`${label}: ${count} appends, ${callers} callers, ${tenants.length} tenant(s): ${seconds.toFixed(2)} s, ${Math.round(count / seconds)} appends/s, verify ${report.ok ? 'ok' : 'FAILED'}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await run('file, group commit, one tenant', ['one'], appends, 512);
await run('file, group commit, 10 tenants', Array.from({ length: 10 }, (_, i) => `t${i}`), appends, 512);
await run('file, no group commit (one fdatasync per record), one tenant', ['one'], Math.min(appends, 1000), 1);
