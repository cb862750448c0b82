import type { ProblemDetail } from '@beddel/contracts';
import { Ajv, MissingRefError } from 'ajv';
import type { AnySchema, ErrorObject, Options as AjvOptions, ValidateFunction } from 'ajv';
import { deepFreeze } from './plain-data.js';
import type { JsonValue } from './plain-data.js';
import { formatPath, limitProblems } from './problem-path.js';
import type { PathSegment } from './problem-path.js';

export type SchemaCompilation = { readonly ok: true; readonly check: (value: unknown, root: string) => readonly ProblemDetail[] } | { readonly ok: false; readonly messages: readonly string[] };

/**
 * `strict: false`: user schemas may carry keywords ajv does not know (`examples`, `x-...`).
 * No `$data`, no `loadSchema` (nothing is ever fetched), no formats (unknown formats are ignored),
 * and nothing printed.
 */
const AJV_OPTIONS: AjvOptions = { allErrors: true, strict: false, logger: false };

/**
 * One shared instance validates schemas against the draft-07 meta-schema, as data. It never
 * compiles a user schema, so it keeps no state from one transformation to the next.
 */
let metaSchemaValidator: Ajv | undefined;

/**
 * Compiles an untrusted JSON Schema. Each schema gets its own Ajv instance: Ajv registers every
 * `$id` it compiles, so a shared instance would let one transformation's schema resolve, clash
 * with, or keep alive another's.
 */
export function compileJsonSchema(schema: JsonValue): SchemaCompilation {
  if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
    return { ok: false, messages: ['must be a JSON Schema: a mapping (object) or a boolean'] };
  }
  const anySchema: AnySchema = schema;
  metaSchemaValidator ??= new Ajv(AJV_OPTIONS);
  try {
    if (metaSchemaValidator.validateSchema(anySchema) !== true) {
      const errors = metaSchemaValidator.errors ?? [];
      return { ok: false, messages: errors.map((error) => `is not a valid JSON Schema: ${error.instancePath === '' ? '' : `${error.instancePath} `}${error.message ?? error.keyword}`) };
    }
  } catch (error) {
    return { ok: false, messages: [`is not a valid JSON Schema: ${messageOf(error)}`] };
  }

  let validate: ValidateFunction;
  try {
    validate = new Ajv({ ...AJV_OPTIONS, validateSchema: false }).compile(anySchema);
  } catch (error) {
    if (error instanceof MissingRefError) {
      return { ok: false, messages: [`$ref "${error.missingRef}" cannot be resolved: only references inside the schema work, nothing is loaded from elsewhere`] };
    }
    return { ok: false, messages: [`is not a valid JSON Schema: ${messageOf(error)}`] };
  }
  // Ajv marks validators of `$async` schemas; they return promises, which the engine cannot use.
  if ((validate as { $async?: unknown }).$async === true) return { ok: false, messages: ['asynchronous schemas ($async) are not supported'] };

  return {
    ok: true,
    check: (value, root) => {
      if (validate(value) === true) return NO_PROBLEMS;
      const problems = (validate.errors ?? []).map((error) => toProblem(error, value, root));
      return deepFreeze([...limitProblems(problems, root)]);
    },
  };
}

const NO_PROBLEMS: readonly ProblemDetail[] = Object.freeze([]);

function toProblem(error: ErrorObject, value: unknown, root: string): ProblemDetail {
  const segments = pointerToSegments(error.instancePath, value);
  if (error.keyword === 'required') {
    const missing: unknown = error.params.missingProperty;
    if (typeof missing === 'string') return { path: formatPath([...segments, missing], root), message: 'is required' };
  }
  if (error.keyword === 'additionalProperties') {
    const extra: unknown = error.params.additionalProperty;
    if (typeof extra === 'string') return { path: formatPath([...segments, extra], root), message: 'is not allowed by the schema (additionalProperties)' };
  }
  return { path: formatPath(segments, root), message: error.message ?? `fails the "${error.keyword}" keyword` };
}

/**
 * Ajv reports locations as JSON Pointers (`/items/0/qty`). A pointer cannot tell an array index
 * from a key that looks like a number, so the value itself is walked to decide.
 */
function pointerToSegments(pointer: string, value: unknown): PathSegment[] {
  if (pointer === '') return [];
  let current: unknown = value;
  return pointer
    .split('/')
    .slice(1)
    .map((raw) => {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (Array.isArray(current)) {
        const index = Number(key);
        current = current[index];
        return index;
      }
      current = typeof current === 'object' && current !== null && Object.hasOwn(current, key) ? (current as Record<string, unknown>)[key] : undefined;
      return key;
    });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
