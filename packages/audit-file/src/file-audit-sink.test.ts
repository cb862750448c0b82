import { appendFile, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditTrail, generateAuditKeyPair, sealRecords, unsealedRecordFromEntry, verifyLog } from '@beddel/audit';
import { auditEntry } from '@beddel/testing';
import type { AuditSinkHarness } from '@beddel/testing';
import { fileAuditSink } from './file-audit-sink.js';
import type { FileAuditSink } from './file-audit-sink.js';
import { fileHarness } from './test-support/file-harness.js';

const keys = generateAuditKeyPair();
const cleanups: (() => Promise<void>)[] = [];
const sinks: FileAuditSink[] = [];

async function harness(options: { maxSegmentBytes?: number } = {}): Promise<AuditSinkHarness & { dir: string }> {
  const h = await fileHarness(options);
  cleanups.push(() => h.cleanup());
  return h;
}

function open(dir: string, options: { maxSegmentBytes?: number; readOnly?: boolean } = {}): FileAuditSink {
  const sink = fileAuditSink({ dir, ...options });
  sinks.push(sink);
  return sink;
}

async function append(sink: FileAuditSink, tenantId: string, from: number, count: number) {
  return sink.appendBatch(tenantId, (head) => sealRecords(head, Array.from({ length: count }, (_, i) => unsealedRecordFromEntry(auditEntry(tenantId, from + i)))));
}

afterEach(async () => {
  await Promise.allSettled(sinks.splice(0).map((sink) => sink.close()));
  await Promise.allSettled(cleanups.splice(0).map((cleanup) => cleanup()));
});

describe('fileAuditSink layout', () => {
  it('writes one canonical JSON record per line under <dir>/<tenant dir>/segment-000001.jsonl', async () => {
    const { dir } = await harness();
    const sink = open(dir);
    const sealed = await append(sink, 'Acme.eu', 0, 2);
    expect((await readdir(dir)).sort()).toEqual(['beddel-audit.json', 't-_41cme_2eeu', 'writer.lock']);
    const tenantDir = join(dir, 't-_41cme_2eeu');
    expect((await readdir(tenantDir)).sort()).toEqual(['segment-000001.jsonl', 'tenant.json']);
    expect(JSON.parse(await readFile(join(tenantDir, 'tenant.json'), 'utf8'))).toEqual({ tenantId: 'Acme.eu' });
    const lines = (await readFile(join(tenantDir, 'segment-000001.jsonl'), 'utf8')).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(JSON.parse(lines[1]!)).toEqual(sealed[1]);
    expect(lines[0]!.startsWith('{"errorCode":null,"executionId":')).toBe(true);
    await sink.close();
    expect(await readdir(dir)).not.toContain('writer.lock');
  });

  it('rolls over to a new segment by size and reads ranges across segments', async () => {
    const { dir } = await harness();
    const sink = open(dir, { maxSegmentBytes: 4096 });
    for (let n = 0; n < 30; n += 3) await append(sink, 'acme', n, 3);
    const segments = (await readdir(join(dir, 't-acme'))).filter((name) => name.startsWith('segment-')).sort();
    expect(segments.length).toBeGreaterThan(4);
    for (const name of segments) expect((await stat(join(dir, 't-acme', name))).size).toBeLessThanOrEqual(4096);
    const read = async (fromSequence?: number, toSequence?: number) => {
      const sequences: number[] = [];
      for await (const record of sink.read('acme', { fromSequence, toSequence })) sequences.push(record.sequence);
      return sequences;
    };
    expect(await read(13, 17)).toEqual([13, 14, 15, 16, 17]);
    expect(await read(28)).toEqual([28, 29]);
    expect(await read()).toHaveLength(30);
    await sink.close();
    const reopened = open(dir, { maxSegmentBytes: 4096 });
    expect(await reopened.head('acme')).toMatchObject({ sequence: 29 });
    expect((await append(reopened, 'acme', 30, 1))[0]!.sequence).toBe(30);
  });
});

