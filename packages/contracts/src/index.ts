export type { AuditEntry, AuditLog, AuditReceipt } from './audit.js';
export { assertBatchContinuesHead, assertTenantId, checkBatchContinuesHead, GENESIS_HASH, isHexHash, TENANT_ID_PATTERN } from './audit-chain.js';
export type { AuditChainHead, AuditCheckpoint, AuditReadRange, AuditSealFunction, AuditSink, AuditSinkCapabilities, SealedAuditRecord, UnsealedAuditRecord } from './audit-sink.js';
export { canonicalJson, sha256Hex } from './canonical-json.js';
export { BeddelError, ERROR_HINTS, ErrorCodes, isBeddelError } from './errors.js';
export type { BeddelErrorOptions, ErrorCode, ErrorInfo, ProblemDetail } from './errors.js';
export type {
  ExecutablePlan,
  ExecutionFailure,
  ExecutionLimits,
  ExecutionMetrics,
  ExecutionOutcome,
  ExecutionRequest,
  Executor,
  HeapSnapshotInfo,
  PlanStep,
} from './execution.js';
export { DEFAULT_LIMITS } from './execution.js';
export { MetricNames, noopMetrics } from './metrics.js';
export type { MetricLabels, MetricName, MetricsSink } from './metrics.js';
export { InFlightOperations, KeyedMutex } from './keyed-mutex.js';
export { silentLogger } from './logger.js';
export type { LogFields, Logger } from './logger.js';
export type { Disposable, EnginePlugin, ProviderRegistrar, ProviderScope, Resolver } from './plugin.js';
export { DEFAULT_MAX_EXECUTION_HEAP_BYTES, DEFAULT_SECURITY_PROFILE } from './profiles.js';
export type { AdmissionControl, CapabilityGrants, CapabilityName, GuestCapabilities, SecretSource, SecurityProfile, SecurityProfileProvider } from './profiles.js';
export type { RunFailure, RunMetrics, RunResult, RunSuccess, TransformationRef } from './result.js';
export { createToken } from './tokens.js';
export type { Token } from './tokens.js';
export { ADMISSION, AUDIT_LOG, EXECUTOR, LOGGER, METRICS, SECRET_SOURCE, SECURITY_PROFILES, TENANT_ID } from './well-known-tokens.js';
