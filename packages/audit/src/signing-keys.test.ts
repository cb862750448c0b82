import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isBeddelError } from '@beddel/contracts';
import { loadAuditPrivateKey, loadAuditPublicKey, privateKeyToPem, publicKeyToPem, writeAuditKeyPair } from './signing-keys.js';

describe('audit signing keys', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('writes a PEM pair (private 0600), loads it back, and refuses to overwrite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'beddel-keys-'));
    dirs.push(dir);
    const paths = { privateKeyPath: join(dir, 'secret', 'audit.key'), publicKeyPath: join(dir, 'log', 'audit-public-key.pem') };
    const pair = await writeAuditKeyPair(paths);
    expect((await stat(paths.privateKeyPath)).mode & 0o777).toBe(0o600);
    const privateKey = await loadAuditPrivateKey(paths.privateKeyPath);
    const publicKey = await loadAuditPublicKey(paths.publicKeyPath);
    const signature = sign(null, Buffer.from('x'), privateKey);
    expect(verify(null, Buffer.from('x'), publicKey, signature)).toBe(true);
    expect(publicKeyToPem(publicKey)).toBe(publicKeyToPem(pair.publicKey));
    await expect(writeAuditKeyPair(paths)).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('loads PEM text directly and rejects non-Ed25519 keys with BEDDEL_CONFIGURATION', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const error = await loadAuditPrivateKey(privateKeyToPem(rsa.privateKey)).catch((e: unknown) => e);
    expect(isBeddelError(error) && error.code).toBe('BEDDEL_CONFIGURATION');
    await expect(loadAuditPublicKey('/nonexistent/key.pem')).rejects.toMatchObject({ code: 'BEDDEL_CONFIGURATION' });
    await expect(loadAuditPublicKey('-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n')).rejects.toMatchObject({ code: 'BEDDEL_CONFIGURATION' });
  });
});
