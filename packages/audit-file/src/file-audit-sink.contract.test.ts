import { auditSinkContractTests } from '@beddel/testing';
import { fileHarness } from './test-support/file-harness.js';

auditSinkContractTests('fileAuditSink', () => fileHarness());
// Tiny segments: every batch rolls over, so the whole suite also runs across many segment files.
auditSinkContractTests('fileAuditSink (1 KiB segments)', () => fileHarness({ maxSegmentBytes: 1024 }));
