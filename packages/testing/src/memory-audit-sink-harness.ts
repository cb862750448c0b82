import { MemoryAuditSink, MemoryAuditStore } from '@beddel/audit';
import type { AuditSinkHarness, RawAuditValue } from './audit-sink-contract-tests.js';

/** The contract-suite harness for `MemoryAuditSink`; also a template for other sinks' harnesses. */
export function memoryAuditSinkHarness(): Promise<AuditSinkHarness> {
  const store = new MemoryAuditStore();
  return Promise.resolve({
    sink: new MemoryAuditSink(store),
    openAnother: () => Promise.resolve(new MemoryAuditSink(store)),
    tamper: {
      rewriteRecords: (tenantId, edit) => Promise.resolve(store.replaceRawRecords(tenantId, edit(store.rawRecords(tenantId) as RawAuditValue[]))),
      rewriteCheckpoints: (tenantId, edit) => Promise.resolve(store.replaceRawCheckpoints(tenantId, edit(store.rawCheckpoints(tenantId) as RawAuditValue[]))),
    },
    cleanup: () => Promise.resolve(),
  });
}
