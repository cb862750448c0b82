import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * RFC 6962 §2.1 Merkle tree hashing (identical in RFC 9162 §2.1) over SHA-256.
 * Hashes are raw 32-byte `Uint8Array`s here; hex is a presentation concern of callers.
 */

export const HASH_BYTES = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** MTH({}) = SHA-256() — the root of an empty tree. */
export function emptyTreeRoot(): Uint8Array {
  return createHash('sha256').digest();
}

/** Leaf hash: SHA-256(0x00 || data). For the audit log, `data` is the 32 raw bytes of a record hash. */
export function leafHash(data: Uint8Array): Uint8Array {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** Interior node hash: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

export function hashesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Largest power of two strictly smaller than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && Number.isInteger(Math.log2(n));
}

/** Growable array of 32-byte hashes in one buffer (a million Buffers would cost far more). */
class HashArray {
  private bytes = new Uint8Array(HASH_BYTES * 16);
  length = 0;

  push(hash: Uint8Array): void {
    if ((this.length + 1) * HASH_BYTES > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes.set(hash, this.length * HASH_BYTES);
    this.length += 1;
  }

  at(index: number): Uint8Array {
    if (index < 0 || index >= this.length) throw new RangeError(`hash index ${index} out of range`);
    return this.bytes.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES);
  }
}

/**
 * An append-only RFC 6962 Merkle tree that keeps every complete (perfect, aligned) subtree hash,
 * so roots of any earlier size and inclusion / consistency proofs cost O(log² n) hashes.
 * Memory: about 64 bytes per leaf.
 */
export class MerkleTree {
  /** levels[h][i] = hash of the perfect subtree of 2^h leaves starting at leaf i * 2^h. */
  private readonly levels: HashArray[] = [new HashArray()];

  constructor(leafHashes: Iterable<Uint8Array> = []) {
    for (const hash of leafHashes) this.appendLeafHash(hash);
  }

  get size(): number {
    return this.levels[0]!.length;
  }

  /** Appends the hash of a leaf (already `leafHash(data)`). */
  appendLeafHash(hash: Uint8Array): void {
    if (hash.length !== HASH_BYTES) throw new RangeError('a leaf hash has 32 bytes');
    this.levels[0]!.push(hash);
    let level = 0;
    let index = this.levels[0]!.length - 1;
    // Complete every subtree this leaf closes: the carry of a binary counter.
    while (index % 2 === 1) {
      const below = this.levels[level]!;
      const parent = nodeHash(below.at(index - 1), below.at(index));
      level += 1;
      if (this.levels.length <= level) this.levels.push(new HashArray());
      this.levels[level]!.push(parent);
      index = (index - 1) / 2;
    }
  }

  /** Appends a leaf by its data: hashes it with the 0x00 prefix. */
  appendLeaf(data: Uint8Array): void {
    this.appendLeafHash(leafHash(data));
  }

  leafHashAt(index: number): Uint8Array {
    return this.levels[0]!.at(index);
  }

  /** MTH of the first `size` leaves (default: all). */
  root(size: number = this.size): Uint8Array {
    this.checkSize(size);
    return size === 0 ? emptyTreeRoot() : this.rangeHash(0, size);
  }

  /** RFC 6962 §2.1.1 PATH(index, D[size]). */
  inclusionProof(index: number, size: number = this.size): Uint8Array[] {
    this.checkSize(size);
    if (!Number.isInteger(index) || index < 0 || index >= size) throw new RangeError(`leaf ${index} is not in a tree of size ${size}`);
    const proof: Uint8Array[] = [];
    this.path(index, 0, size, proof);
    return proof;
  }

  /** RFC 6962 §2.1.2 PROOF(oldSize, D[newSize]); empty when oldSize is 0 or equals newSize. */
  consistencyProof(oldSize: number, newSize: number = this.size): Uint8Array[] {
    this.checkSize(newSize);
    if (!Number.isInteger(oldSize) || oldSize < 0 || oldSize > newSize) throw new RangeError(`no consistency proof from size ${oldSize} to ${newSize}`);
    const proof: Uint8Array[] = [];
    if (oldSize > 0 && oldSize < newSize) this.subproof(oldSize, 0, newSize, true, proof);
    return proof;
  }

  private checkSize(size: number): void {
    if (!Number.isInteger(size) || size < 0 || size > this.size) throw new RangeError(`tree size ${size} is not in 0..${this.size}`);
  }

