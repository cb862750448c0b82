import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { generateAuditKeyPair, privateKeyToPem, verifyLog } from '@beddel/audit';
import type { SealedAuditRecord } from '@beddel/contracts';
import { postgresAuditSink } from './index.js';
import { dropSchema, freshSchemaName, testConnectionString, testPool } from './test-support/postgres-test-env.js';

const WORKER = fileURLToPath(new URL('../test/append-worker.mjs', import.meta.url));
const PROCESSES = 4;
const APPENDS_PER_PROCESS = 300;

interface Receipt {
  readonly executionId: string;
  readonly sequence: number;
  readonly recordHash: string;
}

type WorkerMessage = { readonly type: 'ready' } | { readonly type: 'done'; readonly receipts: Receipt[] };

function message(child: ChildProcess, type: WorkerMessage['type']): Promise<WorkerMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (received: WorkerMessage) => {
      if (received.type !== type) return;
      child.off('message', onMessage);
      resolve(received);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before sending ${type}`)));
  });
}

describe('several engine processes appending to one tenant in PostgreSQL', () => {
  let admin: pg.Pool;
  const schema = freshSchemaName();

  beforeAll(() => {
    admin = testPool(2);
  });
  afterAll(async () => {
    await dropSchema(admin, schema);
    await admin.end();
  });

  it('forms one valid chain with no gaps and no duplicates', { timeout: 60_000 }, async () => {
    const keys = generateAuditKeyPair();
    const children = Array.from({ length: PROCESSES }, (_, worker) =>
      fork(WORKER, [], {
        env: {
          ...process.env,
          APPEND_WORKER_CONFIG: JSON.stringify({
            connectionString: testConnectionString(),
            schema,
            tenantId: 'shared-tenant',
            worker,
            appends: APPENDS_PER_PROCESS,
            concurrency: 25,
            privateKeyPem: privateKeyToPem(keys.privateKey),
          }),
        },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    const done = children.map((child) => message(child, 'done'));
    await Promise.all(children.map((child) => message(child, 'ready')));
    for (const child of children) child.send('go');
    const results = (await Promise.all(done)) as Extract<WorkerMessage, { type: 'done' }>[];

    const total = PROCESSES * APPENDS_PER_PROCESS;
    const receipts = results.flatMap((result) => result.receipts);
    expect(receipts).toHaveLength(total);
    expect(new Set(receipts.map((receipt) => receipt.sequence)).size).toBe(total);

    // The processes really wrote at the same time: their sequence ranges interleave.
    const ranges = results.map((result) => result.receipts.map((receipt) => receipt.sequence)).map((s) => [Math.min(...s), Math.max(...s)] as const);
    const interleaved = ranges.some(([lo, hi], i) => ranges.some(([otherLo], j) => i !== j && otherLo > lo && otherLo < hi));
    expect(interleaved).toBe(true);

    const reader = postgresAuditSink({ pool: testConnectionString(), schema });
    try {
      const records: SealedAuditRecord[] = [];
      for await (const record of reader.read('shared-tenant')) records.push(record);
      expect(records.map((record) => record.sequence)).toEqual(Array.from({ length: total }, (_, i) => i));
      // Every acknowledged receipt names the record stored at its sequence.
      const bySequence = new Map(records.map((record) => [record.sequence, record]));
      for (const receipt of receipts) {
        expect(bySequence.get(receipt.sequence)).toMatchObject({ executionId: receipt.executionId, recordHash: receipt.recordHash });
      }
      // Checkpoints signed by different processes are consistent with each other and the records.
      const verification = await verifyLog(reader, keys.publicKey, { requireCheckpointed: true });
      expect(verification.tenants[0]!.problems).toEqual([]);
      expect(verification.ok).toBe(true);
      expect(verification.tenants[0]!.checkpoints).toBeGreaterThan(PROCESSES);
      expect(verification.tenants[0]!.verifiedTreeSize).toBe(total);
    } finally {
      await reader.close();
    }
  });
});
