import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BeddelError, ErrorCodes } from '@beddel/contracts';

export interface AuditKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** A new Ed25519 key pair for signing checkpoints. */
export function generateAuditKeyPair(): AuditKeyPair {
  return generateKeyPairSync('ed25519');
}

/** PKCS#8 PEM of a private key. */
export function privateKeyToPem(privateKey: KeyObject): string {
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** SPKI PEM of a public key (or of the public half of a private key). */
export function publicKeyToPem(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ format: 'pem', type: 'spki' }).toString();
}

function requireEd25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') throw new BeddelError(ErrorCodes.CONFIGURATION, `The audit ${what} must be an Ed25519 key.`);
  return key;
}

function looksLikePem(value: string): boolean {
  return value.trimStart().startsWith('-----BEGIN');
}

async function pemFrom(pemOrPath: string, what: string): Promise<string> {
  if (looksLikePem(pemOrPath)) return pemOrPath;
  try {
    return await readFile(pemOrPath, 'utf8');
  } catch (cause) {
    throw new BeddelError(ErrorCodes.CONFIGURATION, `Cannot read the audit ${what} file ${pemOrPath}.`, { cause });
  }
}

/** Loads an Ed25519 private key from PEM text or a PEM file path. */
export async function loadAuditPrivateKey(pemOrPath: string): Promise<KeyObject> {
  const pem = await pemFrom(pemOrPath, 'private key');
  try {
    return requireEd25519(createPrivateKey(pem), 'private key');
  } catch (cause) {
    if (cause instanceof BeddelError) throw cause;
    throw new BeddelError(ErrorCodes.CONFIGURATION, 'The audit private key is not a valid PEM private key.', { cause });
  }
}

/** Loads an Ed25519 public key from PEM text or a PEM file path. */
export async function loadAuditPublicKey(pemOrPath: string): Promise<KeyObject> {
  const pem = await pemFrom(pemOrPath, 'public key');
  try {
    const key = createPublicKey(pem);
    return requireEd25519(key.type === 'private' ? createPublicKey(key) : key, 'public key');
  } catch (cause) {
    if (cause instanceof BeddelError) throw cause;
    throw new BeddelError(ErrorCodes.CONFIGURATION, 'The audit public key is not a valid PEM public key.', { cause });
  }
}

async function writeNewFile(path: string, contents: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  // 'wx' never overwrites: replacing a signing key by accident would orphan every checkpoint.
  const handle = await open(path, 'wx', mode);
  try {
    await handle.writeFile(contents, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Generates a key pair and writes it: the private key (mode 0600) where only the engine can
 * read it, the public key beside the log for auditors. Refuses to overwrite existing files.
 * Keep the private key off the machine that stores the log where you can: whoever holds it can
 * sign a rewritten history.
 */
export async function writeAuditKeyPair(paths: { readonly privateKeyPath: string; readonly publicKeyPath: string }): Promise<AuditKeyPair> {
  const pair = generateAuditKeyPair();
  await writeNewFile(paths.privateKeyPath, privateKeyToPem(pair.privateKey), 0o600);
  await writeNewFile(paths.publicKeyPath, publicKeyToPem(pair.publicKey), 0o644);
  return pair;
}
