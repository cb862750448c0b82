// The shared sink contract, run against a composite of two memory sinks (primary + mirror).
import { CompositeAuditSink, MemoryAuditSink, MemoryAuditStore } from '@beddel/audit';
import { auditSinkContractTests } from './audit-sink-contract-tests.js';
import type { RawAuditValue } from './audit-sink-contract-tests.js';

auditSinkContractTests('CompositeAuditSink(memory, memory)', () => {
  const primary = new MemoryAuditStore();
  const mirror = new MemoryAuditStore();
  const open = () => new CompositeAuditSink([new MemoryAuditSink(primary), new MemoryAuditSink(mirror)]);
  return Promise.resolve({
    sink: open(),
    openAnother: () => Promise.resolve(open()),
    // Tampering the primary is what readers and verifiers see.
    tamper: {
      rewriteRecords: (tenantId, edit) => Promise.resolve(primary.replaceRawRecords(tenantId, edit(primary.rawRecords(tenantId) as RawAuditValue[]))),
      rewriteCheckpoints: (tenantId, edit) => Promise.resolve(primary.replaceRawCheckpoints(tenantId, edit(primary.rawCheckpoints(tenantId) as RawAuditValue[]))),
    },
    cleanup: () => Promise.resolve(),
  });
});
