import { afterEach, describe, expect, it } from 'vitest';
import { stepSyntaxError } from './step-syntax.js';

const globals = globalThis as Record<string, unknown>;

describe('stepSyntaxError', () => {
  afterEach(() => {
    delete globals.stepSyntaxSideEffect;
  });

  it('accepts valid strict-mode function bodies', () => {
    expect(stepSyntaxError('return input.items.reduce((s, i) => s + i.qty * i.price, 0);')).toBeUndefined();
    expect(stepSyntaxError('const x = steps.total;\nreturn { x }; // trailing comment')).toBeUndefined();
    expect(stepSyntaxError('')).toBeUndefined();
  });

  it('reports syntax errors with the parser message', () => {
    expect(stepSyntaxError('return (;')).toMatch(/^SyntaxError: /);
  });

  it('rejects text that tries to close the function and run code outside it', () => {
    expect(stepSyntaxError('}); evil(); (function(){')).toMatch(/^SyntaxError: /);
    expect(stepSyntaxError('}\nevil();\nfunction x() {')).toMatch(/^SyntaxError: /);
  });

  it('parses in strict mode', () => {
    expect(stepSyntaxError('with (input) { return x; }')).toMatch(/^SyntaxError: .*with/);
    expect(stepSyntaxError('var let = 1; return let;')).toMatch(/^SyntaxError: /);
  });

  it('parses a synchronous, non-generator body', () => {
    expect(stepSyntaxError('return await input;')).toMatch(/^SyntaxError: /);
    expect(stepSyntaxError('yield 1;')).toMatch(/^SyntaxError: /);
  });

  it('never runs the body', () => {
    expect(stepSyntaxError('globalThis.stepSyntaxSideEffect = 1; return 1;')).toBeUndefined();
    expect(globals.stepSyntaxSideEffect).toBeUndefined();
  });

  it('reports code too deeply nested for the parser instead of throwing', () => {
    const body = `return ${'('.repeat(50_000)}1${')'.repeat(50_000)};`;
    expect(stepSyntaxError(body)).toMatch(/nested too deeply/);
  });
});
