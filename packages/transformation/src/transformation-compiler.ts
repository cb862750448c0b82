import { BeddelError, DEFAULT_LIMITS, ErrorCodes, canonicalJson, sha256Hex } from '@beddel/contracts';
import type { ExecutablePlan, ProblemDetail, TransformationRef } from '@beddel/contracts';
import { compileJsonSchema } from './json-schema.js';
import type { SchemaCompilation } from './json-schema.js';
import { LruCache } from './lru-cache.js';
import { deepFreeze, toPlainData } from './plain-data.js';
import type { JsonValue } from './plain-data.js';
import { formatPath, mapLimitedProblems } from './problem-path.js';
import type { PathSegment, Problem } from './problem-path.js';
import { parseYaml } from './safe-yaml.js';
import { readTransformationDocument } from './transformation-document.js';
import type { TransformationLimits } from './transformation-document.js';

/** A transformation that passed every check, ready for the engine. Everything in it is frozen. */
export interface CompiledTransformation {
  /** Plain, deep-frozen data for the executor: `{ id, name, version, steps: [{ name, run }] }`. */
  readonly plan: ExecutablePlan;
  /** `sha256` is `plan.id`, the SHA-256 of the source. */
  readonly ref: TransformationRef;
  /** Only the limits the document sets; the engine uses min(profile, transformation). */
  readonly limits: TransformationLimits;
  /** Checks a value against spec.inputSchema; `[]` when valid or when there is no schema. Paths start with `input`. */
  validateInput(value: unknown): readonly ProblemDetail[];
  /** Checks a value against spec.outputSchema; `[]` when valid or when there is no schema. Paths start with `output`. */
  validateOutput(value: unknown): readonly ProblemDetail[];
}

export interface TransformationCompilerOptions {
  /** Cap on the source: YAML text in UTF-8 bytes, or an object's canonical JSON. Default 256 KiB. */
  readonly maxSourceBytes?: number;
  /** How often anchored YAML content may be repeated through aliases (yaml's maxAliasCount). Default 50. */
  readonly maxAliasCount?: number;
  /** Most steps a transformation may have. Default 32 (`DEFAULT_LIMITS.maxSteps`). */
  readonly maxSteps?: number;
  /** Cap on each step's `run` body, in UTF-8 bytes. Default 64 KiB. */
  readonly maxStepSourceBytes?: number;
  /** How many compiled transformations, and how many compiled schemas, to keep, least recently used out first; 0 disables both caches. Default 256. */
  readonly cacheSize?: number;
}

export type TransformationValidation =
  | { readonly ok: true; readonly transformation: CompiledTransformation; readonly problems: [] }
  | { readonly ok: false; readonly problems: readonly ProblemDetail[] };

export const DEFAULT_TRANSFORMATION_COMPILER_OPTIONS: Readonly<Required<TransformationCompilerOptions>> = Object.freeze({
  maxSourceBytes: 256 * 1024,
  maxAliasCount: 50,
  maxSteps: DEFAULT_LIMITS.maxSteps,
  maxStepSourceBytes: 64 * 1024,
  cacheSize: 256,
});

/** Most levels of nested mappings and sequences a document may have, the root mapping included. */
export const MAX_DOCUMENT_DEPTH = 64;

const NO_PROBLEMS: readonly ProblemDetail[] = Object.freeze([]);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

type Outcome = { readonly ok: true; readonly transformation: CompiledTransformation } | { readonly ok: false; readonly problems: readonly ProblemDetail[]; readonly total: number };

/**
 * Turns transformation documents (YAML text, or an object such as parsed JSON) into
 * `CompiledTransformation`s. Keeps the last `cacheSize` results by source SHA-256, so compiling
 * the same source again returns the same object without parsing or compiling schemas again.
 */
export class TransformationCompiler {
  readonly #options: Readonly<Required<TransformationCompilerOptions>>;
  readonly #cache: LruCache<string, CompiledTransformation>;
  /**
   * Compiled schemas by SHA-256 of their canonical JSON: the source cache misses on any change to
   * the text (a comment, a step), and compiling a large schema is the costly part. A compiled
   * schema holds no data of the values it checks, so identical schemas may share one.
   */
  readonly #schemaCache: LruCache<string, SchemaCompilation>;

