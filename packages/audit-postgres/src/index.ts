export { PostgresAuditSink, postgresAuditSink, postgresAuditSinkFromUri } from './postgres-audit-sink.js';
export type { PostgresAuditSinkOptions } from './postgres-audit-sink.js';
export { MIGRATIONS } from './migrations.js';
export type { Migration } from './migrations.js';
