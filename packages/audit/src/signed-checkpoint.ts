import { createHash, createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { BeddelError, ErrorCodes } from '@beddel/contracts';

/**
 * Checkpoints are C2SP signed notes (https://c2sp.org/signed-note) whose body is a C2SP
 * tlog-checkpoint (https://c2sp.org/tlog-checkpoint): "origin\ntree size\nbase64 root hash\n".
 * Signatures are Ed25519; the signature line is "— <key name> <base64(key id || signature)>"
 * where key id = first 4 bytes of SHA-256(key name || "\n" || 0x01 || 32-byte public key).
 * The same text verifies with Go's golang.org/x/mod/sumdb/note.
 */

const ED25519_ALGORITHM = 0x01;
const SIGNATURE_PREFIX = '\u2014 ';
const KEY_NAME = /^[^\s+]+$/;

export const DEFAULT_KEY_NAME = 'beddel-audit';

/** The checkpoint origin of a tenant's log. */
export function defaultOrigin(tenantId: string): string {
  return `beddel-audit/${tenantId}`;
}

export interface CheckpointBody {
  readonly origin: string;
  readonly treeSize: number;
  /** 32 raw bytes. */
  readonly rootHash: Uint8Array;
}

export interface ParsedCheckpoint extends CheckpointBody {
  /** The signed text: everything before the blank line, with its final newline. */
  readonly body: string;
  readonly signatures: readonly { readonly keyName: string; readonly keyId: number; readonly signature: Uint8Array }[];
}

export function formatCheckpointBody(checkpoint: CheckpointBody): string {
  if (checkpoint.origin.length === 0 || /[\n\r]/.test(checkpoint.origin)) throw new TypeError('a checkpoint origin is one non-empty line');
  if (!Number.isSafeInteger(checkpoint.treeSize) || checkpoint.treeSize < 0) throw new TypeError('a tree size is a non-negative integer');
  if (checkpoint.rootHash.length !== 32) throw new TypeError('a root hash has 32 bytes');
  return `${checkpoint.origin}\n${checkpoint.treeSize}\n${Buffer.from(checkpoint.rootHash).toString('base64')}\n`;
}

/** The 32 raw bytes of an Ed25519 public key. */
export function rawEd25519PublicKey(key: KeyObject): Buffer {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new BeddelError(ErrorCodes.CONFIGURATION, 'Audit checkpoints are signed with Ed25519 keys only.');
  const jwk = publicKey.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new BeddelError(ErrorCodes.CONFIGURATION, 'Could not export the Ed25519 public key.');
  return Buffer.from(jwk.x, 'base64url');
}

/** C2SP signed-note key id of an Ed25519 key under `keyName`. */
export function noteKeyId(keyName: string, key: KeyObject): number {
  const digest = createHash('sha256')
    .update(keyName)
    .update('\n')
    .update(Uint8Array.of(ED25519_ALGORITHM))
    .update(rawEd25519PublicKey(key))
    .digest();
  return digest.readUInt32BE(0);
}

/** The C2SP verifier key string "<name>+<hex key id>+<base64(0x01 || public key)>". */
export function noteVerifierKey(keyName: string, key: KeyObject): string {
  const id = noteKeyId(keyName, key).toString(16).padStart(8, '0');
  const encoded = Buffer.concat([Uint8Array.of(ED25519_ALGORITHM), rawEd25519PublicKey(key)]).toString('base64');
  return `${keyName}+${id}+${encoded}`;
}

/** Signs a checkpoint body: returns the complete signed note text. */
export function signCheckpoint(checkpoint: CheckpointBody, privateKey: KeyObject, keyName: string = DEFAULT_KEY_NAME): string {
  if (!KEY_NAME.test(keyName)) throw new BeddelError(ErrorCodes.CONFIGURATION, `Invalid signing key name ${JSON.stringify(keyName)}: no spaces or "+".`);
  if (privateKey.type !== 'private') throw new BeddelError(ErrorCodes.CONFIGURATION, 'Checkpoints are signed with a private key.');
  const body = formatCheckpointBody(checkpoint);
  const signature = sign(null, Buffer.from(body, 'utf8'), privateKey);
  const keyId = Buffer.alloc(4);
  keyId.writeUInt32BE(noteKeyId(keyName, privateKey));
  return `${body}\n${SIGNATURE_PREFIX}${keyName} ${Buffer.concat([keyId, signature]).toString('base64')}\n`;
}

/** Parses a signed note holding a checkpoint; returns `null` when it is not well formed. */
export function parseCheckpointNote(note: string): ParsedCheckpoint | null {
  const split = note.indexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) return null;
  const body = note.slice(0, split + 1);
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) return null;
  const [origin, sizeText, rootText] = lines as [string, string, string];
  if (origin.length === 0 || !/^(0|[1-9][0-9]*)$/.test(sizeText)) return null;
  const treeSize = Number(sizeText);
  if (!Number.isSafeInteger(treeSize)) return null;
  const rootHash = Buffer.from(rootText, 'base64');
  if (rootHash.length !== 32 || rootHash.toString('base64') !== rootText) return null;
  const signatures: { keyName: string; keyId: number; signature: Uint8Array }[] = [];
  for (const line of note.slice(split + 2, -1).split('\n')) {
    if (!line.startsWith(SIGNATURE_PREFIX)) return null;
    const [keyName, encoded, extra] = line.slice(SIGNATURE_PREFIX.length).split(' ');
    if (keyName === undefined || encoded === undefined || extra !== undefined) return null;
    const bytes = Buffer.from(encoded, 'base64');
    if (bytes.length < 5 || bytes.toString('base64') !== encoded) return null;
    signatures.push({ keyName, keyId: bytes.readUInt32BE(0), signature: bytes.subarray(4) });
  }
  if (signatures.length === 0) return null;
  return { origin, treeSize, rootHash, body, signatures };
}

/**
 * Verifies a signed checkpoint note against one public key: true when a signature line names a
 * key whose id matches this key under that name and the Ed25519 signature over the body holds.
 */
export function verifyCheckpointSignature(parsed: ParsedCheckpoint, publicKey: KeyObject): boolean {
  for (const line of parsed.signatures) {
    if (line.keyId !== noteKeyId(line.keyName, publicKey)) continue;
    if (line.signature.length === 64 && verify(null, Buffer.from(parsed.body, 'utf8'), publicKey, line.signature)) return true;
  }
  return false;
}
