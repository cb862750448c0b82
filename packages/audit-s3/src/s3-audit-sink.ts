import { S3Client } from '@aws-sdk/client-s3';
import { BeddelError, ErrorCodes, canonicalJson, sha256Hex, KeyedMutex, assertBatchContinuesHead, assertTenantId, InFlightOperations } from '@beddel/contracts';
import type {
  AuditChainHead,
  AuditCheckpoint,
  AuditReadRange,
  AuditSealFunction,
  AuditSink,
  AuditSinkCapabilities,
  SealedAuditRecord,
} from '@beddel/contracts';
import { BucketObjects, isPreconditionFailed } from './s3-objects.js';
import { S3WriterLock } from './s3-writer-lock.js';

export interface S3AuditSinkOptions {
  /** The caller's client; `close()` leaves it open. */
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix of this audit store inside the bucket, e.g. `prod/audit`. Default: the bucket root. */
  readonly prefix?: string;
  /** Lifetime of the single-writer lease in ms; renewed every third of it. Default 30 000. */
  readonly lockTtlMs?: number;
  /** Batches listed per manifest page before a new page starts (each append rewrites the last page). Default 64. */
  readonly manifestPageSize?: number;
}

/** One batch object as the manifest names it. */
export interface S3ManifestBatch {
  readonly key: string;
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly lastRecordHash: string;
  /** Lower-case hex SHA-256 of the object's bytes. */
  readonly sha256: string;
  readonly etag: string | null;
  /** Set on versioned buckets; reads then fetch exactly this version. */
  readonly versionId: string | null;
}

/** A manifest page object: `<prefix>/tenant=<id>/manifest/<page>.json`. */
export interface S3ManifestPage {
  readonly format: 'beddel-audit-s3-manifest';
  readonly version: 1;
  readonly tenantId: string;
  readonly page: number;
  readonly batches: readonly S3ManifestBatch[];
}

interface LoadedPage {
  readonly manifest: S3ManifestPage;
  readonly etag: string | undefined;
}

interface TenantState {
  /** The last manifest page (null: the tenant has no records). */
  lastPage: LoadedPage | null;
  head: AuditChainHead | null;
}

const PAD = 16;
const PAGE_PAD = 10;
const CHECKPOINT_INDEX_PAD = 6;
const READ_AHEAD = 8;

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

function corrupt(message: string, cause?: unknown): BeddelError {
  return new BeddelError(ErrorCodes.AUDIT_CORRUPT, message, cause === undefined ? {} : { cause });
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw corrupt(`${what} is not JSON.`, error);
  }
}

function parseManifest(text: string, key: string, tenantId: string): S3ManifestPage {
  const value = parseJson(text, `Manifest ${key}`) as Partial<S3ManifestPage> | null;
  if (value?.format !== 'beddel-audit-s3-manifest' || value.version !== 1 || value.tenantId !== tenantId || !Array.isArray(value.batches)) {
    throw corrupt(`Manifest ${key} is not a version 1 manifest of tenant ${tenantId}.`);
  }
  return value as S3ManifestPage;
}

/**
 * An `AuditSink` over S3. Each appended batch becomes one immutable JSONL object (written with
 * `If-None-Match: *`), and a per-tenant manifest, split into pages, names every batch object in
 * chain order with its SHA-256, ETag and version id. The manifest write is the commit point: a
 * batch object the manifest does not name is not part of the log.
 *
 * S3 has no row locks, so this sink is single-writer per prefix (`capabilities.multiWriter:
 * false`): appends are serialised per tenant in the process, and a leased lock object keeps a
 * second process out (BEDDEL_AUDIT_LOCKED). Readers (verifiers) need no lock.
 */
export class S3AuditSink implements AuditSink {
  readonly capabilities: AuditSinkCapabilities = { multiWriter: false };
  readonly bucket: string;
  readonly prefix: string;
  private readonly objects: BucketObjects;
  private readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly lock: S3WriterLock;
  private readonly pageSize: number;
  private readonly mutex = new KeyedMutex();
  private readonly states = new Map<string, TenantState>();
  /** Tenants whose last manifest write failed with an unknown outcome: refused until reopened. */
  private readonly unsure = new Set<string>();
  /** Tenants whose marker object this instance has written. */
  private readonly marked = new Set<string>();
  private readonly inFlight = new InFlightOperations();
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(options: S3AuditSinkOptions, internal: { ownsClient?: boolean } = {}) {
    if (typeof options.bucket !== 'string' || options.bucket.length === 0) throw new BeddelError(ErrorCodes.CONFIGURATION, 's3AuditSink: bucket is required.');
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (prefix.split('/').some((segment) => segment === '.' || segment === '..')) {
      throw new BeddelError(ErrorCodes.CONFIGURATION, `s3AuditSink: prefix ${JSON.stringify(options.prefix)} must not contain . or .. segments.`);
    }
    const ttl = options.lockTtlMs ?? 30_000;
    const pageSize = options.manifestPageSize ?? 64;
    if (!Number.isInteger(ttl) || ttl < 3) throw new BeddelError(ErrorCodes.CONFIGURATION, 's3AuditSink: lockTtlMs must be an integer of at least 3.');
    if (!Number.isInteger(pageSize) || pageSize < 1) throw new BeddelError(ErrorCodes.CONFIGURATION, 's3AuditSink: manifestPageSize must be a positive integer.');
    this.bucket = options.bucket;
    this.prefix = prefix;
    this.client = options.client;
    this.ownsClient = internal.ownsClient ?? false;
    this.pageSize = pageSize;
    this.objects = new BucketObjects(options.client, options.bucket);
    this.lock = new S3WriterLock(this.objects, this.key('writer.lock'), ttl);
  }