  /** MTH(D[lo:hi]) for hi > lo; left parts of RFC 6962 splits are perfect aligned subtrees. */
  private rangeHash(lo: number, hi: number): Uint8Array {
    const n = hi - lo;
    if (isPowerOfTwo(n) && lo % n === 0) return this.levels[Math.log2(n)]!.at(lo / n);
    const k = splitPoint(n);
    return nodeHash(this.rangeHash(lo, lo + k), this.rangeHash(lo + k, hi));
  }

  private path(m: number, lo: number, hi: number, out: Uint8Array[]): void {
    const n = hi - lo;
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      this.path(m, lo, lo + k, out);
      out.push(this.rangeHash(lo + k, hi));
    } else {
      this.path(m - k, lo + k, hi, out);
      out.push(this.rangeHash(lo, lo + k));
    }
  }

  private subproof(m: number, lo: number, hi: number, complete: boolean, out: Uint8Array[]): void {
    const n = hi - lo;
    if (m === n) {
      if (!complete) out.push(this.rangeHash(lo, hi));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      this.subproof(m, lo, lo + k, complete, out);
      out.push(this.rangeHash(lo + k, hi));
    } else {
      this.subproof(m - k, lo + k, hi, false, out);
      out.push(this.rangeHash(lo, lo + k));
    }
  }
}

/**
 * RFC 9162 §2.1.3.2: verifies that `leafHashValue` is leaf `index` of the tree of `treeSize`
 * leaves whose root is `root`.
 */
export function verifyInclusion(
  leafHashValue: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const computed = rootFromInclusionProof(leafHashValue, index, treeSize, proof);
  return computed !== null && hashesEqual(computed, root);
}

/**
 * The root an inclusion proof leads to (RFC 9162 §2.1.3.2 without the final comparison), or
 * `null` when the proof cannot be a proof for `index` in a tree of `treeSize` leaves. Lets a
 * verifier check proofs before it has the signed root, and compare once it has.
 */
export function rootFromInclusionProof(leafHashValue: Uint8Array, index: number, treeSize: number, proof: readonly Uint8Array[]): Uint8Array | null {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) return null;
  if (leafHashValue.length !== HASH_BYTES || proof.some((hash) => hash.length !== HASH_BYTES)) return null;
  // Bit operations on numbers are 32-bit in JavaScript; BigInt keeps sizes beyond 2^31 exact.
  let fn = BigInt(index);
  let sn = BigInt(treeSize) - 1n;
  let r = leafHashValue;
  for (const p of proof) {
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

/**
 * RFC 9162 §2.1.4.2: verifies that the tree of `newSize` leaves with root `newRoot` extends the
 * tree of `oldSize` leaves with root `oldRoot`. Edge cases the RFC leaves to the caller: equal
 * sizes need an empty proof and equal roots; size 0 is consistent with anything (empty proof).
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 0 || oldSize > newSize) return false;
  if (proof.some((hash) => hash.length !== HASH_BYTES)) return false;
  if (oldSize === newSize) return proof.length === 0 && hashesEqual(oldRoot, newRoot);
  if (oldSize === 0) return proof.length === 0;
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof];
  if (path.length === 0) return false;
  let fn = BigInt(oldSize) - 1n;
  let sn = BigInt(newSize) - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && hashesEqual(fr, oldRoot) && hashesEqual(sr, newRoot);
}

/**
 * The right edge of an RFC 6962 tree: one hash per perfect subtree in the binary decomposition
 * of the size. Enough to append and compute the root in O(log n) memory; no proofs.
 */
export class MerkleFrontier {
  private readonly subtrees: { size: number; hash: Uint8Array }[] = [];
  size = 0;

  appendLeafHash(hash: Uint8Array): void {
    if (hash.length !== HASH_BYTES) throw new RangeError('a leaf hash has 32 bytes');
    let merged = { size: 1, hash };
    let last = this.subtrees.at(-1);
    while (last !== undefined && last.size === merged.size) {
      this.subtrees.pop();
      merged = { size: merged.size * 2, hash: nodeHash(last.hash, merged.hash) };
      last = this.subtrees.at(-1);
    }
    this.subtrees.push(merged);
    this.size += 1;
  }

  root(): Uint8Array {
    const last = this.subtrees.at(-1);
    if (last === undefined) return emptyTreeRoot();
    let root = last.hash;
    for (let i = this.subtrees.length - 2; i >= 0; i -= 1) root = nodeHash(this.subtrees[i]!.hash, root);
    return root;
  }
}
