import { isBeddelError } from '@beddel/contracts';

/**
 * Codes of failures that happen in the CLI before anything reaches the engine. Engine failures
 * keep their own `BEDDEL_*` codes from `@beddel/contracts`; these extend the same namespace and,
 * like those, are stable: scripts match on them, never on message text.
 */
export const CliErrorCodes = {
  USAGE: 'BEDDEL_USAGE',
  FILE_UNREADABLE: 'BEDDEL_FILE_UNREADABLE',
  INPUT_NOT_JSON: 'BEDDEL_INPUT_NOT_JSON',
  JOB_INVALID: 'BEDDEL_JOB_INVALID',
} as const;

export type CliErrorCode = (typeof CliErrorCodes)[keyof typeof CliErrorCodes];

const CLI_HINTS: Readonly<Record<CliErrorCode, string>> = {
  BEDDEL_USAGE: 'Run `beddel --help` or `beddel <command> --help` for usage.',
  BEDDEL_FILE_UNREADABLE: "Check the path and its permissions. Relative paths are resolved from the current directory (in a jobs file: from the jobs file's directory).",
  BEDDEL_INPUT_NOT_JSON: 'The input must be exactly one JSON document.',
  BEDDEL_JOB_INVALID: 'Each line of a jobs file is one JSON object: {"tenant": "<id>", "transformation": "<file.yaml>", "input": <JSON>}.',
};

/** A failure of the CLI itself (bad usage, unreadable files); reported on stderr, exit code 2. */
export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly hint: string;

  constructor(code: CliErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.hint = options.hint ?? CLI_HINTS[code];
  }
}

/** The `{ code, message, hint }` triple of any error, for stderr or a batch error line. */
export function describeError(error: unknown): { code: string; message: string; hint: string } {
  if (error instanceof CliError || isBeddelError(error)) return { code: error.code, message: error.message, hint: error.hint };
  return {
    code: 'BEDDEL_INTERNAL',
    message: error instanceof Error ? error.message : String(error),
    hint: 'This is a bug in the beddel CLI; please report it with the command line that triggered it.',
  };
}

/** Two lines for stderr: `error CODE: message` and `hint: ...`. */
export function formatError(error: unknown): string {
  const { code, message, hint } = describeError(error);
  return `error ${code}: ${message}\nhint: ${hint}\n`;
}

/** Node's own message for a failed file operation, without the stack: "ENOENT: no such file ...". */
export function systemMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
