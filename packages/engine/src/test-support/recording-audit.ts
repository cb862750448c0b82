import { AUDIT_LOG, canonicalJson } from '@beddel/contracts';
import type { AuditEntry, AuditLog, EnginePlugin } from '@beddel/contracts';

/**
 * An audit plugin for tests that keeps every entry in `entries`. It computes the canonical JSON
 * of the input and output as the real trail does before hashing, so an entry the real audit
 * could not hash fails the append here too.
 */
export function recordingAuditPlugin(entries: AuditEntry[]): EnginePlugin {
  return {
    name: 'recording-audit',
    register: (registrar) =>
      registrar.value<AuditLog>(AUDIT_LOG, {
        append: (entry) => {
          canonicalJson(entry.input);
          canonicalJson(entry.output);
          entries.push(entry);
          return Promise.resolve({ tenantId: entry.tenantId, sequence: entries.length - 1, recordHash: 'h' });
        },
      }),
  };
}
