import { describe, expect, it } from 'vitest';
import { runOrdered } from './run-ordered.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('runOrdered', () => {
  it('emits in input order whatever order tasks finish in, with at most `concurrency` running', async () => {
    let running = 0;
    let peak = 0;
    const emitted: number[] = [];
    await runOrdered(
      [50, 5, 30, 1, 20, 1, 10, 1],
      { concurrency: 3, maxPending: 100 },
      async (ms) => {
        running += 1;
        peak = Math.max(peak, running);
        await sleep(ms);
        running -= 1;
        return ms;
      },
      (ms) => {
        emitted.push(ms);
      },
    );
    expect(emitted).toEqual([50, 5, 30, 1, 20, 1, 10, 1]);
    expect(peak).toBe(3);
  });

  it('emits each result as soon as it and every earlier one are done', async () => {
    const log: string[] = [];
    await runOrdered(
      ['fast', 'slow', 'fast2'],
      { concurrency: 3, maxPending: 10 },
      async (name) => {
        await sleep(name === 'slow' ? 60 : 5);
        log.push(`done ${name}`);
        return name;
      },
      (name) => {
        log.push(`emit ${name}`);
      },
    );
    expect(log).toEqual(['done fast', 'emit fast', 'done fast2', 'done slow', 'emit slow', 'emit fast2']);
  });

  it('stops pulling items while `maxPending` results wait behind a slow head', async () => {
    let pulled = 0;
    let release: () => void = () => undefined;
    const head = new Promise<void>((resolve) => (release = resolve));
    function* items(): Generator<number> {
      for (let i = 0; i < 20; i++) {
        pulled += 1;
        yield i;
      }
    }
    const done = runOrdered(items(), { concurrency: 2, maxPending: 4 }, (i) => (i === 0 ? head.then(() => i) : Promise.resolve(i)), () => undefined);
    await sleep(20);
    expect(pulled).toBe(5); // four admitted, the fifth waits for room
    release();
    await done;
    expect(pulled).toBe(20);
  });

  it('rethrows the first task failure after started work settles, and starts nothing more', async () => {
    const started: number[] = [];
    await expect(
      runOrdered(
        [1, 2, 3, 4, 5, 6],
        { concurrency: 1, maxPending: 1 },
        (i) => {
          started.push(i);
          return i === 2 ? Promise.reject(new Error('task 2 failed')) : Promise.resolve(i);
        },
        () => undefined,
      ),
    ).rejects.toThrow('task 2 failed');
    expect(started).toEqual([1, 2]);
  });
});
