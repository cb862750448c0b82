// Appends per second through AuditTrail (group commit) + fileAuditSink on a temporary directory,
// and the same with group commit off (maxBatchSize 1: one write + fdatasync per record).
// Run after `pnpm build`: node scripts/append-rate.mjs [appends] [callers]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileAuditSink } from '@beddel/audit-file';
import { measureAppendRate } from '@beddel/testing/append-rate';

const appends = Number(process.argv[2] ?? 5000);
const callers = Number(process.argv[3] ?? 200);

async function run(label, tenants, count, maxBatchSize) {
  const dir = await mkdtemp(join(tmpdir(), 'beddel-append-rate-'));
  try {
    await measureAppendRate({
      label, tenants, appends: count, callers, maxBatchSize,
      openSink: () => fileAuditSink({ dir }),
      openReader: () => fileAuditSink({ dir, readOnly: true }),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await run('file, group commit, one tenant', ['one'], appends, 512);
await run('file, group commit, 10 tenants', Array.from({ length: 10 }, (_, i) => `t${i}`), appends, 512);
await run('file, no group commit (one fdatasync per record), one tenant', ['one'], Math.min(appends, 1000), 1);
