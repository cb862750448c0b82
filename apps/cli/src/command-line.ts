import { LOG_LEVELS } from './build-engine.js';
import type { EngineSettings, LogLevel } from './build-engine.js';
import { CliError, CliErrorCodes, systemMessage } from './cli-error.js';
import type { CliIo } from './cli-io.js';

/** A command's usage line, used as the hint of its usage errors. */
export interface CommandUsage {
  readonly name: string;
  readonly synopsis: string;
}

export function usageHint(usage: CommandUsage): string {
  return `Usage: beddel ${usage.name} ${usage.synopsis}; see \`beddel ${usage.name} --help\`.`;
}

export function usageError(usage: CommandUsage, message: string): CliError {
  return new CliError(CliErrorCodes.USAGE, message, { hint: usageHint(usage) });
}

/**
 * Runs a `node:util` parseArgs call (strict mode) and turns its errors (unknown option, missing
 * value) into BEDDEL_USAGE. Takes the call, not the config, so each command keeps parseArgs'
 * precise types for its own options.
 */
export function parseCommandLine<T>(parse: () => T, usage: CommandUsage): T {
  try {
    return parse();
  } catch (error) {
    throw usageError(usage, systemMessage(error));
  }
}

/** The one positional argument a command takes. */
export function onePositional(positionals: readonly string[], what: string, usage: CommandUsage): string {
  const [first, ...extra] = positionals;
  if (first === undefined) throw usageError(usage, `Missing ${what}.`);
  if (extra.length > 0) throw usageError(usage, `Unexpected argument ${JSON.stringify(extra[0])}: ${usage.name} takes one ${what}.`);
  return first;
}

export const logLevelOption = { 'log-level': { type: 'string' } } as const;

export const LOG_LEVEL_HELP = `      --log-level <level>  ${LOG_LEVELS.join(' | ')} (default: warn); logs go to stderr`;

export function engineSettings(io: CliIo, logLevel: string | undefined, usage: CommandUsage): EngineSettings {
  const level = logLevel ?? 'warn';
  if (!isLogLevel(level)) throw usageError(usage, `--log-level must be one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(level)}.`);
  return { logLevel: level, logStream: io.stderr, logFormat: io.isTTY ? 'pretty' : 'json' };
}

function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}