  appendBatch(tenantId: string, seal: AuditSealFunction): Promise<readonly SealedAuditRecord[]> {
    return this.track(tenantId, () =>
      this.mutex.run(tenantId, async () => {
        this.checkOpen(tenantId);
        if (this.unsure.has(tenantId)) {
          throw new BeddelError(ErrorCodes.AUDIT_UNAVAILABLE, `An earlier manifest write of tenant ${tenantId} may or may not have landed; reopen the sink.`);
        }
        await this.holdLock();
        const state = await this.writerState(tenantId);
        const sealed = seal(state.head);
        if (sealed.length === 0) return [];
        assertBatchContinuesHead(tenantId, state.head, sealed);
        await this.markTenant(tenantId);
        const texts = sealed.map((record) => canonicalJson(record));
        const body = `${texts.join('\n')}\n`;
        const sha256 = sha256Hex(body);
        const first = sealed[0]!;
        const last = sealed.at(-1)!;
        // The hash in the name keeps a retry after a failed commit from colliding with the orphan.
        const key = this.tenantKey(tenantId, `batches/${pad(first.sequence, PAD)}-${pad(last.sequence, PAD)}-${sha256.slice(0, 16)}.jsonl`);
        let written;
        try {
          written = await this.objects.put(key, body, 'application/x-ndjson', { ifNoneMatch: '*' });
        } catch (error) {
          throw isPreconditionFailed(error) ? new BeddelError(ErrorCodes.AUDIT_LOCKED, `Batch object ${key} already exists: another writer uses this prefix.`, { cause: error }) : error;
        }
        const entry: S3ManifestBatch = {
          key,
          firstSequence: first.sequence,
          lastSequence: last.sequence,
          lastRecordHash: last.recordHash,
          sha256,
          etag: written.etag ?? null,
          versionId: written.versionId ?? null,
        };
        await this.commit(tenantId, state, entry);
        state.head = { sequence: last.sequence, recordHash: last.recordHash };
        return texts.map((text) => JSON.parse(text) as SealedAuditRecord);
      }),
    );
  }

  async *read(tenantId: string, range: AuditReadRange = {}): AsyncIterable<SealedAuditRecord> {
    this.checkOpen(tenantId);
    const whole = range.fromSequence === undefined && range.toSequence === undefined;
    const from = range.fromSequence ?? 0;
    const to = range.toSequence ?? Number.MAX_SAFE_INTEGER;
    const batches: S3ManifestBatch[] = [];
    for (const pageKey of await this.manifestKeys(tenantId)) {
      const page = await this.objects.get(pageKey);
      if (page === null) throw corrupt(`Manifest page ${pageKey} disappeared while reading.`);
      for (const batch of parseManifest(page.body, pageKey, tenantId).batches) {
        // The manifest's ranges only let a ranged read skip objects; records are filtered by their own sequence.
        if (!whole && typeof batch.firstSequence === 'number' && typeof batch.lastSequence === 'number' && (batch.lastSequence < from || batch.firstSequence > to)) continue;
        batches.push(batch);
      }
    }
    // Fetch a few objects ahead: per-request latency, not bandwidth, bounds reads from S3.
    const fetch = (batch: S3ManifestBatch) => {
      const object = this.objects.get(batch.key, batch.versionId ?? undefined);
      // A reader that stops early never awaits the rest; their failures must not go unhandled.
      object.catch(() => undefined);
      return object;
    };
    const ahead = batches.slice(0, READ_AHEAD).map(fetch);
    for (const [index, batch] of batches.entries()) {
      const object = await ahead.shift()!;
      if (index + READ_AHEAD < batches.length) ahead.push(fetch(batches[index + READ_AHEAD]!));
      if (object === null) throw corrupt(`Batch object ${batch.key} named by the manifest of tenant ${tenantId} is missing.`);
      for (const [line, text] of object.body.split('\n').entries()) {
        if (text.length === 0) continue;
        const record = parseJson(text, `Line ${line + 1} of ${batch.key}`) as SealedAuditRecord;
        if (whole || (record.sequence >= from && record.sequence <= to)) yield record;
      }
    }
  }

