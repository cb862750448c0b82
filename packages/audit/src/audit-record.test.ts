import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '@beddel/contracts';
import { GENESIS_HASH, assertTenantId, computeRecordHash, sealRecords, unsealedRecordFromEntry } from './audit-record.js';
import { entry } from './test-support/entries.js';

describe('audit records', () => {
  it('stores hashes of canonical input and output, never the raw values', () => {
    const record = unsealedRecordFromEntry(entry('acme', 1, { input: { b: 2, a: 1 }, output: [1, 'x'] }));
    expect(record.inputSha256).toBe(sha256Hex('{"a":1,"b":2}'));
    expect(record.outputSha256).toBe(sha256Hex('[1,"x"]'));
    expect(JSON.stringify(record)).not.toContain('"x"');
    expect(Object.keys(record).sort()).toEqual(
      ['errorCode', 'executionId', 'inputSha256', 'metrics', 'outputSha256', 'profileId', 'status', 'tenantId', 'timestamp', 'transformation', 'version'].sort(),
    );
  });

  it('hashes a missing output (failed run) as null', () => {
    const failed = unsealedRecordFromEntry(entry('acme', 1, { output: undefined, status: 'error', errorCode: 'BEDDEL_TIMEOUT' }));
    expect(failed.outputSha256).toBe(sha256Hex('null'));
    expect(failed).toMatchObject({ status: 'error', errorCode: 'BEDDEL_TIMEOUT' });
  });

  it('seals 0-based sequences linked from the genesis hash', () => {
    const bodies = [1, 2, 3].map((n) => unsealedRecordFromEntry(entry('acme', n)));
    const sealed = sealRecords(null, bodies);
    expect(sealed.map((r) => r.sequence)).toEqual([0, 1, 2]);
    expect(sealed[0]!.prevHash).toBe(GENESIS_HASH);
    expect(sealed[1]!.prevHash).toBe(sealed[0]!.recordHash);
    for (const record of sealed) {
      const { recordHash, ...rest } = record;
      expect(recordHash).toBe(sha256Hex(canonicalJson(rest)));
      expect(computeRecordHash(record)).toBe(recordHash);
    }
    const next = sealRecords({ sequence: 2, recordHash: sealed[2]!.recordHash }, bodies.slice(0, 1));
    expect(next[0]).toMatchObject({ sequence: 3, prevHash: sealed[2]!.recordHash });
  });

  it('accepts only tenant ids of [A-Za-z0-9._:-]{1,128}', () => {
    for (const ok of ['acme', 'A.b:c-d.e', '..', 'x'.repeat(128)]) expect(() => assertTenantId(ok)).not.toThrow();
    for (const bad of ['', 'a/b', 'a b', 'ü', 'x'.repeat(129), '../etc']) expect(() => assertTenantId(bad)).toThrow(/Invalid tenant id/);
  });
});
