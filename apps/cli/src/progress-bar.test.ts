import { describe, expect, it } from 'vitest';
import { ProgressBar } from './progress-bar.js';
import { TextSink } from './test-support/cli-harness.js';

function clock(): { now: () => number; advance(ms: number): void } {
  let time = 1000;
  return { now: () => time, advance: (ms) => (time += ms) };
}

describe('ProgressBar', () => {
  it('renders done/total, percentage, rate and failures', () => {
    const time = clock();
    const bar = new ProgressBar(new TextSink(), 40, time.now);
    time.advance(2000);
    bar.update(10, 1);
    expect(bar.render()).toBe('[######------------------] 10/40 25% | 5.0 jobs/s | 1 failed');
  });

  it('renders without a bar when the total is unknown (stdin)', () => {
    const time = clock();
    const bar = new ProgressBar(new TextSink(), undefined, time.now);
    time.advance(500);
    bar.update(3, 0);
    expect(bar.render()).toBe('3 done | 6.0 jobs/s | 0 failed');
  });

  it('redraws at most every 100 ms but always on the last job, and ends the line on finish', () => {
    const time = clock();
    const sink = new TextSink();
    const bar = new ProgressBar(sink, 3, time.now);
    bar.update(1, 0);
    time.advance(10);
    bar.update(2, 0);
    time.advance(10);
    bar.update(3, 0);
    bar.finish();
    const frames = sink.text.split('\r').filter((frame) => frame !== '');
    expect(frames.map((frame) => /\d+\/\d+/.exec(frame)?.[0])).toEqual(['1/3', '3/3', '3/3']);
    expect(sink.text.endsWith('\u001b[K\n')).toBe(true);
  });
});
