import { RE2JS } from 're2js';
import { isJsonObject } from './plain-data.js';
import type { JsonObject, JsonValue } from './plain-data.js';
import type { PathSegment, Problem } from './problem-path.js';

/*
 * Tenant JSON Schemas are compiled, and inputs and outputs validated against them, on the host's
 * event loop, outside any deadline. These caps keep that work bounded by construction: each one is
 * checked on the schema as data, before ajv sees it, and a schema over a cap is an invalid
 * transformation naming the cap and the path. Validation itself is bounded by a work budget
 * (json-schema.ts), which these caps make predictable.
 */

/** Most UTF-8 bytes of a schema written as JSON. */
export const MAX_SCHEMA_BYTES = 64 * 1024;
/** Most subschemas (schema objects and booleans) a schema may contain. */
export const MAX_SUBSCHEMAS = 2_000;
/**
 * Most subschemas once every `$ref` is replaced by what it points to (a recursive `$ref` counts
 * once). Without it, twenty definitions that each refer twice to the next make 2^20 checks per value.
 */
export const MAX_EXPANDED_SUBSCHEMAS = 10_000;
/** Most levels of subschemas inside subschemas, counted through `$ref`s too. */
export const MAX_SCHEMA_DEPTH = 32;
/** Most regular expressions (`pattern`, and the keys of `patternProperties`) in a schema. */
export const MAX_SCHEMA_PATTERNS = 256;
/** Most characters of one regular expression's source. */
export const MAX_PATTERN_LENGTH = 1_000;
/**
 * Most size of one regular expression with its counted repetitions written out (`a{3}` is 3,
 * `(ab){2,5}` is 10): the linear-time engine's program, and so its compile time and the time per
 * character it tests, grows with this size, not with the source length.
 */
export const MAX_PATTERN_SIZE = 1_000;
/** Most size (as `MAX_PATTERN_SIZE` counts it) of all regular expressions of a schema together. */
export const MAX_TOTAL_PATTERN_SIZE = 16_000;
/** Most values of one `enum`. */
export const MAX_ENUM_VALUES = 1_000;
/** Most branches of one `allOf`, `anyOf` or `oneOf`, and most schemas of an `items` array. */
export const MAX_COMBINATOR_WIDTH = 64;

/**
 * Deepest data a recursive schema validates. Each level of data is a call of the validator, whose
 * stack frame grows with the subschemas compiled into it, so a recursive schema of `w` keywords
 * (summed over the schemas it recurses into) validates at most `RECURSION_STACK_WEIGHT / w`
 * levels, between `MIN_RECURSIVE_DATA_DEPTH` and this. Measured on Node 20: the stack ran out at
 * about 70,000 (keywords x levels), so the quotient keeps a margin of about nine, and the minimum
 * still fits the largest recursive schema the caps allow (about 10,000 keywords in 64 KiB).
 */
export const MAX_RECURSIVE_DATA_DEPTH = 256;
const MIN_RECURSIVE_DATA_DEPTH = 4;
const RECURSION_STACK_WEIGHT = 8_000;

/** Added by us to every schema object to charge the validation budget; a tenant may not use it. */
export const BUDGET_KEYWORD = '$beddelBudget';

/** A `pattern` compiled for the linear-time engine, with the size it costs per tested character. */
export interface BoundedPattern {
  readonly regex: RE2JS;
  readonly size: number;
}

export type BoundedSchema =
  | { readonly ok: true; readonly schema: JsonObject | boolean; readonly patterns: ReadonlyMap<string, BoundedPattern>;
      /** For a recursive schema, how deeply nested data it validates; undefined when it does not recurse. */
      readonly maxDataDepth: number | undefined;
    }
  | { readonly ok: false; readonly problems: readonly Problem[] };

const SINGLE_IN_PLACE = ['not', 'if', 'then', 'else'] as const;
const LIST_IN_PLACE = ['allOf', 'anyOf', 'oneOf'] as const;
const SINGLE_DESCENDING = ['additionalItems', 'additionalProperties', 'contains', 'propertyNames'] as const;
const MAP_DESCENDING = ['properties', 'patternProperties'] as const;
const MAP_UNAPPLIED = ['definitions', '$defs'] as const;

