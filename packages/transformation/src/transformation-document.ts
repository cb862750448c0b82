import type { ExecutionLimits, PlanStep } from '@beddel/contracts';
import { isJsonObject } from './plain-data.js';
import type { JsonObject, JsonValue } from './plain-data.js';
import type { PathSegment, Problem } from './problem-path.js';
import { stepSyntaxError } from './step-syntax.js';

const API_VERSION = 'beddel/v1';
const KIND = 'Transformation';

/** Limits a transformation may set for itself; the engine uses min(profile, transformation). */
export type TransformationLimits = Partial<Pick<ExecutionLimits, 'timeoutMs' | 'memoryLimitMb' | 'maxInputBytes' | 'maxOutputBytes'>>;

const LIMIT_KEYS = ['timeoutMs', 'memoryLimitMb', 'maxInputBytes', 'maxOutputBytes'] as const;
/** isolated-vm cannot run an isolate with less heap than this. */
const MIN_MEMORY_LIMIT_MB = 8;

const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/i;
const MAX_NAME_LENGTH = 100;
const VERSION_PATTERN = /^[0-9a-z][0-9a-z.+_-]*$/i;
const MAX_VERSION_LENGTH = 64;
const MAX_DESCRIPTION_LENGTH = 2000;
const STEP_NAME_PATTERN = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const RESERVED_STEP_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export interface DocumentRules {
  readonly maxSteps: number;
  readonly maxStepSourceBytes: number;
}

/** What could be read from a document. Fields are set only where the document got them right. */
export interface DocumentReading {
  readonly problems: Problem[];
  name?: string;
  version?: string;
  inputSchema?: JsonValue;
  outputSchema?: JsonValue;
  readonly limits: { -readonly [K in keyof TransformationLimits]: TransformationLimits[K] };
  readonly steps: PlanStep[];
}

/**
 * Checks the shape of a transformation document (already plain JSON data) and reads it.
 * Collects every problem it can find rather than stopping at the first. JSON Schemas are only
 * checked to be present here; compiling them is the compiler's job.
 */
export function readTransformationDocument(data: JsonValue, rules: DocumentRules): DocumentReading {
  const reading: DocumentReading = { problems: [], limits: {}, steps: [] };
  const problem = (path: readonly PathSegment[], message: string): void => {
    reading.problems.push({ path, message });
  };

  if (!isJsonObject(data)) {
    problem([], `the document must be a mapping (object) with apiVersion, kind, metadata and spec, not ${describe(data)}`);
    return reading;
  }
  checkKeys(data, [], ['apiVersion', 'kind', 'metadata', 'spec'], ['apiVersion', 'kind', 'metadata', 'spec'], problem);
  if (data.apiVersion !== undefined && data.apiVersion !== API_VERSION) problem(['apiVersion'], `must be "${API_VERSION}"`);
  if (data.kind !== undefined && data.kind !== KIND) problem(['kind'], `must be "${KIND}"`);

  const metadata = data.metadata;
  if (metadata !== undefined) {
    if (!isJsonObject(metadata)) problem(['metadata'], `must be a mapping (object) with name and version, not ${describe(metadata)}`);
    else readMetadata(metadata, reading, problem);
  }

  const spec = data.spec;
  if (spec !== undefined) {
    if (!isJsonObject(spec)) problem(['spec'], `must be a mapping (object) with steps, not ${describe(spec)}`);
    else readSpec(spec, reading, rules, problem);
  }
  return reading;
}

type ProblemSink = (path: readonly PathSegment[], message: string) => void;

function readMetadata(metadata: JsonObject, reading: DocumentReading, problem: ProblemSink): void {
  checkKeys(metadata, ['metadata'], ['name', 'version', 'description'], ['name', 'version'], problem);

  const { name, version, description } = metadata;
  if (name !== undefined) {
    if (typeof name !== 'string') problem(['metadata', 'name'], `must be a string, not ${describe(name)}`);
    else if (name.length === 0 || name.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) {
      problem(['metadata', 'name'], `must be 1-${MAX_NAME_LENGTH} characters of [A-Za-z0-9._-] starting with a letter or digit`);
    } else reading.name = name;
  }

  if (version !== undefined) {
    if (typeof version !== 'string') {
      // YAML reads `version: 1.10` as the number 1.1; converting it back would change the version.
      problem(['metadata', 'version'], `must be a string, not ${describe(version)}; quote it in YAML, e.g. version: "1.0"`);
    } else if (version.length === 0 || version.length > MAX_VERSION_LENGTH || !VERSION_PATTERN.test(version)) {
      problem(['metadata', 'version'], `must be 1-${MAX_VERSION_LENGTH} characters of [0-9A-Za-z.+_-] starting with a letter or digit, e.g. "1.0.0"`);
    } else reading.version = version;
  }

  if (description !== undefined) {
    if (typeof description !== 'string') problem(['metadata', 'description'], `must be a string, not ${describe(description)}`);
    else if (description.length > MAX_DESCRIPTION_LENGTH) problem(['metadata', 'description'], `must be at most ${MAX_DESCRIPTION_LENGTH} characters`);
  }
}

