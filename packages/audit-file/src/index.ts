export { FileAuditSink, fileAuditSink } from './file-audit-sink.js';
export type { FileAuditSinkOptions } from './file-audit-sink.js';
export { tenantDirectoryName } from './tenant-directory-name.js';
