import { describe, expect, it } from 'vitest';
import { linearFit, mean, percentile, summariseLatencies } from './stats.js';
import { growthOf } from './soak.js';
import type { SoakSample } from './soak.js';

describe('percentile (nearest rank)', () => {
  it('picks the nearest-rank value', () => {
    const samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(samples, 50)).toBe(5);
    expect(percentile(samples, 90)).toBe(9);
    expect(percentile(samples, 95)).toBe(10);
    expect(percentile(samples, 100)).toBe(10);
    expect(percentile(samples, 1)).toBe(1);
  });

  it('p99 of 1..1000 is 990, and a single sample is every percentile', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(samples, 99)).toBe(990);
    expect(percentile([7], 50)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
  });

  it('does not reorder its input and rejects out-of-range percentiles', () => {
    const samples = [3, 1, 2];
    percentile(samples, 50);
    expect(samples).toEqual([3, 1, 2]);
    expect(() => percentile(samples, 0)).toThrow(RangeError);
    expect(() => percentile(samples, 101)).toThrow(RangeError);
    expect(percentile([], 50)).toBeNaN();
  });

  it('summarises latencies, max included, for large sample counts', () => {
    const samples = Array.from({ length: 200_000 }, (_, i) => (i % 1000) / 10);
    const summary = summariseLatencies(samples);
    expect(summary.samples).toBe(200_000);
    expect(summary.maxMs).toBe(99.9);
    expect(summary.p50Ms).toBeCloseTo(49.9, 5);
    expect(summary.meanMs).toBeCloseTo(49.95, 5);
    expect(mean([])).toBeNaN();
  });
});

describe('linearFit and soak growth', () => {
  it('recovers slope and intercept of a line', () => {
    const fit = linearFit([0, 1, 2, 3, 4].map((x) => [x, 3 + 2 * x] as const));
    expect(fit.slope).toBeCloseTo(2, 10);
    expect(fit.intercept).toBeCloseTo(3, 10);
    expect(linearFit([[1, 5]]).slope).toBe(0);
  });

  const samples = (value: (i: number) => number): SoakSample[] =>
    Array.from({ length: 100 }, (_, i) => ({ executions: i * 1000, elapsedMs: i, hostRssBytes: value(i), hostHeapUsedBytes: value(i), workerRssBytes: null }));

  it('calls a flat but noisy series flat, fitting only the second half', () => {
    // Grows during warm-up (first half), then oscillates around 100 MB.
    const series = samples((i) => (i < 50 ? i * 2e6 : 100e6 + (i % 2 === 0 ? 3e6 : -3e6)));
    const growth = growthOf(series, (s) => s.hostRssBytes);
    expect(growth?.steadyGrowth).toBe(false);
    expect(Math.abs(growth?.bytesPer1kExecutions ?? Infinity)).toBeLessThan(50_000);
    expect(growthOf(series, (s) => s.workerRssBytes)).toBeNull();
  });

  it('calls a leak of 1 KB per execution steady growth', () => {
    const growth = growthOf(samples((i) => 100e6 + i * 1000 * 1024), (s) => s.hostRssBytes);
    expect(growth?.bytesPer1kExecutions).toBeCloseTo(1024 * 1000, 0);
    expect(growth?.steadyGrowth).toBe(true);
  });
});
