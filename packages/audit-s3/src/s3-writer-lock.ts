import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { BeddelError, ErrorCodes } from '@beddel/contracts';
import { isPreconditionFailed } from './s3-objects.js';
import type { BucketObjects } from './s3-objects.js';

interface LockBody {
  readonly owner: string;
  readonly host: string;
  readonly pid: number;
  readonly expiresAt: string;
}

function locked(key: string, holder?: LockBody): BeddelError {
  const who = holder === undefined ? 'another writer' : `${holder.host} pid ${holder.pid} until ${holder.expiresAt}`;
  return new BeddelError(ErrorCodes.AUDIT_LOCKED, `The audit store s3://…/${key} is held by ${who}.`);
}

function parseLock(body: string): LockBody | null {
  try {
    const value = JSON.parse(body) as Partial<LockBody>;
    return typeof value.owner === 'string' && typeof value.expiresAt === 'string' ? (value as LockBody) : null;
  } catch {
    return null;
  }
}

/**
 * The single-writer lease of one S3 prefix: a lock object naming its owner and an expiry,
 * renewed in the background at a third of its lifetime. A writer that crashed without releasing
 * it is replaced once the lease expired.
 *
 * Acquisition writes with `If-None-Match: *` (or `If-Match` on the expired lease it replaces)
 * and reads the object back. On a store that honours conditional writes (Amazon S3, MinIO) that
 * is atomic; on one that ignores them (s3rver) two writers starting in the same instant can both
 * win until the next renewal shows one of them the other's lease.
 */
export class S3WriterLock {
  private readonly owner = randomUUID();
  private etag: string | undefined;
  private expiresAt = 0;
  private lost = false;
  private timer: NodeJS.Timeout | undefined;
  private acquiring: Promise<boolean> | null = null;
  /** Acquire, renew and release run one at a time, so this instance never reads its own half-written lease. */
  private serial: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly objects: BucketObjects,
    private readonly key: string,
    private readonly ttlMs: number,
  ) {}

  /**
   * Resolves when this instance holds a live lease: `true` when it was taken afresh (no unbroken
   * hold before), `false` when it was already held. Rejects with BEDDEL_AUDIT_LOCKED otherwise.
   */
  ensureHeld(): Promise<boolean> {
    if (this.lost) return Promise.reject(locked(this.key));
    // Keep a margin so a write never starts on a lease that may expire while it runs.
    if (this.etag !== undefined && Date.now() < this.expiresAt - this.ttlMs / 3) return Promise.resolve(false);
    this.acquiring ??= this.exclusive(() => this.acquire()).finally(() => {
      this.acquiring = null;
    });
    return this.acquiring;
  }

  /** Stops renewing and deletes the lock object if it is still ours. */
  release(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    return this.exclusive(async () => {
      if (this.etag === undefined || this.lost) return;
      this.etag = undefined;
      const current = await this.objects.get(this.key);
      if (current !== null && parseLock(current.body)?.owner === this.owner) await this.objects.delete(this.key);
    });
  }

  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.serial.then(operation, operation);
    this.serial = result.catch(() => undefined);
    return result;
  }

  private async acquire(): Promise<boolean> {
    const current = await this.objects.get(this.key);
    const holder = current === null ? null : parseLock(current.body);
    const live = holder !== null && Date.parse(holder.expiresAt) > Date.now();
    if (live && holder.owner !== this.owner) throw locked(this.key, holder);
    const unbroken = live && this.etag !== undefined;
    await this.write(current === null ? { ifNoneMatch: '*' } : current.etag === undefined ? null : { ifMatch: current.etag });
    this.timer ??= setInterval(() => void this.exclusive(() => this.renew()), Math.max(1, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
    return !unbroken;
  }

  private async renew(): Promise<void> {
    if (this.etag === undefined || this.lost) return;
    try {
      // Check the owner before writing: a store that ignores If-Match would otherwise let this
      // renewal silently take back a lease another writer already holds.
      const current = await this.objects.get(this.key);
      if (current === null || parseLock(current.body)?.owner !== this.owner) {
        this.markLost();
        return;
      }
      await this.write({ ifMatch: this.etag });
    } catch {
      // `write` marked the lease lost if another owner has it; a network failure only means it
      // was not extended, and `ensureHeld` renews before the next write once it runs short.
    }
  }

  private async write(condition: { ifNoneMatch: '*' } | { ifMatch: string } | null): Promise<void> {
    const expiresAt = Date.now() + this.ttlMs;
    const body: LockBody = { owner: this.owner, host: hostname(), pid: process.pid, expiresAt: new Date(expiresAt).toISOString() };
    try {
      await this.objects.put(this.key, JSON.stringify(body), 'application/json', condition);
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      this.markLost();
      throw locked(this.key);
    }
    // Read back: on stores that ignore preconditions this is what tells a loser it lost.
    const stored = await this.objects.get(this.key);
    const holder = stored === null ? null : parseLock(stored.body);
    if (holder?.owner !== this.owner) {
      this.markLost();
      throw locked(this.key, holder ?? undefined);
    }
    this.etag = stored!.etag;
    this.expiresAt = expiresAt;
  }

  /** A lease this instance held and lost stays lost: its cached view of the store may be stale. */
  private markLost(): void {
    this.lost = this.etag !== undefined || this.lost;
    this.etag = undefined;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