  constructor(options: TransformationCompilerOptions = {}) {
    this.#options = resolveOptions(options);
    this.#cache = new LruCache(this.#options.cacheSize);
    this.#schemaCache = new LruCache(this.#options.cacheSize);
  }

  #compileSchema(schema: JsonValue): SchemaCompilation {
    const key = sha256Hex(canonicalJson(schema));
    const cached = this.#schemaCache.get(key);
    if (cached !== undefined) return cached;
    const compiled = compileJsonSchema(schema);
    this.#schemaCache.set(key, compiled);
    return compiled;
  }

  /**
   * Throws `BeddelError` with code `BEDDEL_INVALID_TRANSFORMATION` when the document has problems:
   * `details` lists every problem (path and message), `path` and the message name the first.
   */
  compile(source: string | object): CompiledTransformation {
    const outcome = this.#compile(source);
    if (outcome.ok) return outcome.transformation;
    throw invalidTransformation(outcome.problems, outcome.total);
  }

  /** Like `compile`, but returns the problems instead of throwing them. */
  validate(source: string | object): TransformationValidation {
    const outcome = this.#compile(source);
    return outcome.ok ? { ok: true, transformation: outcome.transformation, problems: [] } : { ok: false, problems: outcome.problems };
  }

  #compile(source: unknown): Outcome {
    const options = this.#options;
    const identified = identify(source, options.maxSourceBytes);
    if (!identified.ok) return failure(identified.problems, () => '');
    const cached = this.#cache.get(identified.id);
    if (cached !== undefined) return { ok: true, transformation: cached };

    let data: JsonValue;
    let locate: (path: readonly PathSegment[]) => string = () => '';
    if (identified.text !== undefined) {
      const parsed = parseYaml(identified.text, { maxAliasCount: options.maxAliasCount, maxDepth: MAX_DOCUMENT_DEPTH });
      if (parsed.problems.length > 0) return failure(parsed.problems, () => '', parsed.problemCount);
      locate = (path) => parsed.locate(path);
      const plain = toPlainData(parsed.value, { maxJsonChars: options.maxSourceBytes, maxDepth: MAX_DOCUMENT_DEPTH });
      if (!plain.ok) return failure(plain.problems, locate);
      data = plain.value;
    } else {
      data = identified.data;
    }

    const reading = readTransformationDocument(data, options);
    const problems = [...reading.problems];
    const checks: Partial<Record<'inputSchema' | 'outputSchema', (value: unknown, root: string) => readonly ProblemDetail[]>> = {};
    for (const key of ['inputSchema', 'outputSchema'] as const) {
      const schema = reading[key];
      if (schema === undefined) continue;
      const compiled = this.#compileSchema(schema);
      if (compiled.ok) checks[key] = compiled.check;
      else for (const problem of compiled.problems) problems.push({ path: ['spec', key, ...problem.path], message: problem.message });
    }
    const { name, version } = reading;
    if (problems.length > 0 || name === undefined || version === undefined) return failure(problems, locate);

    const inputCheck = checks.inputSchema;
    const outputCheck = checks.outputSchema;
    const transformation: CompiledTransformation = Object.freeze({
      plan: deepFreeze({ id: identified.id, name, version, steps: reading.steps.map((step) => ({ name: step.name, run: step.run })) }),
      ref: Object.freeze({ name, version, sha256: identified.id }),
      limits: Object.freeze({ ...reading.limits }),
      validateInput: inputCheck === undefined ? () => NO_PROBLEMS : (value: unknown) => inputCheck(value, 'input'),
      validateOutput: outputCheck === undefined ? () => NO_PROBLEMS : (value: unknown) => outputCheck(value, 'output'),
    });
    this.#cache.set(identified.id, transformation);
    return { ok: true, transformation };
  }
}