function readSpec(spec: JsonObject, reading: DocumentReading, rules: DocumentRules, problem: ProblemSink): void {
  checkKeys(spec, ['spec'], ['inputSchema', 'outputSchema', 'limits', 'steps'], ['steps'], problem);

  for (const key of ['inputSchema', 'outputSchema'] as const) {
    const schema = spec[key];
    if (schema === undefined) continue;
    if (typeof schema !== 'boolean' && !isJsonObject(schema)) problem(['spec', key], `must be a JSON Schema: a mapping (object) or a boolean, not ${describe(schema)}`);
    else reading[key] = schema;
  }

  if (spec.limits !== undefined) readLimits(spec.limits, reading, problem);
  if (spec.steps !== undefined) readSteps(spec.steps, reading, rules, problem);
}

function readLimits(limits: JsonValue, reading: DocumentReading, problem: ProblemSink): void {
  if (!isJsonObject(limits)) {
    problem(['spec', 'limits'], `must be a mapping (object) of ${LIMIT_KEYS.join(', ')}, not ${describe(limits)}`);
    return;
  }
  checkKeys(limits, ['spec', 'limits'], LIMIT_KEYS, [], problem);
  for (const key of LIMIT_KEYS) {
    const value = limits[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      problem(['spec', 'limits', key], `must be a positive integer, not ${describe(value)}`);
    } else if (key === 'memoryLimitMb' && value < MIN_MEMORY_LIMIT_MB) {
      problem(['spec', 'limits', key], `must be at least ${MIN_MEMORY_LIMIT_MB} (the smallest heap isolated-vm can run)`);
    } else reading.limits[key] = value;
  }
}

function readSteps(steps: JsonValue, reading: DocumentReading, rules: DocumentRules, problem: ProblemSink): void {
  if (!Array.isArray(steps)) {
    problem(['spec', 'steps'], `must be a sequence (array) of steps, not ${describe(steps)}`);
    return;
  }
  const list = steps as readonly JsonValue[];
  if (list.length === 0) problem(['spec', 'steps'], 'must have at least one step');
  if (list.length > rules.maxSteps) problem(['spec', 'steps'], `has ${list.length} steps; at most ${rules.maxSteps} are allowed`);

  const firstUse = new Map<string, number>();
  // Past maxSteps the document is invalid anyway: only the steps that could run are checked, so
  // thousands of steps inside the size cap cost no more than maxSteps (each body is parsed).
  list.slice(0, rules.maxSteps).forEach((step, index) => {
    const path = ['spec', 'steps', index];
    if (!isJsonObject(step)) {
      problem(path, `must be a mapping (object) with name and run, not ${describe(step)}`);
      return;
    }
    checkKeys(step, path, ['name', 'run'], ['name', 'run'], problem);
    const { name, run } = step;

    if (name !== undefined) {
      if (typeof name !== 'string') problem([...path, 'name'], `must be a string, not ${describe(name)}`);
      else if (!STEP_NAME_PATTERN.test(name)) problem([...path, 'name'], 'must be an identifier: [A-Za-z_$] followed by [A-Za-z0-9_$]');
      else if (RESERVED_STEP_NAMES.has(name)) problem([...path, 'name'], `"${name}" is reserved; choose another step name`);
      else {
        const earlier = firstUse.get(name);
        if (earlier !== undefined) problem([...path, 'name'], `duplicate step name "${name}" (also used by spec.steps[${earlier}])`);
        else firstUse.set(name, index);
      }
    }

    if (run !== undefined) {
      if (typeof run !== 'string') problem([...path, 'run'], `must be a string holding a JavaScript function body, not ${describe(run)}`);
      else if (run.trim() === '') problem([...path, 'run'], 'must not be empty: write a function body that returns the step result');
      else if (Buffer.byteLength(run, 'utf8') > rules.maxStepSourceBytes) problem([...path, 'run'], `is longer than ${rules.maxStepSourceBytes} bytes`);
      else {
        const syntaxError = stepSyntaxError(run);
        if (syntaxError !== undefined) problem([...path, 'run'], syntaxError);
      }
    }

    // Only used when the whole document has no problems, so no need to track which steps had some.
    if (typeof name === 'string' && typeof run === 'string') reading.steps.push({ name, run });
  });
}

/** Reports missing required keys and unknown keys (typos must not be silently ignored). */
function checkKeys(object: JsonObject, path: readonly PathSegment[], known: readonly string[], required: readonly string[], problem: ProblemSink): void {
  for (const key of required) {
    if (object[key] === undefined) problem([...path, key], 'is required');
  }
  for (const key of Object.keys(object)) {
    if (known.includes(key)) continue;
    const suggestion = known.find((candidate) => candidate.toLowerCase() === key.toLowerCase());
    problem([...path, key], `is not a known key${suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`}; expected ${known.join(', ')}`);
  }
}

function describe(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a sequence (array)';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return `the number ${value}`;
    case 'boolean':
      return `the boolean ${value}`;
    default:
      return 'a mapping (object)';
  }
}
