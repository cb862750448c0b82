import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditSinkHarness, RawAuditValue } from '@beddel/testing';
import { fileAuditSink } from '../file-audit-sink.js';
import type { FileAuditSinkOptions } from '../file-audit-sink.js';
import { tenantDirectoryName } from '../tenant-directory-name.js';

function jsonLines(text: string): RawAuditValue[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as RawAuditValue);
}

/** A contract-suite harness over a fresh temp directory; tampering edits the files directly. */
export async function fileHarness(options: Omit<FileAuditSinkOptions, 'dir'> = {}): Promise<AuditSinkHarness & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'beddel-audit-file-'));
  const tenantDir = (tenantId: string): string => join(dir, tenantDirectoryName(tenantId));
  return {
    dir,
    sink: fileAuditSink({ dir, ...options }),
    openAnother: () => Promise.resolve(fileAuditSink({ dir, ...options })),
    tamper: {
      async rewriteRecords(tenantId, edit) {
        const segments = (await readdir(tenantDir(tenantId))).filter((name) => name.startsWith('segment-')).sort();
        const records: RawAuditValue[] = [];
        for (const name of segments) records.push(...jsonLines(await readFile(join(tenantDir(tenantId), name), 'utf8')));
        for (const name of segments) await rm(join(tenantDir(tenantId), name));
        const edited = edit(records);
        await writeFile(join(tenantDir(tenantId), 'segment-000001.jsonl'), edited.map((record) => `${JSON.stringify(record)}\n`).join(''));
      },
      async rewriteCheckpoints(tenantId, edit) {
        const path = join(tenantDir(tenantId), 'checkpoints.jsonl');
        const edited = edit(jsonLines(await readFile(path, 'utf8').catch(() => '')));
        await writeFile(path, edited.map((checkpoint) => `${JSON.stringify(checkpoint)}\n`).join(''));
      },
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
