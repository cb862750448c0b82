import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BeddelError, checkBatchContinuesHead, ErrorCodes, canonicalJson, KeyedMutex } from '@beddel/contracts';
import type {
  AuditChainHead,
  AuditCheckpoint,
  AuditReadRange,
  AuditSealFunction,
  AuditSink,
  AuditSinkCapabilities,
  SealedAuditRecord,
} from '@beddel/contracts';
import { assertTenantId, tenantDirectoryName } from './tenant-directory-name.js';

export interface FileAuditSinkOptions {
  /** Root directory of the log. Created if missing. */
  readonly dir: string;
  /**
   * Start a new segment when a batch would take the active one past this size. Default 64 MiB.
   * A batch is never split across segments, so one larger than this gets a segment of its own.
   */
  readonly maxSegmentBytes?: number;
  /**
   * Open for reading only (verifiers, exports): takes no lock, repairs nothing, refuses writes.
   * May run while a writer process appends; it sees complete lines only.
   */
  readonly readOnly?: boolean;
}

const FORMAT_FILE = 'beddel-audit.json';
const LOCK_FILE = 'writer.lock';
const TENANT_FILE = 'tenant.json';
const CHECKPOINT_FILE = 'checkpoints.jsonl';
const SEGMENT = /^segment-(\d{6,})\.jsonl$/;
const NEWLINE = 0x0a;

interface Segment {
  readonly index: number;
  readonly path: string;
}

interface TenantWriter {
  readonly dir: string;
  segments: Segment[];
  active: FileHandle;
  /** Bytes of the active segment that are written and fsynced: readers never go past it. */
  durableSize: number;
  head: AuditChainHead | null;
  /** Set when the head could not be determined from the stored tail. */
  headProblem: string | null;
  /** Set after a write whose outcome is unknown: no more appends until reopened. */
  poisoned: unknown;
}

function segmentName(index: number): string {
  return `segment-${String(index).padStart(6, '0')}.jsonl`;
}

function unavailable(message: string, cause?: unknown): BeddelError {
  return new BeddelError(ErrorCodes.AUDIT_UNAVAILABLE, message, cause === undefined ? {} : { cause });
}

function corrupt(message: string): BeddelError {
  return new BeddelError(ErrorCodes.AUDIT_CORRUPT, message);
}

function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Write temp + fsync + rename + fsync directory: readers see the old or the new file, never half. */
async function writeFileAtomically(dir: string, name: string, contents: string): Promise<void> {
  const temporary = join(dir, `.${name}.${randomUUID()}.tmp`);
  const handle = await open(temporary, 'wx', 0o644);
  try {
    await handle.writeFile(contents, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, join(dir, name));
  await fsyncDirectory(dir);
}

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, position + written);
    written += bytesWritten;
  }
}

/**
 * Reads backwards from `size` to find the last complete line. Returns the byte length up to and
 * including the last newline, and that line's text (without the newline), or null if none.
 */
async function lastCompleteLine(handle: FileHandle, size: number): Promise<{ completeSize: number; line: string | null }> {
  const chunk = 64 * 1024;
  let end = size;
  let tail = Buffer.alloc(0);
  let lastNewline = -1;
  while (end > 0) {
    const start = Math.max(0, end - chunk);
    const buffer = Buffer.alloc(end - start);
    await handle.read(buffer, 0, buffer.length, start);
    tail = Buffer.concat([buffer, tail]);
    end = start;
    if (lastNewline < 0) {
      const found = tail.lastIndexOf(NEWLINE);
      if (found < 0) continue;
      lastNewline = found + end;
    }
    const relative = lastNewline - end;
    const previous = relative === 0 ? -1 : tail.lastIndexOf(NEWLINE, relative - 1);
    if (previous >= 0 || end === 0) {
      return { completeSize: lastNewline + 1, line: tail.subarray(previous + 1, relative).toString('utf8') };
    }
  }
  return { completeSize: lastNewline + 1, line: null };
}