/**
 * Checks an untrusted schema against every cap above, and returns a copy in which every schema
 * object carries `BUDGET_KEYWORD`, with its patterns compiled for RE2. The schema may be of any
 * shape (the draft-07 meta-schema check comes later): values of the wrong type are skipped here.
 */
export function boundSchema(schema: JsonValue): BoundedSchema {
  const json = JSON.stringify(schema);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > MAX_SCHEMA_BYTES) return { ok: false, problems: [{ path: [], message: `the schema is ${bytes} bytes as JSON; at most ${MAX_SCHEMA_BYTES} are allowed (MAX_SCHEMA_BYTES)` }] };
  // A copy: the budget keyword is added to it, and YAML aliases no longer share objects in it.
  const copy = JSON.parse(json) as JsonValue;
  if (typeof copy !== 'boolean' && !isJsonObject(copy)) return { ok: true, schema: true, patterns: new Map(), maxDataDepth: undefined };
  const walk = new SchemaWalk(copy);
  walk.visit(copy, [], 0);
  if (walk.problems.length === 0) walk.expand();
  if (walk.problems.length > 0) return { ok: false, problems: walk.problems };
  return { ok: true, schema: copy, patterns: walk.patterns, maxDataDepth: walk.maxDataDepth() };
}

type Ref = { readonly node: JsonObject; readonly ref: string; readonly path: readonly PathSegment[] };

class SchemaWalk {
  readonly problems: Problem[] = [];
  readonly patterns = new Map<string, BoundedPattern>();
  /** Schemas a `$ref` leads back to while they are being expanded: validation then goes as deep as the data. */
  readonly #recursionTargets = new Set<JsonObject>();
  readonly #root: JsonObject | boolean;
  readonly #rootId: string | undefined;
  /** Every schema object, with its path in the schema (problems found while expanding name it). */
  readonly #schemaObjects = new Map<JsonObject, readonly PathSegment[]>();
  readonly #refTargets = new Map<JsonObject, JsonObject | boolean>();
  readonly #refs: Ref[] = [];
  #subschemas = 0;
  #patternCount = 0;
  #patternSize = 0;

  constructor(root: JsonObject | boolean) {
    this.#root = root;
    this.#rootId = isJsonObject(root) && typeof root.$id === 'string' ? root.$id : undefined;
  }