describe('fileAuditSink recovery', () => {
  it('truncates a torn last line on open and continues the chain from the last complete record', async () => {
    const { dir } = await harness();
    const trail = new AuditTrail({ sink: open(dir), signingKey: keys.privateKey, checkpoints: { everyMs: 0, everyRecords: 0 } });
    for (let n = 0; n < 5; n += 1) await trail.append(auditEntry('acme', n));
    await trail.close();
    const segment = join(dir, 't-acme', 'segment-000001.jsonl');
    const intact = await readFile(segment);
    await appendFile(segment, '{"errorCode":null,"executionId":"torn-by-a-cr');
    await appendFile(join(dir, 't-acme', 'checkpoints.jsonl'), '{"createdAt":"20');

    const reopened = open(dir);
    expect(await reopened.head('acme')).toMatchObject({ sequence: 4 });
    expect((await readFile(segment)).equals(intact)).toBe(true);
    expect(await reopened.listCheckpoints('acme')).toHaveLength(1);
    const next = new AuditTrail({ sink: reopened, signingKey: keys.privateKey, checkpoints: { everyMs: 0, everyRecords: 0 } });
    expect((await next.append(auditEntry('acme', 5))).sequence).toBe(5);
    await next.close();
    const report = await verifyLog(open(dir, { readOnly: true }), keys.publicKey, { requireCheckpointed: true });
    expect(report.ok).toBe(true);
  });

  it('reports a corrupt line in the middle instead of skipping it', async () => {
    const { dir } = await harness();
    const sink = open(dir);
    await append(sink, 'acme', 0, 3);
    await sink.close();
    const segment = join(dir, 't-acme', 'segment-000001.jsonl');
    const lines = (await readFile(segment, 'utf8')).split('\n');
    lines[1] = '{not json';
    await writeFile(segment, lines.join('\n'));
    const report = await verifyLog(open(dir, { readOnly: true }), keys.publicKey);
    expect(report.tenants[0]!.problems[0]).toMatchObject({ code: 'record-unreadable', sequence: 1 });
  });
});

describe('fileAuditSink locking', () => {
  it('refuses a second writer on a live lock and names the holder', async () => {
    const { dir } = await harness();
    const first = open(dir);
    await append(first, 'acme', 0, 1);
    const error = await append(open(dir), 'acme', 1, 1).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BEDDEL_AUDIT_LOCKED', message: expect.stringContaining(`process ${process.pid}`) });
  });

  it('breaks the lock of a dead writer on the same host', async () => {
    const { dir } = await harness();
    const first = open(dir);
    await append(first, 'acme', 0, 1);
    const lock = JSON.parse(await readFile(join(dir, 'writer.lock'), 'utf8')) as Record<string, unknown>;
    await first.close();
    // Leave the lock of a process that has died (4194305 is above Linux's largest pid).
    await writeFile(join(dir, 'writer.lock'), JSON.stringify({ ...lock, pid: 4_194_305, token: 'dead' }));
    const sink = open(dir);
    expect((await append(sink, 'acme', 1, 1))[0]!.sequence).toBe(1);
    expect((await readdir(dir)).some((name) => name.startsWith('writer.lock.stale-4194305-'))).toBe(true);
  });

  it('refuses a lock held on another host (liveness unknowable)', async () => {
    const { dir } = await harness();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'writer.lock'), JSON.stringify({ pid: 1, hostname: 'elsewhere', token: 'x', since: '2025-01-01T00:00:00Z' }));
    await expect(append(open(dir), 'acme', 0, 1)).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_LOCKED', message: expect.stringContaining('on elsewhere') });
  });

  it('lets read-only sinks read while the writer appends, without taking the lock', async () => {
    const { dir } = await harness();
    const writer = open(dir);
    await append(writer, 'acme', 0, 4);
    const reader = open(dir, { readOnly: true });
    expect(await reader.head('acme')).toMatchObject({ sequence: 3 });
    await append(writer, 'acme', 4, 2);
    const sequences: number[] = [];
    for await (const record of reader.read('acme')) sequences.push(record.sequence);
    expect(sequences).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await reader.tenants()).toEqual(['acme']);
    await expect(append(reader, 'acme', 6, 1)).rejects.toMatchObject({ code: 'BEDDEL_AUDIT_UNAVAILABLE' });
  });
});
