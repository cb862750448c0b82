import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Document } from 'yaml';
import { BeddelError, ErrorCodes } from '@beddel/contracts';
import { ProblemList } from './problems.js';
import type { PathSegment } from './problems.js';
import { checkSecurityProfilesShape } from './security-profiles-config.js';
import { SecurityProfileRegistry } from './security-profile-registry.js';

export interface ParseSecurityProfilesOptions {
  /** `yaml` (default) or `json`. */
  readonly format?: 'yaml' | 'json';
  /** Where the text came from (a file path), for error messages. Default `security profiles`. */
  readonly source?: string;
}

/** A profiles file is a few kilobytes; anything this large is a mistake. */
const MAX_FILE_BYTES = 1024 * 1024;
/** How often anchored content may be repeated through aliases (stops "billion laughs"). */
const MAX_ALIAS_COUNT = 100;
const YAML_TAG_PREFIX = 'tag:yaml.org,2002:';

/**
 * Reads an operator's profiles file (`.json` is read as JSON, anything else as YAML) and builds
 * the registry. Every problem (unreadable file, syntax, shape, references, loosening) is a
 * BEDDEL_CONFIGURATION error naming the file.
 */
export async function loadSecurityProfiles(path: string): Promise<SecurityProfileRegistry> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw unreadable(path, error);
  }
  return parseSecurityProfiles(text, { format: formatOf(path), source: path });
}

/** `loadSecurityProfiles` for start-up code that cannot await (the plugin's `register`). */
export function loadSecurityProfilesSync(path: string): SecurityProfileRegistry {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw unreadable(path, error);
  }
  return parseSecurityProfiles(text, { format: formatOf(path), source: path });
}

/** Parses and checks a profiles document (`apiVersion: beddel/v1`, `kind: SecurityProfiles`). */
export function parseSecurityProfiles(text: string, options: ParseSecurityProfilesOptions = {}): SecurityProfileRegistry {
  const source = options.source ?? 'security profiles';
  const problems = new ProblemList();
  if (Buffer.byteLength(text, 'utf8') > MAX_FILE_BYTES) {
    problems.add([], `the file is larger than ${MAX_FILE_BYTES} bytes`);
    problems.throwIfAny(source);
  }
  const value = options.format === 'json' ? parseJson(text, problems) : parseYaml(text, problems);
  problems.throwIfAny(source);
  checkProtoKeys(value, [], problems);
  problems.throwIfAny(source);
  if (checkSecurityProfilesShape(value, problems, { requireHeader: true }) && problems.size === 0) {
    return new SecurityProfileRegistry(value, { source });
  }
  return problems.fail(source);
}

function formatOf(path: string): 'yaml' | 'json' {
  return extname(path).toLowerCase() === '.json' ? 'json' : 'yaml';
}

function unreadable(path: string, error: unknown): BeddelError {
  const reason = error instanceof Error ? error.message : String(error);
  return new BeddelError(ErrorCodes.CONFIGURATION, `Cannot read security profiles file ${path}: ${reason}`, { cause: error });
}

/**
 * YAML 1.2 core schema only: no tags at all (not even `!!str`), no `<<` merge keys, string keys,
 * unique keys, one document, aliases capped.
 */
