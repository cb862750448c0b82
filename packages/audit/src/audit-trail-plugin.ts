import { AUDIT_LOG, createToken } from '@beddel/contracts';
import type { EnginePlugin, Token } from '@beddel/contracts';
import { AuditTrail } from './audit-trail.js';
import type { AuditTrailOptions } from './audit-trail.js';

/** Resolves the engine's `AuditTrail` itself, for proofs and checkpoints beyond `AuditLog.append`. */
export const AUDIT_TRAIL: Token<AuditTrail> = createToken<AuditTrail>('beddel.AuditTrail');

export type AuditTrailPluginOptions = AuditTrailOptions;

/**
 * The audit plugin: registers an `AuditTrail` as the engine's `AUDIT_LOG` (and as `AUDIT_TRAIL`).
 * The trail is engine-scoped and keeps one chain per tenant, keyed by the entry's tenant id.
 * Fail closed: a failed append rejects, and the engine fails the run with
 * `BEDDEL_AUDIT_UNAVAILABLE`. `dispose()` waits for queued appends, signs final checkpoints and
 * closes the sink.
 *
 * ```ts
 * createEngine({ plugins: [auditTrail({ sink: fileAuditSink({ dir }), signingKey })] })
 * ```
 */
export function auditTrail(options: AuditTrailPluginOptions): EnginePlugin & { readonly trail: AuditTrail } {
  const trail = new AuditTrail(options);
  return {
    name: 'audit-trail',
    trail,
    register(registrar) {
      registrar.value(AUDIT_LOG, trail);
      registrar.value(AUDIT_TRAIL, trail);
    },
    dispose: () => trail.close(),
  };
}
