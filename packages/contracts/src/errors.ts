/**
 * Stable error codes. Users match on `code`, never on message text; a code, once
 * published, keeps its meaning.
 */
export const ErrorCodes = {
  INVALID_TRANSFORMATION: 'BEDDEL_INVALID_TRANSFORMATION',
  INPUT_INVALID: 'BEDDEL_INPUT_INVALID',
  OUTPUT_INVALID: 'BEDDEL_OUTPUT_INVALID',
  INPUT_TOO_LARGE: 'BEDDEL_INPUT_TOO_LARGE',
  OUTPUT_TOO_LARGE: 'BEDDEL_OUTPUT_TOO_LARGE',
  TIMEOUT: 'BEDDEL_TIMEOUT',
  MEMORY_LIMIT: 'BEDDEL_MEMORY_LIMIT',
  RUNTIME_ERROR: 'BEDDEL_RUNTIME_ERROR',
  WORKER_CRASHED: 'BEDDEL_WORKER_CRASHED',
  AUDIT_UNAVAILABLE: 'BEDDEL_AUDIT_UNAVAILABLE',
  AUDIT_CORRUPT: 'BEDDEL_AUDIT_CORRUPT',
  AUDIT_LOCKED: 'BEDDEL_AUDIT_LOCKED',
  OVERLOADED: 'BEDDEL_OVERLOADED',
  RATE_LIMITED: 'BEDDEL_RATE_LIMITED',
  CAPABILITY_DENIED: 'BEDDEL_CAPABILITY_DENIED',
  INVALID_TENANT: 'BEDDEL_INVALID_TENANT',
  ENGINE_CLOSED: 'BEDDEL_ENGINE_CLOSED',
  CONFIGURATION: 'BEDDEL_CONFIGURATION',
  PLUGIN_MISSING: 'BEDDEL_PLUGIN_MISSING',
  INTERNAL: 'BEDDEL_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** What the user should do about each code; appended to messages that reach a user. */
export const ERROR_HINTS: Readonly<Record<ErrorCode, string>> = {
  BEDDEL_INVALID_TRANSFORMATION: 'Fix the transformation document at the path shown; `beddel validate <file>` lists every problem.',
  BEDDEL_INPUT_INVALID: 'Send input that matches spec.inputSchema of the transformation.',
  BEDDEL_OUTPUT_INVALID: 'Make the last step return a JSON value that matches spec.outputSchema.',
  BEDDEL_INPUT_TOO_LARGE: 'Send a smaller input or raise maxInputBytes in the security profile.',
  BEDDEL_OUTPUT_TOO_LARGE: 'Return less data or raise maxOutputBytes in the security profile.',
  BEDDEL_TIMEOUT: 'Make the steps finish sooner (no unbounded loops) or raise timeoutMs within the profile.',
  BEDDEL_MEMORY_LIMIT: 'Allocate less memory in the steps or raise memoryLimitMb in the security profile.',
  BEDDEL_RUNTIME_ERROR: 'Fix the step named in the error; the message is the one the step threw.',
  BEDDEL_WORKER_CRASHED: 'The sandbox process died during the run; retry, and report it if it repeats.',
  BEDDEL_AUDIT_UNAVAILABLE: 'Check that the audit sink is reachable and writable; nothing runs without an audit record.',
  BEDDEL_AUDIT_CORRUPT: 'The audit store holds data that breaks the chain; run `beddel audit verify` and restore from a replica or backup.',
  BEDDEL_AUDIT_LOCKED: 'Another live process writes to this audit store; stop it, or give each process its own store.',
  BEDDEL_OVERLOADED: 'Retry later or raise the pool capacity.',
  BEDDEL_RATE_LIMITED: 'Slow down: the tenant exceeded its executions per second.',
  BEDDEL_CAPABILITY_DENIED: 'Grant the capability in the tenant security profile or stop calling it.',
  BEDDEL_INVALID_TENANT: 'Use a tenant id of 1-128 characters from [A-Za-z0-9._:-].',
  BEDDEL_ENGINE_CLOSED: 'Create a new engine; this one was closed.',
  BEDDEL_CONFIGURATION: 'Fix the engine configuration named in the message.',
  BEDDEL_PLUGIN_MISSING: 'Add the plugin named in the message to createEngine({ plugins }).',
  BEDDEL_INTERNAL: 'This is a bug in Beddel Runtime; please report it with the execution id.',
};

export interface BeddelErrorOptions {
  /** Where in a document the problem is, e.g. `spec.steps[1].run`. */
  readonly path?: string;
  /** Step of the transformation that failed, when known. */
  readonly step?: string;
  /** Further structured detail (e.g. every validation problem). */
  readonly details?: readonly ProblemDetail[];
  readonly cause?: unknown;
}

export interface ProblemDetail {
  readonly path: string;
  readonly message: string;
}

/** The one error class users see. `code` is stable; `hint` says what to do. */
export class BeddelError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly path: string | undefined;
  readonly step: string | undefined;
  readonly details: readonly ProblemDetail[];

  constructor(code: ErrorCode, message: string, options: BeddelErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BeddelError';
    this.code = code;
    this.hint = ERROR_HINTS[code];
    this.path = options.path;
    this.step = options.step;
    this.details = options.details ?? [];
  }

  /** The plain, JSON-safe shape used in results. Never carries a host stack. */
  toInfo(): ErrorInfo {
    const info: { -readonly [K in keyof ErrorInfo]: ErrorInfo[K] } = { code: this.code, message: this.message, hint: this.hint };
    if (this.path !== undefined) info.path = this.path;
    if (this.step !== undefined) info.step = this.step;
    if (this.details.length > 0) info.details = this.details;
    return info;
  }
}

/** Error shape inside a result object: plain data, safe to print or serialise. */
export interface ErrorInfo {
  readonly code: ErrorCode;
  readonly message: string;
  readonly hint: string;
  readonly step?: string;
  readonly path?: string;
  readonly details?: readonly ProblemDetail[];
}

export function isBeddelError(value: unknown): value is BeddelError {
  return value instanceof BeddelError;
}
