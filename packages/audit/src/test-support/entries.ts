import type { AuditEntry } from '@beddel/contracts';

export function entry(tenantId: string, n: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    tenantId,
    executionId: `exec-${tenantId}-${n}`,
    timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, n % 60)).toISOString(),
    transformation: { name: 'pricing', version: '1.0.0', sourceSha256: 'a'.repeat(64) },
    input: { n, items: [1, 2, 3] },
    output: { total: n * 6 },
    profileId: 'default',
    status: 'ok',
    errorCode: null,
    metrics: { durationMs: 1.5, cpuMs: 1, heapBytes: 2048 },
    ...overrides,
  };
}
