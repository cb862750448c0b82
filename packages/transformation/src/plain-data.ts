import type { PathSegment, Problem } from './problem-path.js';

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

export interface PlainDataLimits {
  /** Cap on the size of the value written as JSON, in UTF-16 code units (a lower bound of its UTF-8 size). */
  readonly maxJsonChars: number;
  /** Cap on nesting: the root is depth 0, its children depth 1, and so on. */
  readonly maxDepth: number;
}

export type PlainDataResult = { readonly ok: true; readonly value: JsonValue } | { readonly ok: false; readonly problems: readonly Problem[] };

class SizeExceeded extends Error {}

/**
 * Copies a value into fresh plain JSON data (plain objects, arrays, strings, finite numbers,
 * booleans, null) or lists why it cannot be. Used on everything a document is made of, whether
 * it came from YAML or from the caller, so every later stage sees data that:
 * - has no `__proto__` keys (rejected, so no consumer can be tricked into setting a prototype),
 * - has no cycles, accessors, class instances, functions, symbols, bigints or non-finite numbers,
 * - is bounded in size after shared references (YAML aliases) are expanded, and in depth.
 * Properties whose value is `undefined` are dropped, as JSON.stringify does.
 */
export function toPlainData(value: unknown, limits: PlainDataLimits): PlainDataResult {
  const problems: Problem[] = [];
  const ancestors = new Set<object>();
  let budget = limits.maxJsonChars;

  const spend = (chars: number, path: readonly PathSegment[]): void => {
    budget -= chars;
    if (budget < 0) {
      problems.push({ path, message: `the document is larger than ${limits.maxJsonChars} characters as JSON (after expanding aliases)` });
      throw new SizeExceeded();
    }
  };

  const copy = (item: unknown, path: PathSegment[], depth: number): JsonValue => {
    switch (typeof item) {
      case 'string':
        // Check the raw length first so a huge string is never escaped just to be rejected.
        spend(item.length + 2, path);
        spend(JSON.stringify(item).length - item.length - 2, path);
        return item;
      case 'boolean':
        spend(item ? 4 : 5, path);
        return item;
      case 'number':
        if (!Number.isFinite(item)) {
          problems.push({ path, message: `must be a finite number (${String(item)} is not JSON)` });
          return null;
        }
        spend(JSON.stringify(item).length, path);
        return item;
      case 'object':
        break;
      default:
        problems.push({ path, message: `must be JSON data (found a ${typeof item})` });
        return null;
    }
    if (item === null) {
      spend(4, path);
      return null;
    }
    if (depth >= limits.maxDepth) {
      problems.push({ path, message: `is nested too deeply (at most ${limits.maxDepth} levels)` });
      return null;
    }
    if (ancestors.has(item)) {
      problems.push({ path, message: 'contains itself (a cyclic reference or recursive alias)' });
      return null;
    }
    ancestors.add(item);
    try {
      return Array.isArray(item) ? copyArray(item, path, depth) : copyObject(item, path, depth);
    } finally {
      ancestors.delete(item);
    }
  };

  const copyArray = (array: readonly unknown[], path: PathSegment[], depth: number): JsonValue[] => {
    spend(2 + Math.max(0, array.length - 1), path);
    const out: JsonValue[] = [];
    for (let index = 0; index < array.length; index++) {
      const element: unknown = array[index];
      if (element === undefined) {
        problems.push({ path: [...path, index], message: 'must be JSON data (found undefined)' });
        continue;
      }
      out.push(copy(element, [...path, index], depth + 1));
    }
    return out;
  };

  const copyObject = (object: object, path: PathSegment[], depth: number): JsonObject => {
    const proto: unknown = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) {
      problems.push({ path, message: `must be a plain object (found ${describeObject(object)})` });
      return {};
    }
    spend(2, path);
    const entries: [string, JsonValue][] = [];
    for (const key of Object.keys(object)) {
      const keyPath = [...path, key];
      if (key === '__proto__') {
        problems.push({ path: keyPath, message: 'the key "__proto__" is not allowed' });
        continue;
      }
      const descriptor = Object.getOwnPropertyDescriptor(object, key);
      if (descriptor === undefined || !('value' in descriptor)) {
        problems.push({ path: keyPath, message: 'must be a data property, not a getter or setter' });
        continue;
      }
      const item: unknown = descriptor.value;
      if (item === undefined) continue;
      spend(JSON.stringify(key).length + (entries.length > 0 ? 2 : 1), keyPath);
      entries.push([key, copy(item, keyPath, depth + 1)]);
    }
    // fromEntries defines own data properties; it never goes through the `__proto__` setter.
    return Object.fromEntries(entries);
  };

  try {
    const result = copy(value, [], 0);
    return problems.length === 0 ? { ok: true, value: result } : { ok: false, problems };
  } catch (error) {
    if (error instanceof SizeExceeded) return { ok: false, problems };
    throw error;
  }
}

function describeObject(object: object): string {
  const tag = Object.prototype.toString.call(object).slice(8, -1);
  return tag === 'Object' ? 'an object with a custom prototype' : `a ${tag}`;
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Freezes a tree of plain data in place and returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