/** Parses the complete lines of a JSONL buffer; an unterminated last line is not part of the file yet. */
function* parseLines(bytes: Buffer, where: string): Generator<unknown> {
  let start = 0;
  let lineNumber = 1;
  for (;;) {
    const end = bytes.indexOf(NEWLINE, start);
    if (end < 0) return;
    const text = bytes.subarray(start, end).toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      throw corrupt(`${where} line ${lineNumber} is not JSON.`);
    }
    yield value;
    start = end + 1;
    lineNumber += 1;
  }
}



interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly token: string;
  readonly since: string;
}

function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

/**
 * The file audit sink: one directory per tenant holding append-only JSONL segments (one canonical
 * JSON record per line) and a `checkpoints.jsonl`. One writer process per root directory, held by
 * an exclusive `writer.lock`; any number of `readOnly` readers.
 *
 * Durability: each batch is one `write` and one `fdatasync` before the acknowledgement (group
 * commit: the audit core batches concurrent appends). New files and directories are fsynced
 * into their parent before anything in them is acknowledged. On open, a torn last line (a crash
 * mid-write; never acknowledged) is truncated away.
 */
export class FileAuditSink implements AuditSink {
  readonly capabilities: AuditSinkCapabilities = { multiWriter: false };
  readonly dir: string;
  private readonly maxSegmentBytes: number;
  private readonly readOnly: boolean;
  private readonly mutex = new KeyedMutex();
  private readonly writers = new Map<string, TenantWriter>();
  private opening: Promise<void> | null = null;
  private lockToken: string | null = null;
  private closed = false;

  constructor(options: FileAuditSinkOptions) {
    this.dir = options.dir;
    this.maxSegmentBytes = options.maxSegmentBytes ?? 64 * 1024 * 1024;
    this.readOnly = options.readOnly ?? false;
    if (!Number.isSafeInteger(this.maxSegmentBytes) || this.maxSegmentBytes < 1) {
      throw new BeddelError(ErrorCodes.CONFIGURATION, 'fileAuditSink: maxSegmentBytes must be a positive integer.');
    }
  }

  async appendBatch(tenantId: string, seal: AuditSealFunction): Promise<readonly SealedAuditRecord[]> {
    assertTenantId(tenantId);
    if (this.readOnly) throw unavailable('This file audit sink is read-only.');
    await this.open();
    return this.mutex.run(tenantId, async () => {
      this.checkOpen();
      const writer = await this.writer(tenantId);
      if (writer.poisoned !== undefined) throw unavailable(`An earlier write to the audit log of tenant ${tenantId} failed; reopen the sink to repair it.`, writer.poisoned);
      if (writer.headProblem !== null) throw corrupt(writer.headProblem);
      const sealed = seal(writer.head);
      if (sealed.length === 0) return [];
      const problem = checkBatchContinuesHead(tenantId, writer.head, sealed);
      if (problem !== null) throw corrupt(`Refusing a batch that does not continue the chain of tenant ${tenantId}: ${problem}.`);
      const bytes = Buffer.from(sealed.map((record) => `${canonicalJson(record)}\n`).join(''), 'utf8');
      if (writer.durableSize > 0 && writer.durableSize + bytes.length > this.maxSegmentBytes) await this.rollOver(writer);
      const before = writer.durableSize;
      try {
        await writeAll(writer.active, bytes, before);
        await writer.active.datasync();
      } catch (error) {
        // The bytes may be partly on disk. Cut them off if we can; either way stop writing until a
        // reopen repairs the tail, so a torn batch is never followed by acknowledged ones.
        writer.poisoned = error;
        await writer.active.truncate(before).catch(() => undefined);
        throw unavailable(`Could not persist ${sealed.length} audit record(s) of tenant ${tenantId}.`, error);
      }
      writer.durableSize = before + bytes.length;
      const last = sealed.at(-1)!;
      writer.head = { sequence: last.sequence, recordHash: last.recordHash };
      return sealed;
    });
  }

  read(tenantId: string, range: AuditReadRange = {}): AsyncIterable<SealedAuditRecord> {
    return { [Symbol.asyncIterator]: () => this.readRecords(tenantId, range) };
  }

