import { AuditTrail, generateAuditKeyPair, verifyLog } from '@beddel/audit';
import type { AuditSink } from '@beddel/contracts';
import { auditEntry } from './audit-entry.js';

export interface AppendRateOptions {
  /** Printed with the figure, e.g. `postgres one tenant`. */
  readonly label: string;
  readonly tenants: readonly string[];
  readonly appends: number;
  /** Concurrent callers of `append`: what lets group commit batch. */
  readonly callers: number;
  /** Records per sink write; 1 turns group commit off. */
  readonly maxBatchSize?: number;
  /** A new sink for the trail to write to. */
  readonly openSink: () => AuditSink;
  /** A second sink on the same store, to verify what was written (closed afterwards). */
  readonly openReader: () => AuditSink;
}

export interface AppendRateResult {
  readonly appendsPerSecond: number;
  readonly seconds: number;
  readonly verified: boolean;
}

/**
 * Measures appends per second through `AuditTrail` (group commit) into a sink, with `callers`
 * concurrent appenders, then verifies the log with `verifyLog`. Shared by the sinks'
 * `append-rate` scripts, so every sink is measured the same way.
 */
export async function measureAppendRate(options: AppendRateOptions): Promise<AppendRateResult> {
  const keys = generateAuditKeyPair();
  const trail = new AuditTrail({
    sink: options.openSink(),
    signingKey: keys.privateKey,
    checkpoints: { everyRecords: 0, everyMs: 0 },
    ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
  });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.callers }, async () => {
      while (next < options.appends) {
        const n = next++;
        await trail.append(auditEntry(options.tenants[n % options.tenants.length] ?? 'rate', n));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await trail.close();
  const reader = options.openReader();
  const report = await verifyLog(reader, keys.publicKey, { tenants: options.tenants });
  await reader.close();
  const result = { appendsPerSecond: Math.round(options.appends / seconds), seconds, verified: report.ok };
  console.log(
    `${options.label}: ${options.appends} appends, ${options.callers} callers, ${options.tenants.length} tenant(s): ${seconds.toFixed(2)} s, ${result.appendsPerSecond} appends/s, verify ${report.ok ? 'ok' : 'FAILED'}`,
  );
  return result;
}