  head(tenantId: string): Promise<AuditChainHead | null> {
    return this.track(tenantId, async () => {
      const cached = this.states.get(tenantId);
      if (cached !== undefined) return cached.head;
      return (await this.loadState(tenantId)).head;
    });
  }

  putCheckpoint(tenantId: string, checkpoint: AuditCheckpoint): Promise<void> {
    return this.track(tenantId, () =>
      this.mutex.run(tenantId, async () => {
        this.checkOpen(tenantId);
        await this.holdLock();
        if (!Number.isSafeInteger(checkpoint.treeSize) || checkpoint.treeSize < 0) throw new TypeError('checkpoint.treeSize must be a non-negative integer');
        await this.markTenant(tenantId);
        const sizePrefix = this.tenantKey(tenantId, `checkpoints/${pad(checkpoint.treeSize, PAD)}-`);
        const index = (await this.objects.keys(sizePrefix)).length;
        const body = JSON.stringify({ treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash, note: checkpoint.note, createdAt: checkpoint.createdAt });
        await this.objects.put(`${sizePrefix}${pad(index, CHECKPOINT_INDEX_PAD)}.json`, body, 'application/json', { ifNoneMatch: '*' }).catch((error: unknown) => {
          throw isPreconditionFailed(error) ? new BeddelError(ErrorCodes.AUDIT_LOCKED, `Checkpoint ${sizePrefix}${index} already exists: another writer uses this prefix.`, { cause: error }) : error;
        });
      }),
    );
  }

  latestCheckpoint(tenantId: string): Promise<AuditCheckpoint | null> {
    return this.track(tenantId, async () => {
      const keys = await this.objects.keys(this.tenantKey(tenantId, 'checkpoints/'));
      const last = keys.at(-1);
      if (last === undefined) return null;
      const object = await this.objects.get(last);
      return object === null ? null : (parseJson(object.body, `Checkpoint ${last}`) as AuditCheckpoint);
    });
  }

  listCheckpoints(tenantId: string): Promise<readonly AuditCheckpoint[]> {
    return this.track(tenantId, async () => {
      const keys = await this.objects.keys(this.tenantKey(tenantId, 'checkpoints/'));
      const checkpoints: AuditCheckpoint[] = [];
      for (const key of keys) {
        const object = await this.objects.get(key);
        if (object !== null) checkpoints.push(parseJson(object.body, `Checkpoint ${key}`) as AuditCheckpoint);
      }
      // Keys already sort by tree size then storage order; a stable sort keeps that for honest
      // data and still orders by the stored value if someone renamed objects.
      return checkpoints.sort((a, b) => a.treeSize - b.treeSize);
    });
  }

  tenants(): Promise<readonly string[]> {
    return this.track(undefined, async () => {
      const root = this.key('');
      const tenants: string[] = [];
      for (const folder of await this.objects.folders(root)) {
        const name = folder.slice(root.length, -1);
        if (!name.startsWith('tenant=')) continue;
        const tenantId = name.slice('tenant='.length);
        try {
          assertTenantId(tenantId);
        } catch {
          continue;
        }
        tenants.push(tenantId);
      }
      return tenants.sort();
    });
  }

