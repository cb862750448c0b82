import winston from 'winston';
import { LOGGER } from '@beddel/contracts';
import type { EnginePlugin, LogFields, Logger } from '@beddel/contracts';

export interface WinstonLoggerOptions {
  /** Default `info`. */
  readonly level?: 'error' | 'warn' | 'info' | 'debug';
  /** `json` (default, one object per line) or `pretty` for people at a terminal. */
  readonly format?: 'json' | 'pretty';
  /**
   * Where lines go. Default: standard error, so that commands whose standard output is data
   * (the CLI prints results as JSON) stay machine-readable.
   */
  readonly stream?: NodeJS.WritableStream;
  /** Use this winston logger instead of building one. */
  readonly instance?: winston.Logger;
}

/** Adapts a winston logger to the backend-neutral `Logger` contract. */
export class WinstonLogger implements Logger {
  constructor(private readonly target: winston.Logger) {}

  debug(message: string, fields?: LogFields): void {
    this.target.debug(message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.target.info(message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.target.warn(message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.target.error(message, fields);
  }

  child(fields: LogFields): Logger {
    return new WinstonLogger(this.target.child({ ...fields }));
  }
}

export function createWinstonLogger(options: WinstonLoggerOptions = {}): WinstonLogger {
  if (options.instance !== undefined) return new WinstonLogger(options.instance);
  const format =
    options.format === 'pretty'
      ? winston.format.combine(winston.format.timestamp(), winston.format.colorize(), winston.format.simple())
      : winston.format.combine(winston.format.timestamp(), winston.format.json());
  const instance = winston.createLogger({
    level: options.level ?? 'info',
    format,
    transports: [new winston.transports.Stream({ stream: options.stream ?? process.stderr })],
  });
  return new WinstonLogger(instance);
}

/** The logger plugin: `createEngine({ plugins: [winstonLogger({ level: 'debug' })] })`. */
export function winstonLogger(options: WinstonLoggerOptions = {}): EnginePlugin {
  return {
    name: 'logger-winston',
    register(registrar) {
      registrar.value<Logger>(LOGGER, createWinstonLogger(options));
    },
  };
}
