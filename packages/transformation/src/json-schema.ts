import { canonicalJson } from '@beddel/contracts';
import type { ProblemDetail } from '@beddel/contracts';
import { Ajv, MissingRefError, _ } from 'ajv';
import type { AnySchema, ErrorObject, FuncKeywordDefinition, Options as AjvOptions, ValidateFunction } from 'ajv';
import { BUDGET_KEYWORD, boundSchema } from './json-schema-bounds.js';
import type { BoundedPattern } from './json-schema-bounds.js';
import { deepFreeze } from './plain-data.js';
import type { JsonValue } from './plain-data.js';
import { formatPath, mapLimitedProblems } from './problem-path.js';
import type { PathSegment, Problem } from './problem-path.js';

/** Paths of `problems` are relative to the schema (`[]` is the schema itself). */
export type SchemaCompilation = { readonly ok: true; readonly check: (value: unknown, root: string) => readonly ProblemDetail[] } | { readonly ok: false; readonly problems: readonly Problem[] };

/**
 * Validation work allowed per character of the value validated, as JSON (counted without writing
 * it), and at least `MIN_VALIDATION_WORK`. One unit is one subschema applied
 * to one value, 16 characters compared for `enum`/`const`/`uniqueItems`, or 32 (character x
 * program size) steps of a regular expression. Past it, validation stops with a problem: work
 * stays linear in the data whatever the schema (recursion, wide combinators, many patterns).
 */
export const VALIDATION_WORK_PER_DATA_UNIT = 4;
export const MIN_VALIDATION_WORK = 100_000;
/** Counting the data stops here: a value this large exceeds any budget anyway. */
const MAX_COUNTED_DATA_UNITS = 1 << 24;

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
 * with, or keep alive another's. The schema must first fit the caps of json-schema-bounds.ts.
 */
export function compileJsonSchema(schema: JsonValue): SchemaCompilation {
  if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
    return failed(['must be a JSON Schema: a mapping (object) or a boolean']);
  }
  const bounded = boundSchema(schema);
  if (!bounded.ok) return bounded;
  const anySchema: AnySchema = schema;
  metaSchemaValidator ??= new Ajv(AJV_OPTIONS);
  try {
    if (metaSchemaValidator.validateSchema(anySchema) !== true) {
      const errors = metaSchemaValidator.errors ?? [];
      return failed(errors.map((error) => `is not a valid JSON Schema: ${error.instancePath === '' ? '' : `${error.instancePath} `}${error.message ?? error.keyword}`));
    }
  } catch (error) {
    return failed([`is not a valid JSON Schema: ${messageOf(error)}`]);
  }

  let validate: ValidateFunction;
  try {
    validate = boundedAjv(bounded.patterns).compile(bounded.schema);
  } catch (error) {
    if (error instanceof MissingRefError) {
      return failed([`$ref "${error.missingRef}" cannot be resolved: only references inside the schema work, nothing is loaded from elsewhere`]);
    }
    return failed([`is not a valid JSON Schema: ${messageOf(error)}`]);
  }
  // Ajv marks validators of `$async` schemas; they return promises, which the engine cannot use.
  if ((validate as { $async?: unknown }).$async === true) return failed(['asynchronous schemas ($async) are not supported']);

  return {
    ok: true,
    check: (value, root) => {
      const data = measureData(value);
      const { maxDataDepth } = bounded;
      if (maxDataDepth !== undefined && data.depth > maxDataDepth) {
        // Each level of data is a level of recursion in the validator: deeper, and the host's
        // stack could run out.
        return deepFreeze([
          { path: root, message: `is nested ${data.depth} levels deep; this recursive schema validates at most ${maxDataDepth} (MAX_RECURSIVE_DATA_DEPTH, fewer for large recursive schemas)` },
        ]);
      }
      const budget = Math.max(MIN_VALIDATION_WORK, VALIDATION_WORK_PER_DATA_UNIT * data.units);
      const run = budgeted(budget, () => validate(value));
      if (!run.ok) return deepFreeze([{ path: root, message: tooMuchWork(run.error, budget) }]);
      if (run.result === true) return NO_PROBLEMS;
      return deepFreeze(mapLimitedProblems(validate.errors ?? [], (error) => toProblem(error, value, root), root));
    },
  };
}