  close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      await this.inFlight.settled();
      await this.mutex.idle();
      try {
        await this.lock.release();
      } finally {
        if (this.ownsClient) this.client.destroy();
      }
    })();
    return this.closing;
  }

  /** Writes the manifest page naming `entry`: the commit point of an append. */
  private async commit(tenantId: string, state: TenantState, entry: S3ManifestBatch): Promise<void> {
    const current = state.lastPage;
    const startPage = current === null || current.manifest.batches.length >= this.pageSize;
    const pageNumber = current === null ? 0 : startPage ? current.manifest.page + 1 : current.manifest.page;
    const manifest: S3ManifestPage = {
      format: 'beddel-audit-s3-manifest',
      version: 1,
      tenantId,
      page: pageNumber,
      batches: startPage ? [entry] : [...current.manifest.batches, entry],
    };
    const key = this.tenantKey(tenantId, `manifest/${pad(pageNumber, PAGE_PAD)}.json`);
    try {
      const written = await this.objects.put(key, JSON.stringify(manifest), 'application/json', startPage ? { ifNoneMatch: '*' } : current.etag === undefined ? null : { ifMatch: current.etag });
      state.lastPage = { manifest, etag: written.etag };
    } catch (error) {
      this.states.delete(tenantId);
      if (isPreconditionFailed(error)) {
        throw new BeddelError(ErrorCodes.AUDIT_LOCKED, `The manifest of tenant ${tenantId} changed under this writer: another writer uses this prefix.`, { cause: error });
      }
      // The write may have landed or not; appending on top of either guess could tear the chain.
      this.unsure.add(tenantId);
      throw error;
    }
  }

  /**
   * Writes `tenant=<id>/tenant.json` once per tenant and instance, so `tenants()` is one
   * delimiter listing: some S3-compatible servers (s3rver) leave a folder out of the common
   * prefixes unless an object sits directly in it.
   */
  private async markTenant(tenantId: string): Promise<void> {
    if (this.marked.has(tenantId)) return;
    await this.objects.put(this.tenantKey(tenantId, 'tenant.json'), JSON.stringify({ tenantId }), 'application/json', null);
    this.marked.add(tenantId);
  }

  private async holdLock(): Promise<void> {
    // A lease taken afresh (first write, or after one expired) may follow another writer's work.
    if (await this.lock.ensureHeld()) this.states.clear();
  }

  /** The tenant's state for writing, cached while this instance holds the writer lease. */
  private async writerState(tenantId: string): Promise<TenantState> {
    let state = this.states.get(tenantId);
    if (state === undefined) {
      state = await this.loadState(tenantId);
      this.states.set(tenantId, state);
    }
    return state;
  }

  private async loadState(tenantId: string): Promise<TenantState> {
    const lastKey = (await this.manifestKeys(tenantId)).at(-1);
    if (lastKey === undefined) return { lastPage: null, head: null };
    const object = await this.objects.get(lastKey);
    if (object === null) throw corrupt(`Manifest page ${lastKey} disappeared while reading.`);
    const manifest = parseManifest(object.body, lastKey, tenantId);
    const last = manifest.batches.at(-1);
    if (last === undefined || typeof last.lastSequence !== 'number' || typeof last.lastRecordHash !== 'string') {
      throw corrupt(`Manifest page ${lastKey} names no valid last batch.`);
    }
    return { lastPage: { manifest, etag: object.etag }, head: { sequence: last.lastSequence, recordHash: last.lastRecordHash } };
  }

  private manifestKeys(tenantId: string): Promise<string[]> {
    return this.objects.keys(this.tenantKey(tenantId, 'manifest/'));
  }

  private key(relative: string): string {
    return this.prefix === '' ? relative : `${this.prefix}/${relative}`;
  }

  /** `tenant=` keeps ids such as `..` from ever being a path segment of their own. */
  private tenantKey(tenantId: string, relative: string): string {
    return this.key(`tenant=${tenantId}/${relative}`);
  }

  private track<T>(tenantId: string | undefined, operation: () => Promise<T>): Promise<T> {
    return this.inFlight.run(() => {
      this.checkOpen(tenantId);
      return operation();
    });
  }

  private checkOpen(tenantId: string | undefined): void {
    if (this.closed) throw new BeddelError(ErrorCodes.AUDIT_UNAVAILABLE, 'The S3 audit sink is closed.');
    if (tenantId !== undefined) assertTenantId(tenantId);
  }
}

export function s3AuditSink(options: S3AuditSinkOptions): S3AuditSink {
  return new S3AuditSink(options);
}

/**
 * A sink from a URI such as
 * `s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&forcePathStyle=true`
 * (for the CLI's `--audit`). Credentials come from the AWS SDK's default chain (environment,
 * shared config, instance role). The sink owns its client and destroys it on `close()`.
 */
export function s3AuditSinkFromUri(uri: string): S3AuditSink {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (error) {
    throw new BeddelError(ErrorCodes.CONFIGURATION, 's3AuditSinkFromUri: not a valid URI.', { cause: error });
  }
  if (url.protocol !== 's3:' || url.hostname === '') {
    throw new BeddelError(ErrorCodes.CONFIGURATION, 's3AuditSinkFromUri: expected s3://bucket[/prefix][?endpoint=…&region=…&forcePathStyle=true].');
  }
  const endpoint = url.searchParams.get('endpoint');
  const region = url.searchParams.get('region');
  const forcePathStyle = url.searchParams.get('forcePathStyle');
  const client = new S3Client({
    ...(endpoint === null ? {} : { endpoint }),
    ...(region === null ? {} : { region }),
    ...(forcePathStyle === null ? {} : { forcePathStyle: forcePathStyle === 'true' || forcePathStyle === '1' }),
  });
  const lockTtl = url.searchParams.get('lockTtlMs');
  return new S3AuditSink(
    { client, bucket: url.hostname, prefix: decodeURIComponent(url.pathname), ...(lockTtl === null ? {} : { lockTtlMs: Number(lockTtl) }) },
    { ownsClient: true },
  );
}
