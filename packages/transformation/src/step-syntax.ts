/** The names a step body sees; the executor must bind the same two, in this order. */
export const STEP_PARAMETERS = ['input', 'steps'] as const;

/**
 * Checks that `body` is, on its own, a valid strict-mode function body, without running it.
 *
 * `new Function(...params, body)` parses the parameters and the body separately (and the body as
 * a FunctionBody), so text such as `}); evil(); (function(){` that would break out of a textual
 * wrapper is a SyntaxError here. The function is created and dropped; it is never called.
 *
 * Returns the parser's message, or undefined when the body is valid.
 */
export function stepSyntaxError(body: string): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- parse only: the function is never called
    new Function(...STEP_PARAMETERS, `"use strict";\n${body}`);
    return undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return `SyntaxError: ${error.message}`;
    // V8 throws a RangeError when the parser's own stack runs out on deeply nested code.
    if (error instanceof RangeError) return `the code is nested too deeply to parse (${error.message})`;
    throw error;
  }
}