function parseYaml(text: string, problems: ProblemList): unknown {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, {
    lineCounter,
    schema: 'core',
    customTags: [],
    uniqueKeys: true,
    stringKeys: true,
    merge: false,
    strict: true,
    logLevel: 'silent',
  });
  const documents = Array.isArray(parsed) ? parsed : [parsed];
  const document = documents[0];
  if (document === undefined || document.contents === null) {
    problems.add([], 'the file is empty');
    return undefined;
  }
  if (documents.length > 1) {
    problems.add([], `the file must hold one YAML document, found ${documents.length}`);
    return undefined;
  }
  for (const error of [...document.errors, ...document.warnings]) {
    // Unresolved tags are reported below, with their path, like every other tag.
    if (error.code === 'TAG_RESOLVE_FAILED') continue;
    problems.add([], `YAML: ${firstLine(error.message)}`);
  }
  checkNodes(document, document.contents, [], problems, (offset) => {
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}, column ${col}`;
  });
  if (problems.size > 0) return undefined;
  try {
    return document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // yaml throws a ReferenceError when aliases expand past maxAliasCount.
    const reason = firstLine(error instanceof Error ? error.message : String(error));
    problems.add([], error instanceof ReferenceError ? `YAML: aliases expand too much (at most ${MAX_ALIAS_COUNT}): ${reason}` : `YAML: ${reason}`);
    return undefined;
  }
}

function checkNodes(document: Document.Parsed, node: unknown, path: readonly PathSegment[], problems: ProblemList, locate: (offset: number) => string): void {
  if (!isNode(node)) return;
  const at = node.range ? ` (${locate(node.range[0])})` : '';
  if (node.tag !== undefined) problems.add(path, `YAML tags are not allowed (found ${displayTag(node.tag)})${at}`);
  if (isAlias(node) && node.resolve(document) === undefined) problems.add(path, `the alias *${node.source} has no anchor before it${at}`);
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '?';
      checkNodes(document, pair.key, [...path, key], problems, locate);
      checkNodes(document, pair.value, [...path, key], problems, locate);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => checkNodes(document, item, [...path, index], problems, locate));
  }
}

function displayTag(tag: string): string {
  return tag.startsWith(YAML_TAG_PREFIX) ? `!!${tag.slice(YAML_TAG_PREFIX.length)}` : tag;
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/:$/, '');
}

/**
 * JSON.parse keeps the last of duplicate keys without a word; the profile file format wants them
 * reported, so the text is scanned once more for keys repeated within one object.
 */
function parseJson(text: string, problems: ProblemList): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    problems.add([], `JSON: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  findDuplicateJsonKeys(text, problems);
  return value;
}

/** Walks JSON text already known to be valid, tracking the keys of each open object. */
function findDuplicateJsonKeys(text: string, problems: ProblemList): void {
  const stack: Array<{ keys: Set<string> | null; path: PathSegment[]; index: number }> = [];
  let pendingKey: string | undefined;
  for (let at = 0; at < text.length; at++) {
    const char = text[at];
    if (char === '"') {
      let end = at + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const literal = JSON.parse(text.slice(at, end + 1)) as string;
      at = end;
      let next = end + 1;
      while (/\s/.test(text[next] ?? '')) next++;
      const top = stack[stack.length - 1];
      if (text[next] === ':' && top?.keys) {
        if (top.keys.has(literal)) problems.add([...top.path, literal], 'duplicate key: keys must be unique');
        top.keys.add(literal);
        pendingKey = literal;
      }
    } else if (char === '{' || char === '[') {
      const parent = stack[stack.length - 1];
      const segment = parent === undefined ? undefined : parent.keys ? pendingKey : parent.index;
      const path = parent === undefined || segment === undefined ? [] : [...parent.path, segment];
      stack.push({ keys: char === '{' ? new Set() : null, path, index: 0 });
    } else if (char === '}' || char === ']') {
      stack.pop();
    } else if (char === ',') {
      const top = stack[stack.length - 1];
      if (top !== undefined && top.keys === null) top.index++;
    }
  }
}

/** `__proto__` as a key is a prototype-pollution vector for whoever copies the data later. */
function checkProtoKeys(value: unknown, path: readonly PathSegment[], problems: ProblemList): void {
  if (Array.isArray(value)) value.forEach((item, index) => checkProtoKeys(item, [...path, index], problems));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, entry] of Object.entries(value)) {
      if (key === '__proto__') problems.add([...path, key], 'the key __proto__ is not allowed');
      else checkProtoKeys(entry, [...path, key], problems);
    }
  }
}
