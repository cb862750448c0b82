import { Composer, Lexer, LineCounter, Parser, isAlias, isMap, isNode, isScalar, isSeq } from 'yaml';
import type { CST, Document, DocumentOptions, ParseOptions, ParsedNode, SchemaOptions, Node as YamlNode } from 'yaml';
import { mapLimitedProblems } from './problem-path.js';
import type { PathSegment, Problem } from './problem-path.js';

export interface SafeYamlOptions {
  /** yaml's alias budget: how often anchored content may be repeated through aliases. */
  readonly maxAliasCount: number;
  /** Nesting of mappings and sequences allowed; deeper text is rejected before it is composed. */
  readonly maxDepth: number;
}

/** A parsed YAML source: its data, or problems, plus a way to turn a data path into a line. */
export interface ParsedYaml {
  readonly value: unknown;
  /** At most `MAX_PROBLEMS` entries (the last one then says how many were left out). */
  readonly problems: readonly Problem[];
  /** How many problems were found, including those left out of `problems`. */
  readonly problemCount: number;
  /** `(line 3, column 5)` for the node at `path` (or its nearest ancestor), or '' when unknown. */
  locate(path: readonly PathSegment[]): string;
}

/**
 * The YAML 1.2 core schema only: no custom tags, string keys, no `<<` merge keys. yaml's own
 * warnings are kept (they become problems) but never printed. Duplicate keys are rejected by
 * `checkNodes`: yaml's `uniqueKeys` compares each key with every earlier one, which takes
 * seconds on a mapping with tens of thousands of keys.
 */
const COMPOSER_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  schema: 'core',
  customTags: [],
  uniqueKeys: false,
  stringKeys: true,
  merge: false,
  strict: true,
  logLevel: 'silent',
};

/**
 * yaml's CST parser keeps one stack entry per open collection plus the document and a pending
 * key or value, so n nested collections take about n + 2 entries. The slack keeps this coarse
 * guard from rejecting documents that the exact depth check on the data (`toPlainData`) accepts.
 */
const PARSER_STACK_SLACK = 8;

const YAML_TAG_PREFIX = 'tag:yaml.org,2002:';

/**
 * Parses YAML text that is untrusted. Stops at the first stage with problems:
 * 1. nesting, checked on yaml's iterative CST parser before the recursive composer runs: on
 *    Node 20, a few thousand nested brackets made the composer overflow the stack, and after
 *    that a later regular expression compile aborted the whole process (a fatal V8 OOM);
 * 2. more than one document;
 * 3. YAML errors (syntax, non-scalar keys);
 * 4. YAML warnings, duplicate keys, explicit tags (`!foo`, `!!js/function`, even `!!str`) and
 *    aliases to unknown anchors;
 * 5. alias expansion beyond `maxAliasCount` (billion laughs).
 * The returned value is plain JS data but not yet checked as JSON (see `toPlainData`).
 */
export function parseYaml(source: string, options: SafeYamlOptions): ParsedYaml {
  const lineCounter = new LineCounter();
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return ` (line ${line}, column ${col})`;
  };
  const failed = (problems: Problem[], locate: (path: readonly PathSegment[]) => string = () => '', problemCount = problems.length): ParsedYaml => ({
    value: undefined,
    problems,
    problemCount,
    locate,
  });

  const tokens = lexAndParse(source, lineCounter, options.maxDepth + PARSER_STACK_SLACK);
  if (!Array.isArray(tokens)) {
    return failed([{ path: [], message: `the YAML is nested too deeply (at most ${options.maxDepth} levels)${at(tokens.offset)}` }]);
  }

  const documents = Array.from(new Composer(COMPOSER_OPTIONS).compose(tokens));
  const document = documents[0];
  if (document === undefined) return failed([{ path: [], message: 'the document is empty' }]);
  const locate = (path: readonly PathSegment[]): string => {
    const node = nearestNode(document, path);
    return node?.range ? at(node.range[0]) : '';
  };
  if (documents.length > 1) {
    const second = documents[1];
    const where = second === undefined ? '' : at(second.range[0]);
    return failed([{ path: [], message: `the source must hold exactly one YAML document, found ${documents.length}${where}` }], locate);
  }

  // Finding the path of an error walks the document, so only the errors that will be listed are
  // mapped: a misindented document inside the size cap has tens of thousands of them, and mapping
  // them all took seconds on the host thread.
  if (document.errors.length > 0) {
    const mapError = (error: { pos: [number, number]; message: string }): Problem => ({ path: pathAtOffset(document.contents, error.pos[0]), message: `${error.message}${at(error.pos[0])}` });
    return failed(mapLimitedProblems(document.errors, mapError, []), locate, document.errors.length);
  }

  type Finding = { readonly offset: number; readonly message: string; readonly path?: readonly PathSegment[] };
  const findings: Finding[] = [];
  for (const warning of document.warnings) {
    // Unresolved tags are reported below, with the path, as explicit tags.
    if (warning.code === 'TAG_RESOLVE_FAILED') continue;
    findings.push({ offset: warning.pos[0], message: warning.message });
  }
  checkNodes(document, document.contents, [], (path, message, node) => {
    findings.push({ offset: node.range ? node.range[0] : -1, message, path });
  });
  if (findings.length > 0) {
    const mapFinding = ({ offset, message, path }: Finding): Problem => ({
      path: path ?? pathAtOffset(document.contents, offset),
      message: `${message}${offset >= 0 ? at(offset) : ''}`,
    });
    return failed(mapLimitedProblems(findings, mapFinding, []), locate, findings.length);
  }

  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: options.maxAliasCount });
  } catch (error) {
    // yaml throws a ReferenceError when aliases would expand past maxAliasCount (billion laughs).
    const message =
      error instanceof ReferenceError
        ? `aliases expand too much (maxAliasCount is ${options.maxAliasCount}): ${error.message}`
        : `the YAML cannot be read: ${error instanceof Error ? error.message : String(error)}`;
    return failed([{ path: [], message }], locate);
  }
  if (value === null || value === undefined) return failed([{ path: [], message: 'the document is empty' }], locate);
  return { value, problems: [], problemCount: 0, locate };
}