  async head(tenantId: string): Promise<AuditChainHead | null> {
    assertTenantId(tenantId);
    await this.open();
    if (!this.readOnly) {
      return this.mutex.run(tenantId, async () => {
        this.checkOpen();
        if (!(await this.tenantExists(tenantId))) return null;
        const writer = await this.writer(tenantId);
        if (writer.headProblem !== null) throw corrupt(writer.headProblem);
        return writer.head;
      });
    }
    const segments = await this.segments(join(this.dir, tenantDirectoryName(tenantId)));
    for (const segment of [...segments].reverse()) {
      const handle = await open(segment.path, 'r');
      try {
        const { line } = await lastCompleteLine(handle, (await handle.stat()).size);
        if (line !== null) return headOf(line, tenantId);
      } finally {
        await handle.close();
      }
    }
    return null;
  }

  async putCheckpoint(tenantId: string, checkpoint: AuditCheckpoint): Promise<void> {
    assertTenantId(tenantId);
    if (this.readOnly) throw unavailable('This file audit sink is read-only.');
    await this.open();
    await this.mutex.run(tenantId, async () => {
      this.checkOpen();
      const writer = await this.writer(tenantId);
      const path = join(writer.dir, CHECKPOINT_FILE);
      try {
        const handle = await open(path, 'a');
        try {
          await handle.write(`${canonicalJson(checkpoint)}\n`);
          await handle.datasync();
        } finally {
          await handle.close();
        }
      } catch (error) {
        throw unavailable(`Could not persist a checkpoint of tenant ${tenantId}.`, error);
      }
    });
  }

  async latestCheckpoint(tenantId: string): Promise<AuditCheckpoint | null> {
    return (await this.listCheckpoints(tenantId)).at(-1) ?? null;
  }

