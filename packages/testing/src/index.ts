export { auditEntry } from './audit-entry.js';
export { auditSinkContractTests } from './audit-sink-contract-tests.js';
export type { AuditSinkContractOptions, AuditSinkHarness, AuditStoreTamperer, RawAuditValue } from './audit-sink-contract-tests.js';
export { memoryAuditSinkHarness } from './memory-audit-sink-harness.js';
