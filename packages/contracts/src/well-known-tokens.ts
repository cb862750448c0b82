import type { AuditLog } from './audit.js';
import type { Executor } from './execution.js';
import type { Logger } from './logger.js';
import type { MetricsSink } from './metrics.js';
import type { AdmissionControl, SecretSource, SecurityProfileProvider } from './profiles.js';
import { createToken } from './tokens.js';

export const EXECUTOR = createToken<Executor>('beddel.Executor');
export const LOGGER = createToken<Logger>('beddel.Logger');
export const METRICS = createToken<MetricsSink>('beddel.MetricsSink');
export const AUDIT_LOG = createToken<AuditLog>('beddel.AuditLog');
export const SECURITY_PROFILES = createToken<SecurityProfileProvider>('beddel.SecurityProfileProvider');
export const ADMISSION = createToken<AdmissionControl>('beddel.AdmissionControl');
export const SECRET_SOURCE = createToken<SecretSource>('beddel.SecretSource');
/** Registered in each tenant's child container. */
export const TENANT_ID = createToken<string>('beddel.TenantId');
