import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MerkleFrontier, MerkleTree, emptyTreeRoot, leafHash, nodeHash, verifyConsistency, verifyInclusion } from './merkle.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const bytes = (value: string): Uint8Array => Buffer.from(value, 'hex');

// The leaves of the RFC 6962 reference tests (certificate-transparency, trillian `testonly`).
const VECTOR_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(bytes);
const VECTOR_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

function vectorTree(size = 8): MerkleTree {
  const tree = new MerkleTree();
  for (const leaf of VECTOR_LEAVES.slice(0, size)) tree.appendLeaf(leaf);
  return tree;
}

/** RFC 6962 §2.1 definitions written as directly as possible, as an independent reference. */
function referenceRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

function leavesOf(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
}

function flip(hash: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(hash);
  copy[0] = copy[0]! ^ 1;
  return copy;
}

describe('RFC 6962 hashing', () => {
  it('uses 0x00 / 0x01 domain separation', () => {
    const a = Buffer.from('a');
    expect(hex(leafHash(a))).toBe(createHash('sha256').update(Buffer.concat([Buffer.of(0), a])).digest('hex'));
    const l = leafHash(Buffer.from('l'));
    const r = leafHash(Buffer.from('r'));
    expect(hex(nodeHash(l, r))).toBe(createHash('sha256').update(Buffer.concat([Buffer.of(1), l, r])).digest('hex'));
    expect(hex(emptyTreeRoot())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('builds the size-3 and size-5 trees by hand', () => {
    const [l0, l1, l2, l3, l4] = leavesOf(5) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    const tree = new MerkleTree([l0, l1, l2, l3, l4]);
    expect(hex(tree.root(1))).toBe(hex(l0));
    expect(hex(tree.root(3))).toBe(hex(nodeHash(nodeHash(l0, l1), l2)));
    expect(hex(tree.root(5))).toBe(hex(nodeHash(nodeHash(nodeHash(l0, l1), nodeHash(l2, l3)), l4)));
    // PATH(2, D[3]) = [MTH(D[0:2])]; PATH(4, D[5]) = [MTH(D[0:4])]; PATH(0, D[5]) = [l1, MTH(D[2:4]), l4]
    expect(tree.inclusionProof(2, 3).map(hex)).toEqual([hex(nodeHash(l0, l1))]);
    expect(tree.inclusionProof(4, 5).map(hex)).toEqual([hex(nodeHash(nodeHash(l0, l1), nodeHash(l2, l3)))]);
    expect(tree.inclusionProof(0, 5).map(hex)).toEqual([hex(l1), hex(nodeHash(l2, l3)), hex(l4)]);
    // PROOF(3, D[5]) = [l2, l3, MTH(D[0:2]), l4]: SUBPROOF(1, D[2:4], false) = [l2], then l3, then D[0:2], then D[4:5]
    expect(tree.consistencyProof(3, 5).map(hex)).toEqual([hex(l2), hex(l3), hex(nodeHash(l0, l1)), hex(l4)]);
    // PROOF(4, D[5]) = [l4]: the old tree is a complete left subtree, which the verifier knows.
    expect(tree.consistencyProof(4, 5).map(hex)).toEqual([hex(l4)]);
  });

  it('matches the certificate-transparency reference roots and proofs', () => {
    const tree = vectorTree();
    for (let size = 1; size <= 8; size += 1) expect(hex(tree.root(size))).toBe(VECTOR_ROOTS[size - 1]);
    expect(tree.inclusionProof(0, 8).map(hex)).toEqual([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect(tree.inclusionProof(5, 8).map(hex)).toEqual([
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
    expect(tree.inclusionProof(2, 3).map(hex)).toEqual(['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']);
    expect(tree.consistencyProof(6, 8).map(hex)).toEqual([
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
    expect(tree.consistencyProof(2, 5).map(hex)).toEqual([
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ]);
    expect(tree.consistencyProof(1, 8).map(hex)).toEqual([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
  });

  it('handles the edges: empty tree, equal sizes, size 0', () => {
    const tree = new MerkleTree(leavesOf(3));
    expect(hex(tree.root(0))).toBe(hex(emptyTreeRoot()));
    expect(tree.consistencyProof(3, 3)).toEqual([]);
    expect(tree.consistencyProof(0, 3)).toEqual([]);
    expect(verifyConsistency(3, 3, tree.root(3), tree.root(3), [])).toBe(true);
    expect(verifyConsistency(3, 3, tree.root(3), tree.root(2), [])).toBe(false);
    expect(verifyConsistency(0, 3, emptyTreeRoot(), tree.root(3), [])).toBe(true);
    expect(verifyConsistency(3, 2, tree.root(3), tree.root(2), [])).toBe(false);
    expect(() => tree.inclusionProof(3, 3)).toThrow(RangeError);
    expect(() => tree.root(4)).toThrow(RangeError);
    expect(verifyInclusion(tree.leafHashAt(0), 3, 3, [], tree.root(3))).toBe(false);
  });
});

describe('proofs for every tree of 1..64 leaves', () => {
  const all = leavesOf(64);
  const tree = new MerkleTree(all);

  it('roots agree with the reference definition and with the frontier', () => {
    const frontier = new MerkleFrontier();
    for (let n = 1; n <= 64; n += 1) {
      frontier.appendLeafHash(all[n - 1]!);
      const expected = hex(referenceRoot(all.slice(0, n)));
      expect(hex(tree.root(n))).toBe(expected);
      expect(hex(frontier.root())).toBe(expected);
    }
  });

  it('every inclusion proof verifies, and fails when tampered', () => {
    for (let n = 1; n <= 64; n += 1) {
      const root = tree.root(n);
      for (let m = 0; m < n; m += 1) {
        const proof = tree.inclusionProof(m, n);
        const leaf = all[m]!;
        expect(verifyInclusion(leaf, m, n, proof, root)).toBe(true);
        expect(verifyInclusion(flip(leaf), m, n, proof, root)).toBe(false);
        expect(verifyInclusion(leaf, m, n, proof, flip(root))).toBe(false);
        if (n > 1) expect(verifyInclusion(leaf, (m + 1) % n, n, proof, root)).toBe(false);
        for (let i = 0; i < proof.length; i += 1) {
          const tampered = proof.map((hash, j) => (j === i ? flip(hash) : hash));
          expect(verifyInclusion(leaf, m, n, tampered, root)).toBe(false);
        }
        if (proof.length > 0) {
          expect(verifyInclusion(leaf, m, n, proof.slice(0, -1), root)).toBe(false);
          expect(verifyInclusion(leaf, m, n, [...proof, proof[0]!], root)).toBe(false);
        }
      }
    }
  });

  it('every consistency proof verifies, and fails when tampered', () => {
    for (let n = 1; n <= 64; n += 1) {
      const newRoot = tree.root(n);
      for (let m = 1; m <= n; m += 1) {
        const oldRoot = tree.root(m);
        const proof = tree.consistencyProof(m, n);
        expect(verifyConsistency(m, n, oldRoot, newRoot, proof)).toBe(true);
        expect(verifyConsistency(m, n, flip(oldRoot), newRoot, proof)).toBe(false);
        expect(verifyConsistency(m, n, oldRoot, flip(newRoot), proof)).toBe(false);
        for (let i = 0; i < proof.length; i += 1) {
          const tampered = proof.map((hash, j) => (j === i ? flip(hash) : hash));
          expect(verifyConsistency(m, n, oldRoot, newRoot, tampered)).toBe(false);
        }
        if (proof.length > 0) expect(verifyConsistency(m, n, oldRoot, newRoot, proof.slice(0, -1))).toBe(false);
        if (m < n && n < 64) expect(verifyConsistency(m, n + 1, oldRoot, tree.root(n + 1), proof)).toBe(false);
      }
    }
  });

  it('detects a forked tree: same old size, different history', () => {
    const forked = new MerkleTree([...all.slice(0, 5), flip(all[5]!), ...all.slice(6, 20)]);
    for (let m = 6; m < 20; m += 1) {
      expect(verifyConsistency(m, 20, tree.root(m), forked.root(20), forked.consistencyProof(m, 20))).toBe(false);
    }
    expect(verifyConsistency(5, 20, tree.root(5), forked.root(20), forked.consistencyProof(5, 20))).toBe(true);
  });
});
