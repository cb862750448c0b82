/** The engine applies the tenant's security profile: capabilities, heap budget, admission. */
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMISSION, BeddelError, DEFAULT_SECURITY_PROFILE, ErrorCodes, SECRET_SOURCE, SECURITY_PROFILES } from '@beddel/contracts';
import type { AdmissionControl, EnginePlugin, SecurityProfile, SecurityProfileProvider } from '@beddel/contracts';
import { isolatedVmExecutor } from '@beddel/executor-isolated-vm';
import { createEngine } from './engine.js';
import type { Engine } from './engine.js';

function transformation(body: string): string {
  return `apiVersion: beddel/v1
kind: Transformation
metadata: { name: caps, version: 1.0.0 }
spec:
  steps:
    - name: only
      run: |
        ${body}
`;
}

const partner: SecurityProfile = {
  ...DEFAULT_SECURITY_PROFILE,
  id: 'partner',
  maxExecutionHeapBytes: 512 * 1024,
  allowHeapSnapshots: true,
  capabilities: { log: { maxLines: 5, maxBytes: 500 }, hash: {}, secrets: { keys: ['API_BASE_URL'] } },
};

const admitted: string[] = [];
const profiles: EnginePlugin = {
  name: 'test-profiles',
  register(registrar) {
    registrar.value<SecurityProfileProvider>(SECURITY_PROFILES, { profileFor: (tenantId) => (tenantId === 'partner-co' ? partner : DEFAULT_SECURITY_PROFILE) });
    registrar.value(SECRET_SOURCE, { read: (tenantId: string, key: string) => (tenantId === 'partner-co' ? `${key}-of-${tenantId}` : undefined) });
    registrar.value<AdmissionControl>(ADMISSION, {
      admit(tenantId) {
        if (tenantId === 'flooder') return Promise.reject(new BeddelError(ErrorCodes.RATE_LIMITED, 'Too many executions per second.'));
        admitted.push(tenantId);
        return Promise.resolve(() => void admitted.push(`released:${tenantId}`));
      },
    });
  },
};

let engine: Engine;
beforeAll(async () => {
  engine = await createEngine({ plugins: [isolatedVmExecutor({ workers: 1 }), profiles] });
});
afterAll(() => engine.close());

describe('capabilities follow the profile', () => {
  it('granted: log lines come back with the result, hash and allow-listed secrets work', async () => {
    const result = await engine.tenant('partner-co').run(transformation('beddel.log("hi"); return [beddel.sha256("abc").slice(0, 8), beddel.secret("API_BASE_URL")];'), {});
    expect(result).toMatchObject({ ok: true, output: ['ba7816bf', 'API_BASE_URL-of-partner-co'], logs: ['hi'] });
  });

  it('not granted: BEDDEL_CAPABILITY_DENIED, for the default profile and for keys off the allow-list', async () => {
    const denied = await engine.tenant('acme').run(transformation('return beddel.sha256("abc");'), {});
    expect(denied).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED', step: 'only' } });
    const offList = await engine.tenant('partner-co').run(transformation('return beddel.secret("DB_PASSWORD");'), {});
    expect(offList).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED' } });
  });
});

describe('per-execution heap budget', () => {
  it('an execution over the profile budget fails with BEDDEL_MEMORY_LIMIT', async () => {
    const result = await engine.tenant('partner-co').run(transformation('globalThis.keep = new Array(200000).fill(0).map((_, i) => ({ i })); return keep.length;'), {});
    expect(result).toMatchObject({ ok: false, error: { code: 'BEDDEL_MEMORY_LIMIT' } });
    expect(result.metrics.heapBytes).toBeGreaterThan(partner.maxExecutionHeapBytes);
  });
});

describe('admission control', () => {
  it('is asked before every execution and released after it', async () => {
    admitted.length = 0;
    await engine.tenant('acme').run(transformation('return 1;'), {});
    expect(admitted).toEqual(['acme', 'released:acme']);
  });

  it('a refusal becomes the result, with its code', async () => {
    const result = await engine.tenant('flooder').run(transformation('return 1;'), {});
    expect(result).toMatchObject({ ok: false, error: { code: 'BEDDEL_RATE_LIMITED' } });
  });
});

describe('heap snapshots', () => {
  it('are written when the profile allows them, and refused otherwise', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'beddel-engine-snapshot-')), 'partner.heapsnapshot');
    const allowed = await engine.tenant('partner-co').run(transformation('return 7;'), {}, { heapSnapshotPath: path });
    expect(allowed).toMatchObject({ ok: true, output: 7, heapSnapshot: { path } });
    expect(statSync(path).size).toBe(allowed.heapSnapshot?.bytes);
    const refused = await engine.tenant('acme').run(transformation('return 7;'), {}, { heapSnapshotPath: path + '.2' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'BEDDEL_CAPABILITY_DENIED' } });
  });
});