  async listCheckpoints(tenantId: string): Promise<readonly AuditCheckpoint[]> {
    assertTenantId(tenantId);
    await this.open();
    this.checkOpen();
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.dir, tenantDirectoryName(tenantId), CHECKPOINT_FILE));
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw unavailable(`Could not read the checkpoints of tenant ${tenantId}.`, error);
    }
    const checkpoints = [...parseLines(bytes, `${tenantId}/${CHECKPOINT_FILE}`)] as AuditCheckpoint[];
    return checkpoints.sort((a, b) => a.treeSize - b.treeSize);
  }

  async tenants(): Promise<readonly string[]> {
    await this.open();
    this.checkOpen();
    let entries: string[];
    try {
      entries = await readdir(this.dir);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw unavailable(`Could not list ${this.dir}.`, error);
    }
    const tenants: string[] = [];
    for (const entry of entries) {
      if (!/^[th]-/.test(entry)) continue;
      try {
        const { tenantId } = JSON.parse(await readFile(join(this.dir, entry, TENANT_FILE), 'utf8')) as { tenantId?: unknown };
        if (typeof tenantId === 'string' && tenantDirectoryName(tenantId) === entry) tenants.push(tenantId);
      } catch {
        // A directory whose tenant.json never landed holds no acknowledged record.
      }
    }
    return tenants.sort();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.opening?.catch(() => undefined);
    await this.mutex.idle();
    for (const writer of this.writers.values()) await writer.active.close().catch(() => undefined);
    this.writers.clear();
    if (this.lockToken !== null) {
      const lockPath = join(this.dir, LOCK_FILE);
      const owner = await readLock(lockPath);
      if (owner?.token === this.lockToken) await rm(lockPath, { force: true });
      this.lockToken = null;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw unavailable('The file audit sink is closed.');
  }

  /** Takes the directory lock once; a failed attempt (e.g. locked) is retried on the next call. */
  private async open(): Promise<void> {
    this.checkOpen();
    this.opening ??= this.openNow().catch((error: unknown) => {
      this.opening = null;
      throw error;
    });
    await this.opening;
  }

  private async openNow(): Promise<void> {
    if (this.readOnly) return;
    try {
      await mkdir(this.dir, { recursive: true });
    } catch (error) {
      throw unavailable(`Cannot create the audit directory ${this.dir}.`, error);
    }
    await this.lock();
    try {
      await stat(join(this.dir, FORMAT_FILE));
    } catch {
      await writeFileAtomically(this.dir, FORMAT_FILE, `${JSON.stringify({ format: 'beddel-audit-file', version: 1 })}\n`);
    }
  }

  private async lock(): Promise<void> {
    const lockPath = join(this.dir, LOCK_FILE);
    const me: LockOwner = { pid: process.pid, hostname: hostname(), token: randomUUID(), since: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        const handle = await open(lockPath, 'wx', 0o644);
        try {
          await handle.writeFile(JSON.stringify(me));
          await handle.sync();
        } finally {
          await handle.close();
        }
        await fsyncDirectory(this.dir);
        this.lockToken = me.token;
        return;
      } catch (error) {
        if (errnoCode(error) !== 'EEXIST') throw unavailable(`Cannot create ${lockPath}.`, error);
      }
      const owner = await readLock(lockPath);
      if (owner === null) continue;
      const stale = owner.hostname === me.hostname && owner.pid !== process.pid && !isAlive(owner.pid);
      if (!stale) {
        const where = owner.hostname === me.hostname ? `process ${owner.pid}` : `process ${owner.pid} on ${owner.hostname}`;
        throw new BeddelError(
          ErrorCodes.AUDIT_LOCKED,
          `The audit directory ${this.dir} is held by ${where} since ${owner.since}. If that writer is certainly gone, delete ${lockPath}.`,
        );
      }
      // The owner died without closing. Move its lock aside (rename is atomic: of two processes
      // breaking the same stale lock only one succeeds) and try again.
      await rename(lockPath, `${lockPath}.stale-${owner.pid}-${randomUUID()}`).catch(() => undefined);
    }
    throw new BeddelError(ErrorCodes.AUDIT_LOCKED, `Could not take ${lockPath}: other writers keep racing for it.`);
  }

  private async tenantExists(tenantId: string): Promise<boolean> {
    if (this.writers.has(tenantId)) return true;
    try {
      await stat(join(this.dir, tenantDirectoryName(tenantId), TENANT_FILE));
      return true;
    } catch {
      return false;
    }
  }

  /** The tenant's writer state: creates the tenant, repairs a torn tail and finds the head. Under the tenant mutex. */
  private async writer(tenantId: string): Promise<TenantWriter> {
    const existing = this.writers.get(tenantId);
    if (existing !== undefined) return existing;
    const dir = join(this.dir, tenantDirectoryName(tenantId));
    try {
      if (!(await this.tenantExists(tenantId))) {
        await mkdir(dir, { recursive: true });
        await writeFileAtomically(dir, TENANT_FILE, `${JSON.stringify({ tenantId })}\n`);
        await fsyncDirectory(this.dir);
      }
      await repairTornTail(join(dir, CHECKPOINT_FILE));
      let segments = await this.segments(dir);
      if (segments.length === 0) {
        const first = { index: 1, path: join(dir, segmentName(1)) };
        await (await open(first.path, 'a')).close();
        await fsyncDirectory(dir);
        segments = [first];
      }
      const active = await open(segments.at(-1)!.path, 'r+');
      const size = (await active.stat()).size;
      const { completeSize, line } = await lastCompleteLine(active, size);
      if (completeSize < size) {
        await active.truncate(completeSize);
        await active.sync();
      }
      const writer: TenantWriter = { dir, segments, active, durableSize: completeSize, head: null, headProblem: null, poisoned: undefined };
      let lastLine = line;
      for (let i = segments.length - 2; lastLine === null && i >= 0; i -= 1) {
        const handle = await open(segments[i]!.path, 'r');
        try {
          lastLine = (await lastCompleteLine(handle, (await handle.stat()).size)).line;
        } finally {
          await handle.close();
        }
      }
      if (lastLine !== null) {
        try {
          writer.head = headOf(lastLine, tenantId);
        } catch (error) {
          writer.headProblem = error instanceof Error ? error.message : String(error);
        }
      }
      this.writers.set(tenantId, writer);
      return writer;
    } catch (error) {
      if (error instanceof BeddelError) throw error;
      throw unavailable(`Cannot open the audit log of tenant ${tenantId} in ${dir}.`, error);
    }
  }

  private async rollOver(writer: TenantWriter): Promise<void> {
    const index = writer.segments.at(-1)!.index + 1;
    const segment = { index, path: join(writer.dir, segmentName(index)) };
    try {
      const handle = await open(segment.path, 'wx+');
      await fsyncDirectory(writer.dir);
      await writer.active.close();
      writer.active = handle;
      writer.durableSize = 0;
      writer.segments = [...writer.segments, segment];
    } catch (error) {
      throw unavailable(`Could not start segment ${segment.path}.`, error);
    }
  }

  private async segments(dir: string): Promise<Segment[]> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw unavailable(`Could not list ${dir}.`, error);
    }
    return names
      .map((name) => ({ name, match: SEGMENT.exec(name) }))
      .filter((entry): entry is { name: string; match: RegExpExecArray } => entry.match !== null)
      .map(({ name, match }) => ({ index: Number(match[1]), path: join(dir, name) }))
      .sort((a, b) => a.index - b.index);
  }

  private async *readRecords(tenantId: string, range: AuditReadRange): AsyncGenerator<SealedAuditRecord> {
    assertTenantId(tenantId);
    await this.open();
    this.checkOpen();
    const whole = range.fromSequence === undefined && range.toSequence === undefined;
    const from = range.fromSequence ?? 0;
    const to = range.toSequence ?? Number.MAX_SAFE_INTEGER;
    const dir = join(this.dir, tenantDirectoryName(tenantId));
    // A writer only shows what it has made durable: capture the active segment's durable size now.
    const writer = this.writers.get(tenantId);
    const segments = writer?.segments ?? (await this.segments(dir));
    const activePath = writer?.segments.at(-1)?.path;
    const activeLimit = writer?.durableSize;
    for (const [position, segment] of segments.entries()) {
      const following = segments[position + 1];
      if (!whole && following !== undefined && (await firstSequence(following.path)) <= from) continue;
      let bytes: Buffer;
      try {
        bytes = await readFile(segment.path);
      } catch (error) {
        throw unavailable(`Could not read ${segment.path}.`, error);
      }
      if (segment.path === activePath && activeLimit !== undefined) bytes = bytes.subarray(0, activeLimit);
      for (const value of parseLines(bytes, `${tenantId}/${segment.path.slice(dir.length + 1)}`)) {
        const record = value as SealedAuditRecord;
        if (whole) {
          yield record;
          continue;
        }
        if (record.sequence > to) return;
        if (record.sequence >= from) yield record;
      }
    }
  }
}

