import type { BenchTransformation } from '../corpus.js';

export interface ExecResult {
  readonly ok: boolean;
  /** The output as a host value (every engine parses the JSON that leaves its sandbox, as Beddel does). */
  readonly output?: unknown;
  /** Heap one execution added (see docs/benchmarks.md for how each engine measures it). */
  readonly heapBytes: number;
  readonly error?: string;
}

/**
 * One engine under test. `run` takes the input as a host value and returns the output as a host
 * value, so every engine pays for serialising the input, parsing it inside the sandbox,
 * serialising the output there and parsing it on the host, exactly like Beddel does.
 */
export interface BenchEngine {
  readonly id: string;
  /** Keeps several executions in flight usefully (worker processes); synchronous engines do not. */
  readonly parallelism: number;
  prepare(transformation: BenchTransformation): void;
  run(transformation: BenchTransformation, input: unknown, tenant: string): Promise<ExecResult>;
  /** Sandbox processes besides this one (for RSS), if any. */
  workerPids(): readonly number[];
  close(): Promise<void>;
}

export interface EngineFactory {
  readonly id: string;
  readonly description: string;
  create(): Promise<BenchEngine>;
}

/**
 * The program competitor engines run: the same semantics as Beddel's guest harness (input parsed
 * from JSON inside the sandbox, steps called in order with `input` and `steps`, the last value
 * serialised to JSON), without Beddel's realm hardening. The input arrives as the global string
 * `__benchInput`.
 */
export function guestProgram(transformation: BenchTransformation): string {
  const functions = transformation.steps.map((step) => `function (input, steps) {\n${step.run}\n}`).join(',\n');
  return `'use strict';
(function (inputJson) {
  const stepFunctions = [\n${functions}\n];
  const stepNames = ${JSON.stringify(transformation.steps.map((step) => step.name))};
  const input = JSON.parse(inputJson);
  const results = Object.create(null);
  let value = null;
  for (let i = 0; i < stepFunctions.length; i++) {
    value = stepFunctions[i](input, results);
    results[stepNames[i]] = value;
  }
  const json = JSON.stringify(value === undefined ? null : value);
  return json === undefined ? 'null' : json;
})(globalThis.__benchInput)`;
}

export const BENCH_TIMEOUT_MS = 5_000;
/** Same heap limit as Beddel's default profile. */
export const BENCH_MEMORY_LIMIT_MB = 64;

export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
