import { describe, expect, it } from 'vitest';
import { isBeddelError } from '@beddel/contracts';
import { AuditTrail } from './audit-trail.js';
import { exportAuditRecords } from './audit-export.js';
import type { AuditExportFormat } from './audit-export-format.js';
import { MemoryAuditSink } from './memory-audit-sink.js';
import { generateAuditKeyPair, publicKeyToPem } from './signing-keys.js';
import { signCheckpoint } from './signed-checkpoint.js';
import { verifyExport } from './verify-export.js';
import type { AuditExportProblemCode } from './verify-export.js';
import { entry } from './test-support/entries.js';

const keys = generateAuditKeyPair();
const otherKeys = generateAuditKeyPair();

/** 30 records, one per hour from 2025-01-01T00:00Z; every 5th failed with a limit code. */
async function populatedSink(extra: { name?: string; afterCheckpoint?: number } = {}): Promise<MemoryAuditSink> {
  const sink = new MemoryAuditSink();
  const trail = new AuditTrail({ sink, signingKey: keys.privateKey, checkpoints: { everyMs: 0, everyRecords: 0, onClose: false }, closeSink: false });
  for (let n = 0; n < 30; n += 1) {
    await trail.append(
      entry('acme', n, {
        timestamp: new Date(Date.UTC(2025, 0, 1, n)).toISOString(),
        ...(extra.name === undefined ? {} : { transformation: { name: extra.name, version: '1.0.0', sourceSha256: 'b'.repeat(64) } }),
        ...(n % 5 === 4 ? { status: 'error' as const, errorCode: 'BEDDEL_TIMEOUT' as const, output: undefined } : {}),
      }),
    );
  }
  await trail.checkpoint('acme');
  for (let n = 30; n < 30 + (extra.afterCheckpoint ?? 0); n += 1) {
    await trail.append(entry('acme', n, { timestamp: new Date(Date.UTC(2025, 0, 1, 6)).toISOString() }));
  }
  await trail.close();
  return sink;
}

/** A parsed JSONL line, typed loosely enough for tests to play the attacker. */
interface Line {
  type: string;
  rootHash: string;
  keyId: string;
  verifierKey: string;
  record: { sequence: number; profileId: string; recordHash: string; metrics: { durationMs: number } };
  inclusionProof: { leafIndex: number; treeSize: number; auditPath: string[] };
  checkpoint: { note: string; rootHash: string; treeSize: number };
}

function parseLines(text: string): Line[] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Line);
}

async function collect(iterable: AsyncIterable<string>): Promise<string> {
  let text = '';
  for await (const chunk of iterable) text += chunk;
  return text;
}

async function exportText(sink: MemoryAuditSink, format: AuditExportFormat, range: { from?: string; to?: string } = {}): Promise<string> {
  return collect(exportAuditRecords(sink, { tenantId: 'acme', format, publicKey: keys.publicKey, now: () => new Date('2025-02-01T00:00:00Z'), ...range }));
}

