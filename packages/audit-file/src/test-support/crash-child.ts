// Child process of the crash test: appends forever through AuditTrail + the file sink and prints
// every acknowledged sequence on stdout (synchronous for pipes on Linux) until it is killed.
import { AuditTrail, loadAuditPrivateKey } from '@beddel/audit';
import { auditEntry } from '@beddel/testing';
import { fileAuditSink } from '../file-audit-sink.js';

const [dir, keyPem] = process.argv.slice(2) as [string, string];
const trail = new AuditTrail({
  sink: fileAuditSink({ dir, maxSegmentBytes: 256 * 1024 }),
  signingKey: await loadAuditPrivateKey(Buffer.from(keyPem, 'base64').toString('utf8')),
  checkpoints: { everyRecords: 100, everyMs: 0 },
});

let next = 0;
async function worker(): Promise<void> {
  for (;;) {
    const n = next++;
    const receipt = await trail.append(auditEntry('acme', n, { input: { n, padding: 'x'.repeat(n % 500) } }));
    process.stdout.write(`${receipt.sequence}\n`);
  }
}
await Promise.all(Array.from({ length: 32 }, () => worker()));
