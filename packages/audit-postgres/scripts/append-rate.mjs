// Appends per second through AuditTrail (group commit) + postgresAuditSink against the local
// PostgreSQL. Run after `pnpm build`: node scripts/append-rate.mjs [appends] [callers]
// Uses PGHOST/PGPORT/PGUSER/PGDATABASE (defaults 127.0.0.1/5432/postgres/test) and a throwaway schema.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { AuditTrail, generateAuditKeyPair, verifyLog } from '@beddel/audit';
import { postgresAuditSink } from '@beddel/audit-postgres';

const appends = Number(process.argv[2] ?? 5000);
const callers = Number(process.argv[3] ?? 200);
const host = process.env.PGHOST ?? '127.0.0.1';
const port = process.env.PGPORT ?? '5432';
const user = process.env.PGUSER ?? 'postgres';
const database = process.env.PGDATABASE ?? 'test';
const connectionString = `postgres://${encodeURIComponent(user)}@${host}:${port}/${encodeURIComponent(database)}`;
const schema = `beddel_audit_rate_${randomBytes(4).toString('hex')}`;

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

async function run(label, tenants) {
  const keys = generateAuditKeyPair();
  const sink = postgresAuditSink({ pool: connectionString, schema });
  await sink.migrate();
  const trail = new AuditTrail({ sink, signingKey: keys.privateKey, checkpoints: { everyRecords: 0, everyMs: 0 } });
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
  const reader = postgresAuditSink({ pool: connectionString, schema });
  const report = await verifyLog(reader, keys.publicKey, { tenants });
  await reader.close();
  console.log(`${label}: ${appends} appends, ${callers} callers, ${tenants.length} tenant(s): ${seconds.toFixed(2)} s, ${Math.round(appends / seconds)} appends/s, verify ${report.ok ? 'ok' : 'FAILED'}`);
}

try {
  await run('postgres one tenant', [`one-${randomBytes(3).toString('hex')}`]);
  await run('postgres 10 tenants', Array.from({ length: 10 }, (_, i) => `t${i}-${randomBytes(3).toString('hex')}`));
} finally {
  const admin = new pg.Client({ connectionString });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
}
