export { GENESIS_HASH, TENANT_ID_PATTERN, assertTenantId, checkBatchContinuesHead, computeRecordHash, recordLeafHash, sealRecords, unsealedRecordFromEntry } from './audit-record.js';
export { verifyConsistencyProof, verifyInclusionProof } from './audit-proofs.js';
export type { AuditConsistencyProof, AuditInclusionProof, ProofVerification, ProofVerifyOptions } from './audit-proofs.js';
export { AuditTrail } from './audit-trail.js';
export type { AuditTrailOptions, CheckpointPolicy } from './audit-trail.js';
export { AUDIT_TRAIL, auditTrail } from './audit-trail-plugin.js';
export type { AuditTrailPluginOptions } from './audit-trail-plugin.js';
export { MemoryAuditSink, MemoryAuditStore } from './memory-audit-sink.js';
export { MerkleFrontier, MerkleTree, emptyTreeRoot, leafHash, nodeHash, rootFromInclusionProof, verifyConsistency, verifyInclusion } from './merkle.js';
export {
  DEFAULT_KEY_NAME,
  defaultOrigin,
  formatCheckpointBody,
  noteKeyId,
  noteVerifierKey,
  parseCheckpointNote,
  signCheckpoint,
  verifyCheckpointSignature,
} from './signed-checkpoint.js';
export type { CheckpointBody, ParsedCheckpoint } from './signed-checkpoint.js';
export { generateAuditKeyPair, loadAuditPrivateKey, loadAuditPublicKey, privateKeyToPem, publicKeyToPem, writeAuditKeyPair } from './signing-keys.js';
export type { AuditKeyPair } from './signing-keys.js';
export { verifyLog } from './verify-log.js';
export type { AuditProblem, AuditProblemCode, AuditRecordSource, AuditVerification, TenantVerification, VerifyLogOptions } from './verify-log.js';
export { exportAuditRecords } from './audit-export.js';
export type { AuditExportOptions, AuditExportSource } from './audit-export.js';
export { AUDIT_EXPORT_TYPE, AUDIT_EXPORT_VERSION, CSV_COLUMNS as AUDIT_EXPORT_CSV_COLUMNS } from './audit-export-format.js';
export type { AuditExportCheckpointLine, AuditExportFormat, AuditExportHeader, AuditExportProof, AuditExportRecordLine } from './audit-export-format.js';
export { verifyExport } from './verify-export.js';
export type { AuditExportProblem, AuditExportProblemCode, AuditExportVerification, VerifyExportOptions } from './verify-export.js';
export { AUDIT_LIMIT_CODES, buildAuditReport } from './audit-report.js';
export type { AuditPercentiles, AuditReport, AuditReportOptions, AuditReportSource, AuditTimeBucket } from './audit-report.js';
export { escapeHtml, renderAuditReportHtml } from './audit-report-html.js';
export { CompositeAuditSink } from './composite-audit-sink.js';
export type { CompositeAuditSinkOptions } from './composite-audit-sink.js';
