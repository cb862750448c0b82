import type { AuditEntry } from '@beddel/contracts';

/**
 * A plausible `AuditEntry` for tests: execution `n` of tenant `tenantId`, deterministic so two
 * calls with the same arguments build the same record.
 */
export function auditEntry(tenantId: string, n: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    tenantId,
    executionId: `exec-${tenantId}-${n}`,
    timestamp: new Date(Date.UTC(2025, 0, 1) + n * 1000).toISOString(),
    transformation: { name: 'pricing', version: '1.0.0', sourceSha256: 'a'.repeat(64) },
    input: { order: n, items: [{ sku: 'A-1', qty: 2 }] },
    output: { total: n * 2 },
    profileId: 'default',
    status: 'ok',
    errorCode: null,
    metrics: { durationMs: 1.25, cpuMs: 0.5, heapBytes: 4096 },
    ...overrides,
  };
}