/**
 * Most errors one validation collects before it stops (the value is then invalid, with these
 * errors listed). Ajv lists every failing keyword, and a 2 MB value failing 64 keywords per item
 * made millions of error objects: seconds and gigabytes on the host.
 */
export const MAX_VALIDATION_ERRORS = 10_000;

type BudgetedRun = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: ValidationBudgetExceeded | RangeError };

/** Runs one validation with `budget` units of work. Its failures are the tenant's, never internal errors. */
function budgeted(budget: number, run: () => unknown): BudgetedRun {
  const outer = remainingWork;
  const outerKeys = canonicalKeys;
  remainingWork = budget;
  canonicalKeys = new WeakMap();
  try {
    return { ok: true, result: run() };
  } catch (error) {
    // A stack overflow: recursion in the schema over data nested deeply.
    if (error instanceof ValidationBudgetExceeded || error instanceof RangeError) return { ok: false, error };
    throw error;
  } finally {
    remainingWork = outer;
    canonicalKeys = outerKeys;
  }
}

function tooMuchWork(error: ValidationBudgetExceeded | RangeError, budget: number): string {
  if (error instanceof ValidationBudgetExceeded) {
    return `validating against the schema takes more than ${budget} units of work (${VALIDATION_WORK_PER_DATA_UNIT} per value or character of the data, at least ${MIN_VALIDATION_WORK}); simplify the schema`;
  }
  // A backstop: the depth allowed to recursive schemas should keep it unreachable.
  return `is nested too deeply to validate against the schema (${error.message})`;
}

function failed(messages: readonly string[]): SchemaCompilation {
  return { ok: false, problems: messages.map((message) => ({ path: [], message })) };
}

class ValidationBudgetExceeded extends Error {}

type RegExpEngine = NonNullable<NonNullable<AjvOptions['code']>['regExp']>;

/** Work left for the validation running now (validation is synchronous, so one at a time). */
let remainingWork = Number.POSITIVE_INFINITY;
/** Canonical JSON of the objects of the value validated now: each is serialised once, however many `enum`s test it. */
let canonicalKeys = new WeakMap<object, string | undefined>();

function chargeOne(): void {
  charge(1);
}

function charge(units: number): void {
  remainingWork -= units;
  if (remainingWork < 0) throw new ValidationBudgetExceeded('validation work budget exceeded');
}

/**
 * About the length of `value` as JSON text, as the validation budget counts it (so a value gets
 * the same budget however it is written, and a bigger input buys no more work per byte), and how
 * deeply it is nested.
 */
function measureData(value: unknown): { units: number; depth: number } {
  let units = 0;
  let depth = 0;
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0 && units < MAX_COUNTED_DATA_UNITS) {
    const [item, level] = pending.pop() as [unknown, number];
    if (level > depth) depth = level;
    if (typeof item === 'string') units += item.length + 3;
    else if (Array.isArray(item)) {
      units += 2;
      for (const element of item as unknown[]) pending.push([element, level + 1]);
    } else if (typeof item === 'object' && item !== null) {
      units += 2;
      for (const [key, child] of Object.entries(item)) {
        units += key.length + 4;
        pending.push([child, level + 1]);
      }
    } else units += 2;
  }
  return { units, depth };
}

/**
 * An Ajv whose regular expressions run on RE2 (re2js: linear time, no backtracking), through
 * ajv's `code.regExp` option, which serves both `pattern` and `patternProperties` (and the key
 * tests of `additionalProperties`). Each test is charged to the budget by string length times
 * program size. `enum`, `const` and `uniqueItems` are replaced by keywords that compare canonical
 * JSON text (so cost is linear in the data, not values x data or items squared), and every
 * subschema carries `BUDGET_KEYWORD`, charged once per application.
 */
