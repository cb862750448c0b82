import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatCheckpointBody, noteKeyId, noteVerifierKey, parseCheckpointNote, signCheckpoint, verifyCheckpointSignature } from './signed-checkpoint.js';
import { generateAuditKeyPair } from './signing-keys.js';

const root = createHash('sha256').update('root').digest();

describe('signed checkpoints (C2SP signed note)', () => {
  const { privateKey, publicKey } = generateAuditKeyPair();

  it('formats the tlog-checkpoint body exactly', () => {
    expect(formatCheckpointBody({ origin: 'beddel-audit/acme', treeSize: 42, rootHash: root })).toBe(
      `beddel-audit/acme\n42\n${root.toString('base64')}\n`,
    );
    expect(() => formatCheckpointBody({ origin: 'a\nb', treeSize: 1, rootHash: root })).toThrow(TypeError);
  });

  it('signs with an em-dash signature line carrying key id and Ed25519 signature', () => {
    const note = signCheckpoint({ origin: 'beddel-audit/acme', treeSize: 42, rootHash: root }, privateKey);
    const [body, signatureLine] = note.split('\n\n') as [string, string];
    expect(`${body}\n`).toBe(formatCheckpointBody({ origin: 'beddel-audit/acme', treeSize: 42, rootHash: root }));
    expect(signatureLine).toMatch(/^\u2014 beddel-audit [A-Za-z0-9+/]+=*\n$/);
    const blob = Buffer.from(signatureLine.trim().split(' ')[2]!, 'base64');
    expect(blob.length).toBe(4 + 64);
    expect(blob.readUInt32BE(0)).toBe(noteKeyId('beddel-audit', publicKey));
    const parsed = parseCheckpointNote(note)!;
    expect(parsed).toMatchObject({ origin: 'beddel-audit/acme', treeSize: 42 });
    expect(Buffer.from(parsed.rootHash).equals(root)).toBe(true);
    expect(verifyCheckpointSignature(parsed, publicKey)).toBe(true);
  });

  it('computes the key id as SHA-256(name || "\\n" || 0x01 || key)[0:4]', () => {
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
    const digest = createHash('sha256').update(Buffer.concat([Buffer.from('beddel-audit\n'), Buffer.of(1), raw])).digest();
    expect(noteKeyId('beddel-audit', publicKey)).toBe(digest.readUInt32BE(0));
    expect(noteVerifierKey('beddel-audit', publicKey)).toBe(
      `beddel-audit+${digest.subarray(0, 4).toString('hex')}+${Buffer.concat([Buffer.of(1), raw]).toString('base64')}`,
    );
  });

  it('rejects altered bodies, foreign keys and malformed notes', () => {
    const note = signCheckpoint({ origin: 'beddel-audit/acme', treeSize: 42, rootHash: root }, privateKey);
    const other = generateAuditKeyPair();
    expect(verifyCheckpointSignature(parseCheckpointNote(note)!, other.publicKey)).toBe(false);
    expect(verifyCheckpointSignature(parseCheckpointNote(note.replace('\n42\n', '\n43\n'))!, publicKey)).toBe(false);
    const renamed = note.replace('\u2014 beddel-audit ', '\u2014 someone-else ');
    expect(verifyCheckpointSignature(parseCheckpointNote(renamed)!, publicKey)).toBe(false);
    expect(parseCheckpointNote('beddel-audit/acme\n42\n')).toBeNull();
    expect(parseCheckpointNote(note.replace('\n42\n', '\n042\n'))).toBeNull();
    expect(parseCheckpointNote(note.split('\n\n')[0]! + '\n\n')).toBeNull();
  });

  it('accepts a note with a second signer as long as one signature is ours', () => {
    const note = signCheckpoint({ origin: 'beddel-audit/acme', treeSize: 7, rootHash: root }, privateKey);
    const witness = signCheckpoint({ origin: 'beddel-audit/acme', treeSize: 7, rootHash: root }, generateAuditKeyPair().privateKey, 'witness');
    const cosigned = `${note}${witness.split('\n\n')[1]!}`;
    expect(verifyCheckpointSignature(parseCheckpointNote(cosigned)!, publicKey)).toBe(true);
  });
});
