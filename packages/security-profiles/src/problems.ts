import { BeddelError, ErrorCodes } from '@beddel/contracts';
import type { ProblemDetail } from '@beddel/contracts';

/** One step of a path into a document: a mapping key or a sequence index. */
export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['profiles', 'gold', 'limits', 'timeoutMs']` → `profiles.gold.limits.timeoutMs`; other keys are quoted. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Lists longer than this are cut, so a broken file cannot produce megabytes of errors. */
const MAX_LISTED_PROBLEMS = 100;

/** Collects problems with their paths; `throwIfAny` turns them into one BEDDEL_CONFIGURATION error. */
export class ProblemList {
  private readonly items: ProblemDetail[] = [];

  add(path: readonly PathSegment[], message: string): void {
    this.items.push({ path: formatPath(path), message });
  }

  get size(): number {
    return this.items.length;
  }

  throwIfAny(source: string): void {
    if (this.items.length > 0) this.fail(source);
  }

  /** Throws the problems collected so far as one BEDDEL_CONFIGURATION error. */
  fail(source: string): never {
    const listed = this.items.slice(0, MAX_LISTED_PROBLEMS);
    if (this.items.length > listed.length) listed.push({ path: '', message: `${this.items.length - listed.length} more problems not listed` });
    const lines = listed.map((problem) => `  ${problem.path === '' ? '' : `${problem.path}: `}${problem.message}`);
    const count = this.items.length === 1 ? '1 problem' : `${this.items.length} problems`;
    throw new BeddelError(ErrorCodes.CONFIGURATION, `Invalid security profiles in ${source} (${count}):\n${lines.join('\n')}`, {
      details: listed,
    });
  }
}
