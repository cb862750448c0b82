import { spawn } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { generateAuditKeyPair, privateKeyToPem, verifyLog } from '@beddel/audit';
import { fileAuditSink } from './file-audit-sink.js';

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = dirname(here);

/**
 * The child runs plain Node, so compile the sink and the child script to JavaScript under this
 * package's node_modules (where `@beddel/*` imports resolve), type-stripping only.
 */
async function compileChild(): Promise<string> {
  const out = join(packageRoot, 'node_modules', '.cache', 'beddel-crash-child');
  for (const file of ['file-audit-sink.ts', 'tenant-directory-name.ts', 'test-support/crash-child.ts']) {
    const source = await readFile(join(here, file), 'utf8');
    const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    const target = join(out, file.replace(/\.ts$/, '.js'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, outputText);
  }
  await writeFile(join(out, 'package.json'), '{ "type": "module" }\n');
  return join(out, 'test-support', 'crash-child.js');
}

describe('fileAuditSink under SIGKILL', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('keeps every acknowledged record of a writer killed mid-write; the log verifies after repair', { timeout: 60_000 }, async () => {
    const child = await compileChild();
    const dir = await mkdtemp(join(tmpdir(), 'beddel-audit-crash-'));
    dirs.push(dir);
    const keys = generateAuditKeyPair();
    const proc = spawn(process.execPath, [child, dir, Buffer.from(privateKeyToPem(keys.privateKey)).toString('base64')], {
      cwd: packageRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acknowledged: number[] = [];
    let stderr = '';
    let pending = '';
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const killed = new Promise<void>((resolve, reject) => {
      proc.on('error', reject);
      proc.on('exit', () => resolve());
      proc.stdout.on('data', (chunk: Buffer) => {
        const lines = (pending + chunk.toString()).split('\n');
        pending = lines.pop()!;
        for (const line of lines) acknowledged.push(Number(line));
        // Kill at an arbitrary point while 32 appenders keep the writer busy.
        if (acknowledged.length >= 3000 && proc.exitCode === null && !proc.killed) proc.kill('SIGKILL');
      });
    });
    await killed;
    expect(stderr).toBe('');
    expect(proc.signalCode).toBe('SIGKILL');
    expect(acknowledged.length).toBeGreaterThanOrEqual(3000);

    // A crash can also leave half a line on disk (power loss mid-write); add one to the active segment.
    const tenantDir = join(dir, 't-acme');
    const segments = (await readdir(tenantDir)).filter((name) => name.startsWith('segment-')).sort();
    expect(segments.length).toBeGreaterThan(1);
    await appendFile(join(tenantDir, segments.at(-1)!), '{"errorCode":null,"executionId":"exec-acme-torn","inpu');

    // Reopen as the next writer: the dead process's lock is stale, the torn tail is cut off.
    const sink = fileAuditSink({ dir, maxSegmentBytes: 256 * 1024 });
    const head = await sink.head('acme');
    const stored: number[] = [];
    for await (const record of sink.read('acme')) stored.push(record.sequence);
    expect(stored).toEqual(Array.from({ length: head!.sequence + 1 }, (_, n) => n));
    const present = new Set(stored);
    expect(acknowledged.filter((sequence) => !present.has(sequence))).toEqual([]);
    const report = await verifyLog(sink, keys.publicKey);
    expect(report.tenants[0]!.problems).toEqual([]);
    expect(report.tenants[0]!.verifiedTreeSize).toBeGreaterThan(0);
    await sink.close();
  });
});
