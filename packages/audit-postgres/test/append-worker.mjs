// One engine process for the multi-process test: appends through the real AuditTrail and the
// built @beddel/audit-postgres, after the parent says go, so every process writes at once.
import { createPrivateKey } from 'node:crypto';
import { AuditTrail } from '@beddel/audit';
import { postgresAuditSink } from '@beddel/audit-postgres';

const { connectionString, schema, tenantId, worker, appends, concurrency, privateKeyPem } = JSON.parse(process.env.APPEND_WORKER_CONFIG);

const trail = new AuditTrail({
  sink: postgresAuditSink({ pool: connectionString, schema }),
  signingKey: createPrivateKey(privateKeyPem),
  checkpoints: { everyRecords: 100, everyMs: 0, onClose: true },
});

function entry(n) {
  return {
    tenantId,
    executionId: `worker-${worker}-${n}`,
    timestamp: new Date().toISOString(),
    transformation: { name: 'pricing', version: '1.0.0', sourceSha256: 'a'.repeat(64) },
    input: { worker, n },
    output: { total: n },
    profileId: 'default',
    status: 'ok',
    errorCode: null,
    metrics: { durationMs: 1, cpuMs: 1, heapBytes: 1024 },
  };
}

await trail.sink.migrate();
process.send({ type: 'ready' });
await new Promise((resolve) => process.once('message', resolve));

const receipts = [];
let next = 0;
async function caller() {
  while (next < appends) {
    const n = next++;
    const receipt = await trail.append(entry(n));
    receipts.push({ executionId: `worker-${worker}-${n}`, sequence: receipt.sequence, recordHash: receipt.recordHash });
  }
}
await Promise.all(Array.from({ length: concurrency }, caller));
await trail.close();
process.send({ type: 'done', receipts }, () => process.exit(0));