function boundedAjv(patterns: ReadonlyMap<string, BoundedPattern>): Ajv {
  const regExp: RegExpEngine = Object.assign(
    (source: string) => {
      const pattern = patterns.get(source);
      // boundSchema compiled every pattern of the schema; any other would be a bug of ours.
      if (pattern === undefined) throw new Error(`pattern ${JSON.stringify(source)} was not checked`);
      return {
        test: (text: string): boolean => {
          charge(Math.ceil(((text.length + 1) * pattern.size) / 32));
          return pattern.regex.test(text);
        },
        // Ajv keys its compiled patterns by this text.
        toString: () => `re2:${source}`,
      };
    },
    { code: 're2js' },
  );
  // inlineRefs: false: a referenced schema is compiled once, not copied into every place using it.
  // optimize: false: ajv's optimising passes took most of the compile time of big schemas.
  const ajv = new Ajv({ ...AJV_OPTIONS, validateSchema: false, inlineRefs: false, code: { regExp, optimize: false } });
  ajv.removeKeyword('enum');
  ajv.removeKeyword('const');
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword(ENUM_KEYWORD);
  ajv.addKeyword(CONST_KEYWORD);
  ajv.addKeyword(UNIQUE_ITEMS_KEYWORD);
  // Generated inline (a `validate` keyword would allocate a context object per application). It
  // also stops collecting errors past MAX_VALIDATION_ERRORS: `errors` and `vErrors` are the error
  // count and list of ajv's generated function, which then returns false with what it has. (Inside
  // an anyOf whose branches fail on that many values before one passes, this makes the value invalid.)
  ajv.addKeyword({
    keyword: BUDGET_KEYWORD,
    schemaType: 'boolean',
    code: (cxt) => {
      const { gen, it } = cxt;
      gen.code(_`${gen.scopeValue('func', { ref: chargeOne })}()`);
      gen.if(_`errors > ${MAX_VALIDATION_ERRORS}`, () => gen.assign(_`${it.validateName}.errors`, _`vErrors`).return(false));
    },
  });
  return ajv;
}

/** Canonical JSON text of an object or array, charged to the budget; undefined for what is not JSON data. */
function chargedKey(value: object): string | undefined {
  if (canonicalKeys.has(value)) return canonicalKeys.get(value);
  let key: string | undefined;
  try {
    key = canonicalJson(value);
    charge(Math.ceil(key.length / 16));
  } catch (error) {
    if (error instanceof ValidationBudgetExceeded) throw error;
    key = undefined;
  }
  canonicalKeys.set(value, key);
  return key;
}

function isComposite(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** Scalars are looked up as they are (0 and -0 alike, as JSON Schema says); objects and arrays by canonical JSON. */
function matcher(values: readonly unknown[]): (data: unknown) => boolean {
  const scalars = new Set(values.filter((value) => !isComposite(value)));
  const composites = new Set(values.filter(isComposite).map((value) => canonicalJson(value)));
  return (data) => {
    charge(1);
    if (!isComposite(data)) return scalars.has(data);
    if (composites.size === 0) return false;
    const key = chargedKey(data);
    return key !== undefined && composites.has(key);
  };
}

const ENUM_KEYWORD: FuncKeywordDefinition = {
  keyword: 'enum',
  schemaType: 'array',
  errors: false,
  error: { message: 'must be equal to one of the allowed values', params: ({ schemaCode }) => _`{allowedValues: ${schemaCode}}` },
  compile: (values: readonly unknown[]) => matcher(values),
};

const CONST_KEYWORD: FuncKeywordDefinition = {
  keyword: 'const',
  errors: false,
  error: { message: 'must be equal to constant', params: ({ schemaCode }) => _`{allowedValue: ${schemaCode}}` },
  compile: (value: unknown) => matcher([value]),
};

interface UniqueItemsCheck {
  (data: unknown): boolean;
  errors?: Partial<ErrorObject>[];
}

const UNIQUE_ITEMS_KEYWORD: FuncKeywordDefinition = {
  keyword: 'uniqueItems',
  type: 'array',
  schemaType: 'boolean',
  compile: (unique: boolean) => {
    const check: UniqueItemsCheck = (data) => {
      check.errors = undefined;
      if (!unique || !Array.isArray(data)) return true;
      const seen = new Map<string, number>();
      for (let index = 0; index < data.length; index++) {
        const item: unknown = data[index];
        const key = isComposite(item) ? chargedKey(item) : `${typeof item}:${String(item)}`;
        charge(1);
        if (key === undefined) continue;
        const earlier = seen.get(key);
        if (earlier !== undefined) {
          check.errors = [{ keyword: 'uniqueItems', message: `must NOT have duplicate items (items ## ${earlier} and ${index} are identical)`, params: { i: index, j: earlier } }];
          return false;
        }
        seen.set(key, index);
      }
      return true;
    };
    return check;
  },
};

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
