import type { KeyObject } from 'node:crypto';
import { auditTrail } from '@beddel/audit';
import type { AuditSink, EnginePlugin, SecurityProfileProvider } from '@beddel/contracts';
import { createEngine } from '@beddel/engine';
import type { Engine } from '@beddel/engine';
import { isolatedVmExecutor } from '@beddel/executor-isolated-vm';
import { winstonLogger } from '@beddel/logger-winston';
import { securityProfiles } from '@beddel/security-profiles';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The audit log an engine writes to: an opened sink and the key that signs its checkpoints. */
export interface AuditWiring {
  readonly sink: AuditSink;
  readonly signingKey: KeyObject;
}

/**
 * What the commands that execute transformations may configure about the engine. This is the
 * one place the CLI wires plugins: each option (`--profiles`, `--audit`) is one field here and
 * one plugin below.
 */
export interface EngineSettings {
  readonly logLevel: LogLevel;
  /** Where engine and executor logs go: the CLI's stderr, so stdout stays machine-readable. */
  readonly logStream: NodeJS.WritableStream;
  readonly logFormat: 'json' | 'pretty';
  /** Security profiles already loaded and checked (`--profiles`); the built-in `default` without. */
  readonly profiles?: SecurityProfileProvider;
  /** The audit log (`--audit`); none with `--no-audit` or for commands that do not audit. */
  readonly audit?: AuditWiring;
}

/**
 * An engine with a winston logger, the security profiles, the audit trail and the supervised
 * isolated-vm executor (worker processes). Closing the engine disposes the audit trail, which
 * waits for queued appends, signs a final checkpoint per tenant and closes the sink.
 */
export function buildEngine(settings: EngineSettings): Promise<Engine> {
  const plugins: EnginePlugin[] = [winstonLogger({ level: settings.logLevel, format: settings.logFormat, stream: settings.logStream })];
  if (settings.profiles !== undefined) plugins.push(securityProfiles({ registry: settings.profiles }));
  if (settings.audit !== undefined) plugins.push(auditTrail({ sink: settings.audit.sink, signingKey: settings.audit.signingKey }));
  plugins.push(isolatedVmExecutor());
  return createEngine({ plugins });
}

/** Runs `use` with a fresh engine and always closes it (which stops the worker processes). */
export async function withEngine<T>(settings: EngineSettings, use: (engine: Engine) => Promise<T>): Promise<T> {
  let engine: Engine;
  try {
    engine = await buildEngine(settings);
  } catch (error) {
    // The trail was never disposed by the engine: release the sink (lock, pool, client) here.
    await settings.audit?.sink.close().catch(() => undefined);
    throw error;
  }
  try {
    return await use(engine);
  } finally {
    await engine.close();
  }
}
