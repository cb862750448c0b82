import { createEngine } from '@beddel/engine';
import type { Engine } from '@beddel/engine';
import { isolatedVmExecutor } from '@beddel/executor-isolated-vm';
import { winstonLogger } from '@beddel/logger-winston';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * What the commands that execute transformations may configure about the engine. This is the
 * one place the CLI wires plugins, so an option such as `--audit <uri>` becomes one more field
 * here and one more plugin below.
 */
export interface EngineSettings {
  readonly logLevel: LogLevel;
  /** Where engine and executor logs go: the CLI's stderr, so stdout stays machine-readable. */
  readonly logStream: NodeJS.WritableStream;
  readonly logFormat: 'json' | 'pretty';
}

/** An engine with the supervised isolated-vm executor (worker processes) and a winston logger. */
export function buildEngine(settings: EngineSettings): Promise<Engine> {
  return createEngine({
    plugins: [
      winstonLogger({ level: settings.logLevel, format: settings.logFormat, stream: settings.logStream }),
      isolatedVmExecutor(),
    ],
  });
}

/** Runs `use` with a fresh engine and always closes it (which stops the worker processes). */
export async function withEngine<T>(settings: EngineSettings, use: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await buildEngine(settings);
  try {
    return await use(engine);
  } finally {
    await engine.close();
  }
}
