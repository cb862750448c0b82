import { describe, expect, it } from 'vitest';
import { formatPath, limitProblems, mapLimitedProblems } from './problem-path.js';

describe('formatPath', () => {
  it('joins keys with dots and indexes with brackets', () => {
    expect(formatPath(['spec', 'steps', 1, 'run'])).toBe('spec.steps[1].run');
  });

  it('prefixes a root and quotes keys that are not identifiers', () => {
    expect(formatPath(['items', 0, 'first name', 'a/b'], 'input')).toBe('input.items[0]["first name"]["a/b"]');
    expect(formatPath([], 'output')).toBe('output');
    expect(formatPath([])).toBe('');
    expect(formatPath([2, 'x'])).toBe('[2].x');
  });
});

describe('limitProblems', () => {
  it('keeps short lists as they are', () => {
    const list = [{ path: 'a', message: 'm' }];
    expect(limitProblems(list, '', 3)).toBe(list);
  });

  it('cuts long lists and says how many were left out', () => {
    const list = Array.from({ length: 10 }, (_, i) => ({ path: `p${i}`, message: 'm' }));
    const cut = limitProblems(list, '', 4);
    expect(cut).toHaveLength(4);
    expect(cut.slice(0, 3).map((p) => p.path)).toEqual(['p0', 'p1', 'p2']);
    expect(cut[3]).toEqual({ path: '', message: '7 more problems not listed' });
  });

  it('works on problems whose path is still a list of segments', () => {
    const list = Array.from({ length: 3 }, (_, i) => ({ path: ['spec', i], message: 'm' }));
    expect(limitProblems(list, [], 2)).toEqual([list[0], { path: [], message: '2 more problems not listed' }]);
  });
});

describe('mapLimitedProblems', () => {
  it('maps only the entries it keeps', () => {
    const mapped: number[] = [];
    const cut = mapLimitedProblems(
      Array.from({ length: 1000 }, (_, i) => i),
      (i) => {
        mapped.push(i);
        return { path: [i], message: 'm' };
      },
      [],
      3,
    );
    expect(mapped).toEqual([0, 1]);
    expect(cut).toEqual([{ path: [0], message: 'm' }, { path: [1], message: 'm' }, { path: [], message: '998 more problems not listed' }]);
  });
});