/** Runs yaml's lexer and CST parser (both iterative) and stops once the parser stack gets too deep. */
function lexAndParse(source: string, lineCounter: LineCounter, maxStack: number): CST.Token[] | { offset: number } {
  const parser = new Parser(lineCounter.addNewLine);
  const tokens: CST.Token[] = [];
  lineCounter.addNewLine(0);
  for (const lexeme of new Lexer().lex(source)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    if (parser.stack.length > maxStack) return { offset: parser.offset };
  }
  for (const token of parser.end()) tokens.push(token);
  return tokens;
}

type Report = (path: readonly PathSegment[], message: string, node: YamlNode) => void;

function checkNodes(document: Document.Parsed, node: unknown, path: readonly PathSegment[], report: Report): void {
  if (!isNode(node)) return;
  if (node.tag !== undefined) report(path, `explicit YAML tags are not allowed (found ${displayTag(node.tag)})`, node);
  if (isAlias(node)) {
    if (node.resolve(document) === undefined) report(path, `the alias *${node.source} has no anchor before it`, node);
  } else if (isMap(node)) {
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = keyOf(pair.key);
      const keyPath = [...path, key];
      if (seen.has(key) && isNode(pair.key)) report(keyPath, `duplicate key "${key}": keys must be unique`, pair.key);
      seen.add(key);
      checkNodes(document, pair.key, keyPath, report);
      checkNodes(document, pair.value, keyPath, report);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => checkNodes(document, item, [...path, index], report));
  }
}

function displayTag(tag: string): string {
  return tag.startsWith(YAML_TAG_PREFIX) ? `!!${tag.slice(YAML_TAG_PREFIX.length)}` : tag;
}

/** The property name a key becomes in JS, as yaml's toJS makes it (null becomes ''). */
function keyOf(key: unknown): string {
  if (!isScalar(key)) return '?';
  const value = key.value;
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return '?';
}

/** The path of the deepest node whose source range holds `offset`. */
function pathAtOffset(contents: ParsedNode | null, offset: number): PathSegment[] {
  const path: PathSegment[] = [];
  let node: unknown = contents;
  for (;;) {
    let next: unknown;
    if (isMap(node)) {
      for (const pair of node.items) {
        if (covers(pair.key, offset)) {
          path.push(keyOf(pair.key));
          return path;
        }
        if (covers(pair.value, offset)) {
          path.push(keyOf(pair.key));
          next = pair.value;
          break;
        }
      }
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => covers(item, offset));
      if (index >= 0) {
        path.push(index);
        next = node.items[index];
      }
    }
    if (next === undefined) return path;
    node = next;
  }
}

function covers(node: unknown, offset: number): boolean {
  return isNode(node) && node.range !== undefined && node.range !== null && node.range[0] <= offset && offset <= node.range[2];
}

function nearestNode(document: Document.Parsed, path: readonly PathSegment[]): YamlNode | undefined {
  for (let length = path.length; length > 0; length--) {
    const found: unknown = document.getIn(path.slice(0, length), true);
    if (isNode(found)) return found;
  }
  return isNode(document.contents) ? document.contents : undefined;
}