function codes(problems: readonly { code: AuditExportProblemCode }[]): AuditExportProblemCode[] {
  return [...new Set(problems.map((problem) => problem.code))];
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('exportAuditRecords (JSONL)', () => {
  it('writes header, one { record, inclusionProof } line per record in [from, to), and the checkpoint last', async () => {
    const sink = await populatedSink({ afterCheckpoint: 2 });
    const text = await exportText(sink, 'jsonl', { from: '2025-01-01T05:00:00Z', to: '2025-01-01T10:00:00Z' });
    const lines = parseLines(text);
    expect(lines).toHaveLength(1 + 5 + 1);
    const [header, ...rest] = lines as [Line, ...Line[]];
    const checkpointLine = rest.pop()!;
    expect(header).toMatchObject({
      type: 'header',
      export: 'beddel-audit-export',
      version: 1,
      format: 'jsonl',
      tenantId: 'acme',
      from: '2025-01-01T05:00:00.000Z',
      to: '2025-01-01T10:00:00.000Z',
      generatedAt: '2025-02-01T00:00:00.000Z',
      treeSize: 30,
      records: 5,
      firstSequence: 5,
      lastSequence: 9,
      recordsAfterCheckpoint: 2,
      keyName: 'beddel-audit',
      origin: 'beddel-audit/acme',
      publicKeyPem: publicKeyToPem(keys.publicKey),
    });
    expect(header.keyId).toMatch(/^[0-9a-f]{8}$/);
    expect(header.verifierKey).toMatch(/^beddel-audit\+[0-9a-f]{8}\+/);
    expect(rest.map((line) => line.record.sequence)).toEqual([5, 6, 7, 8, 9]);
    expect(rest[0]!.inclusionProof).toMatchObject({ leafIndex: 5, treeSize: 30 });
    expect(rest[0]!.inclusionProof.auditPath).toHaveLength(5);
    expect(checkpointLine.type).toBe('checkpoint');
    expect(checkpointLine.checkpoint.treeSize).toBe(30);
    expect(checkpointLine.checkpoint.rootHash).toBe(header.rootHash);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('verifies on its own with only the public key (PEM or KeyObject), in any chunking', async () => {
    const sink = await populatedSink();
    const text = await exportText(sink, 'jsonl');
    const result = await verifyExport(text, publicKeyToPem(keys.publicKey), { format: 'jsonl' });
    expect(result).toMatchObject({ ok: true, tenantId: 'acme', records: 30, treeSize: 30, problems: [] });
    const chunks = text.match(/[\s\S]{1,7}/g)!;
    expect((await verifyExport(chunks, keys.publicKey, { format: 'jsonl' })).ok).toBe(true);
    const stream = exportAuditRecords(sink, { tenantId: 'acme', format: 'jsonl' });
    expect((await verifyExport(stream, keys.publicKey, { format: 'jsonl' })).ok).toBe(true);
  });

  it('exports an empty range as a valid export of 0 records', async () => {
    const sink = await populatedSink();
    const text = await exportText(sink, 'jsonl', { from: '2030-01-01' });
    expect(text.trimEnd().split('\n')).toHaveLength(2);
    expect(await verifyExport(text, keys.publicKey, { format: 'jsonl' })).toMatchObject({ ok: true, records: 0 });
  });

  describe('tampering is detected and named', () => {
    const tamper = async (edit: (lines: Line[]) => void): Promise<{ code: AuditExportProblemCode; sequence?: number }[]> => {
      const sink = await populatedSink();
      const lines = parseLines(await exportText(sink, 'jsonl'));
      edit(lines);
      const result = await verifyExport(lines.map((line) => `${JSON.stringify(line)}\n`), keys.publicKey, { format: 'jsonl' });
      expect(result.ok).toBe(false);
      return result.problems.map(({ code, sequence }) => (sequence === undefined ? { code } : { code, sequence }));
    };

    it('a modified record', async () => {
      const problems = await tamper((lines) => {
        lines[4]!.record.metrics.durationMs = 0.1;
      });
      expect(problems).toEqual([{ code: 'record-hash-mismatch', sequence: 3 }]);
    });

    it('a modified record with a recomputed hash (breaks the chain and its proof)', async () => {
      const { computeRecordHash } = await import('./audit-record.js');
      const problems = await tamper((lines) => {
        const record = lines[4]!.record;
        record.profileId = 'admin';
        record.recordHash = computeRecordHash(record);
      });
      expect(problems).toEqual(
        expect.arrayContaining([
          { code: 'chain-broken', sequence: 4 },
          { code: 'proof-invalid', sequence: 3 },
        ]),
      );
    });

    it('a modified inclusion proof', async () => {
      const problems = await tamper((lines) => {
        lines[8]!.inclusionProof.auditPath[2] = 'f'.repeat(64);
      });
      expect(problems).toEqual([{ code: 'proof-invalid', sequence: 7 }]);
    });

    it('a changed root in the signed checkpoint', async () => {
      const problems = await tamper((lines) => {
        const checkpoint = lines.at(-1)!.checkpoint;
        const [origin, size, , ...rest] = checkpoint.note.split('\n');
        checkpoint.note = [origin, size, Buffer.alloc(32, 7).toString('base64'), ...rest].join('\n');
      });
      expect(codes(problems as { code: AuditExportProblemCode }[])).toEqual(['checkpoint-bad-signature', 'proof-invalid']);
    });

    it('a checkpoint re-signed with another key', async () => {
      const problems = await tamper((lines) => {
        const checkpoint = lines.at(-1)!.checkpoint;
        checkpoint.note = signCheckpoint({ origin: 'beddel-audit/acme', treeSize: 30, rootHash: Buffer.from(checkpoint.rootHash, 'hex') }, otherKeys.privateKey);
      });
      expect(codes(problems as { code: AuditExportProblemCode }[])).toEqual(['checkpoint-bad-signature', 'proof-invalid']);
    });

    it('a modified signature', async () => {
      const problems = await tamper((lines) => {
        const checkpoint = lines.at(-1)!.checkpoint;
        const note = checkpoint.note;
        const at = note.length - 10;
        checkpoint.note = `${note.slice(0, at)}${note[at] === 'A' ? 'B' : 'A'}${note.slice(at + 1)}`;
      });
      expect(codes(problems as { code: AuditExportProblemCode }[])).toContain('checkpoint-bad-signature');
    });

    it('the header root, a removed line, a missing checkpoint', async () => {
      expect(
        await tamper((lines) => {
          lines[0]!.rootHash = '0'.repeat(64);
        }),
      ).toEqual([{ code: 'header-mismatch' }]);
      expect(
        await tamper((lines) => {
          lines.splice(3, 1);
        }),
      ).toEqual([{ code: 'header-mismatch' }]);
      expect(
        codes(
          (await tamper((lines) => {
            lines.pop();
          })) as { code: AuditExportProblemCode }[],
        ),
      ).toEqual(['checkpoint-missing', 'proof-invalid']);
    });

    it('a reordered pair of lines', async () => {
      const problems = await tamper((lines) => {
        [lines[3], lines[4]] = [lines[4]!, lines[3]!];
      });
      expect(problems).toContainEqual({ code: 'sequence-not-increasing', sequence: 2 });
    });
  });

  it('refuses a log whose checkpoint does not verify with the given key, a log without checkpoint, and bad options', async () => {
    const sink = await populatedSink();
    const wrongKey = await rejection(collect(exportAuditRecords(sink, { tenantId: 'acme', format: 'jsonl', publicKey: otherKeys.publicKey })));
    expect(isBeddelError(wrongKey) && wrongKey.code).toBe('BEDDEL_AUDIT_CORRUPT');
    const none = await rejection(collect(exportAuditRecords(new MemoryAuditSink(), { tenantId: 'acme', format: 'jsonl' })));
    expect(isBeddelError(none) && none.code).toBe('BEDDEL_AUDIT_UNAVAILABLE');
    const badDate = await rejection(collect(exportAuditRecords(sink, { tenantId: 'acme', format: 'jsonl', from: 'yesterday-ish' })));
    expect(isBeddelError(badDate) && badDate.code).toBe('BEDDEL_CONFIGURATION');
    const badTenant = await rejection(collect(exportAuditRecords(sink, { tenantId: '../x', format: 'jsonl' })));
    expect(isBeddelError(badTenant) && badTenant.code).toBe('BEDDEL_INVALID_TENANT');
  });

  it('refuses to export a store whose records no longer match the signed checkpoint', async () => {
    const sink = await populatedSink();
    const records = sink.store.rawRecords('acme') as { profileId: string }[];
    records[2]!.profileId = 'admin';
    sink.store.replaceRawRecords('acme', records);
    const error = await rejection(collect(exportAuditRecords(sink, { tenantId: 'acme', format: 'csv' })));
    expect(isBeddelError(error) && error.code).toBe('BEDDEL_AUDIT_CORRUPT');
  });
});

describe('exportAuditRecords (CSV)', () => {
  it('writes a # header, the column row, one row per record, and a # checkpoint line; verifies', async () => {
    const sink = await populatedSink({ name: '=HYPERLINK("http://x", "a,b")\n\'quoted\'' });
    const text = await exportText(sink, 'csv', { to: '2025-01-01T10:00:00Z' });
    const lines = text.split('\n');
    expect(lines[0]!.startsWith('# {"columns":["sequence",')).toBe(true);
    expect(lines[1]).toBe(
      'sequence,version,tenantId,executionId,timestamp,transformationName,transformationVersion,transformationSourceSha256,inputSha256,outputSha256,profileId,status,errorCode,durationMs,cpuMs,heapBytes,prevHash,recordHash,leafIndex,inclusionProof',
    );
    // The formula is neutralised with a leading quote, then the cell is RFC 4180 quoted.
    expect(lines[2]).toMatch(/^0,1,acme,exec-acme-0,2025-01-01T00:00:00.000Z,"'=HYPERLINK\(""http:\/\/x"", ""a,b""\)$/);
    expect(text).toContain(',error,BEDDEL_TIMEOUT,1.5,1,2048,');
    expect(text.trimEnd().split('\n').at(-1)!.startsWith('# {"checkpoint":')).toBe(true);
    const result = await verifyExport(text, keys.publicKey, { format: 'csv' });
    expect(result).toMatchObject({ ok: true, records: 10, treeSize: 30, problems: [] });
    const chunks = text.match(/[\s\S]{1,5}/g)!;
    expect((await verifyExport(chunks, keys.publicKey, { format: 'csv' })).ok).toBe(true);
  });

  it('names a tampered cell, proof, checkpoint root and signature', async () => {
    const sink = await populatedSink();
    const text = await exportText(sink, 'csv');
    const verify = async (edited: string): Promise<AuditExportProblemCode[]> => codes((await verifyExport(edited, keys.publicKey, { format: 'csv' })).problems);
    const rows = text.split('\n');
    const row3 = rows[5]!; // sequence 3
    expect(row3.startsWith('3,')).toBe(true);

    expect(await verify(text.replace(row3, row3.replace(',1.5,', ',1.25,')))).toEqual(['record-hash-mismatch']);
    const proof = row3.split(',').at(-1)!;
    const badProof = proof.replace(/^[0-9a-f]/, (c) => (c === '0' ? '1' : '0'));
    expect(await verify(text.replace(row3, row3.replace(proof, badProof)))).toEqual(['proof-invalid']);
    const result = await verifyExport(text.replace(row3, row3.replace(proof, badProof)), keys.publicKey, { format: 'csv' });
    expect(result.problems[0]!.sequence).toBe(3);

    const checkpointLine = rows.at(-2)!;
    const line = JSON.parse(checkpointLine.slice(2)) as Line;
    const note = line.checkpoint.note;
    const lines = note.split('\n');
    lines[2] = Buffer.alloc(32, 1).toString('base64');
    const rootChanged = `# ${JSON.stringify({ ...line, checkpoint: { ...line.checkpoint, note: lines.join('\n') } })}`;
    expect(await verify(text.replace(checkpointLine, rootChanged))).toEqual(['checkpoint-bad-signature', 'proof-invalid']);
    const sigLine = lines.length - 2;
    const original = note.split('\n');
    original[sigLine] = original[sigLine]!.replace(/.{4}$/, 'AAA=');
    const sigChanged = `# ${JSON.stringify({ ...line, checkpoint: { ...line.checkpoint, note: original.join('\n') } })}`;
    expect(await verify(text.replace(checkpointLine, sigChanged))).toContain('checkpoint-bad-signature');
    const storedRootChanged = `# ${JSON.stringify({ ...line, checkpoint: { ...line.checkpoint, rootHash: 'e'.repeat(64) } })}`;
    expect(await verify(text.replace(checkpointLine, storedRootChanged))).toEqual(['checkpoint-malformed']);
    expect((await verifyExport(text, otherKeys.publicKey, { format: 'csv' })).problems.map((p) => p.code)).toContain('checkpoint-bad-signature');
  });
});
