import type { ProblemDetail } from '@beddel/contracts';

/** One step of a path into a document: a mapping key or a sequence index. */
export type PathSegment = string | number;

/** A problem found while reading a document, before its path is formatted. */
export interface Problem {
  readonly path: readonly PathSegment[];
  readonly message: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * `['spec', 'steps', 1, 'run']` → `spec.steps[1].run`; keys that are not identifiers are
 * quoted (`properties["first name"]`). An empty path with no root is the empty string.
 */
export function formatPath(segments: readonly PathSegment[], root = ''): string {
  let out = root;
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Lists longer than this are cut, so a hostile document cannot produce megabytes of errors. */
export const MAX_PROBLEMS = 100;

/**
 * Keeps at most `max` entries; the last one then says, at `rootPath`, how many were left out.
 * Works on formatted (`ProblemDetail`) and unformatted (`Problem`) lists alike.
 */
export function limitProblems<P extends ProblemDetail | Problem>(problems: readonly P[], rootPath: P['path'], max = MAX_PROBLEMS): readonly P[] {
  if (problems.length <= max) return problems;
  return mapLimitedProblems(problems, (problem) => problem, rootPath, max);
}

/**
 * Turns at most `max` raw findings (YAML errors, ajv errors) into problems, cutting the list as
 * `limitProblems` does *before* mapping: mapping one finding walks the document to find its path,
 * and a hostile document inside the size cap can hold tens of thousands of findings.
 */
export function mapLimitedProblems<T, P extends ProblemDetail | Problem>(items: readonly T[], toProblem: (item: T) => P, rootPath: P['path'], max = MAX_PROBLEMS): P[] {
  if (items.length <= max) return items.map(toProblem);
  const kept = items.slice(0, max - 1).map(toProblem);
  kept.push({ path: rootPath, message: `${items.length - kept.length} more problems not listed` } as P);
  return kept;
}
