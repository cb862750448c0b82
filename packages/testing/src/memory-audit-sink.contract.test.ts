import { auditSinkContractTests } from './audit-sink-contract-tests.js';
import { memoryAuditSinkHarness } from './memory-audit-sink-harness.js';

auditSinkContractTests('MemoryAuditSink', memoryAuditSinkHarness);