/**
 * The id of a transformation source: SHA-256 (hex) of the text as UTF-8, or of the canonical JSON
 * (RFC 8785) of an object. Equals `ref.sha256` and `plan.id` of what `compile` returns for it.
 * Throws `BEDDEL_INVALID_TRANSFORMATION` when the source is larger than `maxSourceBytes`
 * (default 256 KiB), is text that is not well-formed Unicode, or is an object that is not JSON data.
 */
export function transformationId(source: string | object, options: Pick<TransformationCompilerOptions, 'maxSourceBytes'> = {}): string {
  const identified = identify(source, resolveOptions(options).maxSourceBytes);
  if (identified.ok) return identified.id;
  const problems = identified.problems.map(toDetail(() => ''));
  throw invalidTransformation(problems, problems.length);
}

type Identified =
  | { readonly ok: true; readonly id: string; readonly text: string; readonly data?: undefined }
  | { readonly ok: true; readonly id: string; readonly text?: undefined; readonly data: JsonValue }
  | { readonly ok: false; readonly problems: readonly Problem[] };

function identify(source: unknown, maxSourceBytes: number): Identified {
  if (typeof source === 'string') {
    const bytes = Buffer.byteLength(source, 'utf8');
    if (bytes > maxSourceBytes) return { ok: false, problems: [{ path: [], message: `the source is ${bytes} bytes; at most ${maxSourceBytes} are allowed` }] };
    const surrogate = LONE_SURROGATE.exec(source);
    if (surrogate !== null) {
      // Such text has no UTF-8 form: hashing would map different texts to the same id.
      return { ok: false, problems: [{ path: [], message: `the source is not well-formed Unicode (lone surrogate at character ${surrogate.index})` }] };
    }
    return { ok: true, id: sha256Hex(source), text: source };
  }
  if (typeof source !== 'object' || source === null) {
    return { ok: false, problems: [{ path: [], message: `the source must be YAML text (a string) or a plain object, not ${source === null ? 'null' : typeof source}` }] };
  }
  const plain = toPlainData(source, { maxJsonChars: maxSourceBytes, maxDepth: MAX_DOCUMENT_DEPTH });
  if (!plain.ok) return plain;
  const json = canonicalJson(plain.value);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxSourceBytes) return { ok: false, problems: [{ path: [], message: `the source is ${bytes} bytes as canonical JSON; at most ${maxSourceBytes} are allowed` }] };
  return { ok: true, id: sha256Hex(json), data: plain.value };
}

function failure(problems: readonly Problem[], locate: (path: readonly PathSegment[]) => string, total = problems.length): Outcome {
  // Cut before formatting: finding a line walks the YAML, and there may be thousands of problems.
  const details = mapLimitedProblems(problems, toDetail(locate), '');
  return { ok: false, problems: deepFreeze(details), total };
}

function toDetail(locate: (path: readonly PathSegment[]) => string): (problem: Problem) => ProblemDetail {
  return (problem) => ({ path: formatPath(problem.path), message: `${problem.message}${locate(problem.path)}` });
}

function invalidTransformation(problems: readonly ProblemDetail[], total: number): BeddelError {
  const first = problems[0] ?? { path: '', message: 'the document is not valid' };
  const where = first.path === '' ? '' : `${first.path}: `;
  const more = total > 1 ? ` (and ${total - 1} more problem${total > 2 ? 's' : ''})` : '';
  return new BeddelError(ErrorCodes.INVALID_TRANSFORMATION, `Invalid transformation: ${where}${first.message}${more}`, {
    ...(first.path === '' ? {} : { path: first.path }),
    details: problems,
  });
}

function resolveOptions(options: TransformationCompilerOptions): Readonly<Required<TransformationCompilerOptions>> {
  const resolved = { ...DEFAULT_TRANSFORMATION_COMPILER_OPTIONS };
  for (const key of Object.keys(resolved) as (keyof TransformationCompilerOptions)[]) {
    const value = options[key];
    if (value === undefined) continue;
    const min = key === 'cacheSize' || key === 'maxAliasCount' ? 0 : 1;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new BeddelError(ErrorCodes.CONFIGURATION, `TransformationCompiler option ${key} must be an integer of at least ${min}, got ${String(value)}`);
    }
    resolved[key] = value;
  }
  return Object.freeze(resolved);
}
