import { BeddelError, ErrorCodes } from '@beddel/contracts';
import { describe, expect, it } from 'vitest';
import { TransformationCompiler } from './transformation-compiler.js';

/*
 * Attacks on the host thread: everything here runs in the engine's process, on its one event loop,
 * outside any deadline. Each payload fits inside the caps a tenant is given and took seconds before
 * the work was bounded; the bound asserted is generous for a noisy machine but far below that.
 */

/** yaml's own (linear) parse of 100 KB of broken YAML takes ~150 ms here; unbounded mapping took 13 s. */
const YAML_BOUND_MS = 1_000;

function timed<T>(work: () => T): { result: T; ms: number } {
  const started = performance.now();
  const result = work();
  return { result, ms: performance.now() - started };
}

function compileError(source: string | object): BeddelError {
  try {
    new TransformationCompiler({ cacheSize: 0 }).compile(source);
  } catch (error) {
    if (error instanceof BeddelError) return error;
    throw error;
  }
  throw new Error('expected the transformation to be rejected');
}

describe('YAML problems are collected within a bound', () => {
  it('maps the paths of only the problems it lists (10,000 errors in a 100 KB document)', () => {
    // Every item carries two anchors: one YAML error each, 10,000 in all, inside the 256 KiB cap.
    const source = '- &a &b x\n'.repeat(10_000);
    expect(source.length).toBeLessThan(256 * 1024);
    const { result: error, ms } = timed(() => compileError(source));
    expect(error.code).toBe(ErrorCodes.INVALID_TRANSFORMATION);
    expect(error.details).toHaveLength(100);
    expect(error.details?.[0]).toEqual({ path: '', message: 'A node can have at most one anchor (line 1, column 6)' });
    expect(error.details?.[99]).toEqual({ path: '', message: '9901 more problems not listed' });
    expect(error.message).toBe('Invalid transformation: A node can have at most one anchor (line 1, column 6) (and 9999 more problems)');
    expect(ms).toBeLessThan(YAML_BOUND_MS);
  });

  it('maps the paths of only the problems it lists for node checks too (duplicate keys, tags)', () => {
    const source = `items:\n${'  - !!str x\n'.repeat(10_000)}`;
    const { result: error, ms } = timed(() => compileError(source));
    expect(error.code).toBe(ErrorCodes.INVALID_TRANSFORMATION);
    expect(error.details?.[0]).toEqual({ path: 'items[0]', message: 'explicit YAML tags are not allowed (found !!str) (line 2, column 11)' });
    expect(error.details?.[99]).toEqual({ path: '', message: '9901 more problems not listed' });
    expect(ms).toBeLessThan(YAML_BOUND_MS);
  });
});