function headOf(line: string, tenantId: string): AuditChainHead {
  let record: Partial<SealedAuditRecord>;
  try {
    record = JSON.parse(line) as Partial<SealedAuditRecord>;
  } catch {
    throw corrupt(`The last stored record of tenant ${tenantId} is not JSON.`);
  }
  if (typeof record.sequence !== 'number' || typeof record.recordHash !== 'string') {
    throw corrupt(`The last stored record of tenant ${tenantId} has no sequence or record hash.`);
  }
  return { sequence: record.sequence, recordHash: record.recordHash };
}

async function firstSequence(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const end = buffer.subarray(0, bytesRead).indexOf(NEWLINE);
    if (end < 0) return Number.MAX_SAFE_INTEGER;
    const record = JSON.parse(buffer.subarray(0, end).toString('utf8')) as { sequence?: unknown };
    return typeof record.sequence === 'number' ? record.sequence : 0;
  } catch {
    return 0;
  } finally {
    await handle.close();
  }
}

async function repairTornTail(path: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r+');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw error;
  }
  try {
    const size = (await handle.stat()).size;
    const { completeSize } = await lastCompleteLine(handle, size);
    if (completeSize < size) {
      await handle.truncate(completeSize);
      await handle.sync();
    }
  } finally {
    await handle.close();
  }
}

async function readLock(path: string): Promise<LockOwner | null> {
  try {
    const owner = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    if (typeof owner.pid === 'number' && typeof owner.hostname === 'string' && typeof owner.token === 'string') {
      return { pid: owner.pid, hostname: owner.hostname, token: owner.token, since: String(owner.since) };
    }
    // A lock file that is not ours to read (written half by a crashed opener) is treated as stale.
    return { pid: -1, hostname: hostname(), token: '', since: 'unknown' };
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    return { pid: -1, hostname: hostname(), token: '', since: 'unknown' };
  }
}

/** Opens (lazily, on first use) the file audit sink over `options.dir`. */
export function fileAuditSink(options: FileAuditSinkOptions): FileAuditSink {
  return new FileAuditSink(options);
}
