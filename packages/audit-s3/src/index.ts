export { S3AuditSink, s3AuditSink, s3AuditSinkFromUri } from './s3-audit-sink.js';
export type { S3AuditSinkOptions, S3ManifestBatch, S3ManifestPage } from './s3-audit-sink.js';