  #problem(path: readonly PathSegment[], message: string): void {
    this.problems.push({ path, message });
  }

  visit(node: JsonValue | undefined, path: readonly PathSegment[], depth: number): void {
    if (typeof node !== 'boolean' && !isJsonObject(node)) return;
    this.#subschemas += 1;
    if (this.#subschemas === MAX_SUBSCHEMAS + 1) this.#problem(path, `the schema has more than ${MAX_SUBSCHEMAS} subschemas (MAX_SUBSCHEMAS)`);
    if (this.#subschemas > MAX_SUBSCHEMAS || typeof node === 'boolean') return;
    if (depth > MAX_SCHEMA_DEPTH) {
      this.#problem(path, `subschemas are nested more than ${MAX_SCHEMA_DEPTH} levels deep (MAX_SCHEMA_DEPTH)`);
      return;
    }
    this.#schemaObjects.set(node, path);
    if (Object.hasOwn(node, BUDGET_KEYWORD)) this.#problem([...path, BUDGET_KEYWORD], 'is reserved for the runtime; remove it');
    if (path.length > 0 && node.$id !== undefined) {
      this.#problem([...path, '$id'], '$id is only allowed at the root of the schema: a nested $id changes what the references below it point to');
    }
    if (typeof node.$ref === 'string') this.#refs.push({ node, ref: node.$ref, path: [...path, '$ref'] });
    if (typeof node.pattern === 'string') this.#pattern(node.pattern, [...path, 'pattern']);
    if (Array.isArray(node.enum) && node.enum.length > MAX_ENUM_VALUES) {
      this.#problem([...path, 'enum'], `has ${node.enum.length} values; at most ${MAX_ENUM_VALUES} are allowed (MAX_ENUM_VALUES)`);
    }

    for (const keyword of [...SINGLE_IN_PLACE, ...SINGLE_DESCENDING]) this.visit(node[keyword], [...path, keyword], depth + 1);
    for (const keyword of [...LIST_IN_PLACE, 'items'] as const) {
      const list = node[keyword];
      if (!Array.isArray(list)) continue;
      if (list.length > MAX_COMBINATOR_WIDTH) {
        this.#problem([...path, keyword], `has ${list.length} schemas; at most ${MAX_COMBINATOR_WIDTH} are allowed (MAX_COMBINATOR_WIDTH)`);
        continue;
      }
      (list as readonly JsonValue[]).forEach((item, index) => this.visit(item, [...path, keyword, index], depth + 1));
    }
    if (!Array.isArray(node.items)) this.visit(node.items, [...path, 'items'], depth + 1);
    for (const keyword of [...MAP_DESCENDING, ...MAP_UNAPPLIED, 'dependencies'] as const) {
      const map = node[keyword];
      if (!isJsonObject(map)) continue;
      for (const [key, value] of Object.entries(map)) {
        if (keyword === 'patternProperties') this.#pattern(key, [...path, keyword, key]);
        this.visit(value, [...path, keyword, key], depth + 1);
      }
    }
    // Charged by every application of this subschema while validating (see json-schema.ts).
    (node as Record<string, JsonValue>)[BUDGET_KEYWORD] = true;
  }

  #pattern(source: string, path: readonly PathSegment[]): void {
    this.#patternCount += 1;
    if (this.#patternCount === MAX_SCHEMA_PATTERNS + 1) this.#problem(path, `the schema has more than ${MAX_SCHEMA_PATTERNS} regular expressions (MAX_SCHEMA_PATTERNS)`);
    if (this.#patternCount > MAX_SCHEMA_PATTERNS || this.patterns.has(source)) return;
    if (source.length > MAX_PATTERN_LENGTH) {
      this.#problem(path, `the regular expression is ${source.length} characters long; at most ${MAX_PATTERN_LENGTH} are allowed (MAX_PATTERN_LENGTH)`);
      return;
    }
    const size = expandedPatternSize(source);
    if (size > MAX_PATTERN_SIZE) {
      this.#problem(path, `the regular expression has size ${size} with its repetitions written out; at most ${MAX_PATTERN_SIZE} is allowed (MAX_PATTERN_SIZE)`);
      return;
    }
    this.#patternSize += size;
    if (this.#patternSize > MAX_TOTAL_PATTERN_SIZE) {
      this.#problem(path, `the regular expressions of the schema have a total size over ${MAX_TOTAL_PATTERN_SIZE} with their repetitions written out (MAX_TOTAL_PATTERN_SIZE)`);
      this.#patternCount = MAX_SCHEMA_PATTERNS + 1;
      return;
    }
    try {
      // Still an ECMAScript pattern, as JSON Schema says; the native RegExp is only compiled, never run.
      new RegExp(source, 'u');
    } catch (error) {
      this.#problem(path, `is not a valid JSON Schema: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    try {
      this.patterns.set(source, { regex: RE2JS.compile(RE2JS.translateRegExp(source)), size });
    } catch (error) {
      this.#problem(
        path,
        `the regular expression cannot run on the linear-time engine (RE2), which has no lookahead, lookbehind or backreferences: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** Resolves every `$ref`, then expands them from the root to count what validation will apply. */
  expand(): void {
    for (const { node, ref, path } of this.#refs) {
      const target = this.#resolve(ref, path);
      if (target !== undefined) this.#refTargets.set(node, target);
    }
    if (this.problems.length > 0) return;
    const onStack = new Map<JsonObject, number>();
    let expanded = 0;
    const unfold = (node: JsonValue | undefined, pathThere: readonly PathSegment[], dataDepth: number, depth: number): boolean => {
      if (typeof node !== 'boolean' && !isJsonObject(node)) return true;
      const path = typeof node === 'boolean' ? pathThere : (this.#schemaObjects.get(node) ?? pathThere);
      expanded += 1;
      if (expanded > MAX_EXPANDED_SUBSCHEMAS) {
        this.#problem(path, `the schema expands to more than ${MAX_EXPANDED_SUBSCHEMAS} subschemas once each $ref is replaced by what it points to (MAX_EXPANDED_SUBSCHEMAS)`);
        return false;
      }
      if (typeof node === 'boolean') return true;
      if (depth > MAX_SCHEMA_DEPTH) {
        this.#problem(path, `subschemas are nested more than ${MAX_SCHEMA_DEPTH} levels deep through $ref (MAX_SCHEMA_DEPTH)`);
        return false;
      }
      onStack.set(node, dataDepth);
      const children: [JsonValue | undefined, PathSegment[], number][] = [];
      for (const keyword of SINGLE_IN_PLACE) children.push([node[keyword], [...path, keyword], dataDepth]);
      for (const keyword of LIST_IN_PLACE) {
        const list = node[keyword];
        if (Array.isArray(list)) (list as readonly JsonValue[]).forEach((item, index) => children.push([item, [...path, keyword, index], dataDepth]));
      }
      if (isJsonObject(node.dependencies)) for (const [key, value] of Object.entries(node.dependencies)) children.push([value, [...path, 'dependencies', key], dataDepth]);
      for (const keyword of SINGLE_DESCENDING) children.push([node[keyword], [...path, keyword], dataDepth + 1]);
      if (Array.isArray(node.items)) (node.items as readonly JsonValue[]).forEach((item, index) => children.push([item, [...path, 'items', index], dataDepth + 1]));
      else children.push([node.items, [...path, 'items'], dataDepth + 1]);
      for (const keyword of MAP_DESCENDING) {
        const map = node[keyword];
        if (isJsonObject(map)) for (const [key, value] of Object.entries(map)) children.push([value, [...path, keyword, key], dataDepth + 1]);
      }
      for (const [child, childPath, childDataDepth] of children) {
        if (!unfold(child, childPath, childDataDepth, depth + 1)) return false;
      }
      const target = this.#refTargets.get(node);
      if (target !== undefined) {
        const refPath = [...path, '$ref'];
        const enteredAt = typeof target === 'boolean' ? undefined : onStack.get(target);
        if (enteredAt === dataDepth) {
          this.#problem(refPath, 'refers back to a schema it is part of without descending into the data: validation would never end');
          return false;
        }
        // A recursive $ref (back to a schema being expanded) is applied once per level of data,
        // which the validation budget bounds; it is not expanded again here.
        if (enteredAt !== undefined) {
          if (typeof target !== 'boolean') this.#recursionTargets.add(target);
        } else if (!unfold(target, refPath, dataDepth, depth + 1)) return false;
      }
      onStack.delete(node);
      return true;
    };
    unfold(this.#root, [], 0, 0);
  }

  maxDataDepth(): number | undefined {
    if (this.#recursionTargets.size === 0) return undefined;
    let weight = 0;
    for (const target of this.#recursionTargets) weight += inlineWeight(target);
    return Math.max(MIN_RECURSIVE_DATA_DEPTH, Math.min(MAX_RECURSIVE_DATA_DEPTH, Math.floor(RECURSION_STACK_WEIGHT / Math.max(1, weight))));
  }

  #resolve(ref: string, path: readonly PathSegment[]): JsonObject | boolean | undefined {
    let fragment: string | undefined;
    if (ref.startsWith('#')) fragment = ref.slice(1);
    else {
      // Only two documents exist for ajv here: this schema (under its root $id) and the draft-07
      // meta-schema. A reference to this schema by URL must be followed like a '#' one, so it is
      // resolved here; anything that is not clearly one of the two is refused, so no spelling
      // ajv would resolve differently can reach this schema unchecked.
      const document = this.#documentOf(ref);
      if (document === 'meta-schema') return undefined;
      if (document === undefined) {
        // At the schema, as ajv reported it before these checks existed.
        this.#problem([], `$ref "${ref}" cannot be resolved: only references inside the schema work, nothing is loaded from elsewhere`);
        return undefined;
      }
      fragment = document.fragment;
    }
    if (fragment !== '' && !fragment.startsWith('/')) {
      this.#problem(path, `$ref "${ref}" cannot be resolved: only JSON Pointer references inside the schema (such as "#/definitions/name") are supported`);
      return undefined;
    }
    let current: JsonValue | undefined = this.#root;
    for (const raw of fragment === '' ? [] : fragment.split('/').slice(1)) {
      let key: string;
      try {
        key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      } catch {
        key = raw;
      }
      if (Array.isArray(current) && /^(0|[1-9][0-9]*)$/.test(key)) current = (current as readonly JsonValue[])[Number(key)];
      else if (isJsonObject(current) && Object.hasOwn(current, key)) current = current[key];
      else current = undefined;
      if (current === undefined) break;
    }
    if (typeof current === 'boolean' || (isJsonObject(current) && this.#schemaObjects.has(current))) return current;
    this.#problem(path, `$ref "${ref}" cannot be resolved: it does not point to a subschema of this schema`);
    return undefined;
  }

  /** Which document an absolute or relative reference names: this schema (with the fragment), the meta-schema, or neither. */
  #documentOf(ref: string): { readonly fragment: string } | 'meta-schema' | undefined {
    const [address = '', ...rest] = ref.split('#');
    if (address === META_SCHEMA_URL && rest.join('#') === '') return 'meta-schema';
    if (this.#rootId === undefined) return undefined;
    let resolved: URL;
    let root: URL;
    try {
      root = new URL(this.#rootId);
      resolved = new URL(ref, root);
    } catch {
      // A relative root $id: ajv and URL may resolve against it differently, so only '#' references are taken.
      return undefined;
    }
    if (`${resolved.origin}${resolved.pathname}${resolved.search}` !== `${root.origin}${root.pathname}${root.search}` || !address.includes(root.host)) return undefined;
    try {
      return { fragment: decodeURIComponent(resolved.hash.slice(1)) };
    } catch {
      return undefined;
    }
  }
}

const META_SCHEMA_URL = 'http://json-schema.org/draft-07/schema';

/** Keywords of a schema and of the subschemas compiled into the same function as it (not through `$ref`). */
function inlineWeight(node: JsonValue | undefined): number {
  if (typeof node === 'boolean') return 1;
  if (!isJsonObject(node)) return 0;
  let weight = Object.keys(node).length;
  for (const keyword of [...SINGLE_IN_PLACE, ...SINGLE_DESCENDING]) weight += inlineWeight(node[keyword]);
  for (const keyword of [...LIST_IN_PLACE, 'items'] as const) {
    const value = node[keyword];
    if (Array.isArray(value)) for (const item of value as readonly JsonValue[]) weight += inlineWeight(item);
    else if (keyword === 'items') weight += inlineWeight(value);
  }
  for (const keyword of [...MAP_DESCENDING, 'dependencies'] as const) {
    const map = node[keyword];
    if (isJsonObject(map)) for (const value of Object.values(map)) weight += inlineWeight(value);
  }
  return weight;
}

/**
 * The size of an ECMAScript regular expression with its counted repetitions written out: each
 * character, class or escape counts 1, a group the sum of its contents (alternatives added up),
 * and a repetition multiplies what it repeats by its larger bound. It over-counts a little (group
 * markers such as `?:` count as characters), never under-counts what RE2 compiles.
 */
export function expandedPatternSize(source: string): number {
  const frames: { sum: number; last: number }[] = [{ sum: 0, last: 0 }];
  const cap = (n: number): number => Math.min(n, Number.MAX_SAFE_INTEGER / 4);
  let frame = frames[0] as { sum: number; last: number };
  const atom = (size: number): void => {
    frame.sum = cap(frame.sum + size);
    frame.last = size;
  };
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    if (char === '\\') {
      i += 1;
      atom(1);
    } else if (char === '[') {
      for (i += 1; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i += 1;
      atom(1);
    } else if (char === '(') {
      frame = { sum: 0, last: 0 };
      frames.push(frame);
    } else if (char === ')') {
      const closed = frames.length > 1 ? frames.pop() : undefined;
      frame = frames[frames.length - 1] as { sum: number; last: number };
      atom(Math.max(1, closed?.sum ?? 1));
    } else if (char === '{') {
      const counted = /^\{(\d+)(?:,(\d*))?\}/.exec(source.slice(i, i + 24));
      if (counted === null) {
        atom(1);
        continue;
      }
      const bound = Math.max(1, Number(counted[1]), Number(counted[2] === undefined || counted[2] === '' ? 0 : counted[2]));
      frame.sum = cap(frame.sum + frame.last * (bound - 1));
      frame.last = cap(frame.last * bound);
      i += counted[0].length - 1;
    } else if (char !== '|' && char !== '*' && char !== '+' && char !== '?') {
      atom(1);
    }
  }
  while (frames.length > 1) {
    const open = frames.pop() as { sum: number; last: number };
    frame = frames[frames.length - 1] as { sum: number; last: number };
    frame.sum = cap(frame.sum + open.sum);
  }
  return frame.sum;
}
