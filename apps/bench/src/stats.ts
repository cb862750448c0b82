/** Small statistics helpers. Pure functions, unit-tested. */

/**
 * Percentile by the nearest-rank method on a sorted copy: the smallest value such that at least
 * `p` percent of the samples are less than or equal to it. `p` in (0, 100]. NaN for no samples.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function mean(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  let sum = 0;
  for (const value of samples) sum += value;
  return sum / samples.length;
}

/** Least-squares line through (x, y) points: y = intercept + slope * x. */
export function linearFit(points: readonly (readonly [number, number])[]): { slope: number; intercept: number } {
  const n = points.length;
  if (n < 2) return { slope: 0, intercept: n === 1 ? (points[0] as readonly [number, number])[1] : 0 };
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) * (x - mx);
    sxy += (x - mx) * (y - my);
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

export interface LatencySummary {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

export function summariseLatencies(latenciesMs: readonly number[]): LatencySummary {
  return {
    samples: latenciesMs.length,
    p50Ms: percentile(latenciesMs, 50),
    p95Ms: percentile(latenciesMs, 95),
    p99Ms: percentile(latenciesMs, 99),
    maxMs: latenciesMs.length === 0 ? Number.NaN : latenciesMs.reduce((max, value) => (value > max ? value : max), -Infinity),
    meanMs: mean(latenciesMs),
  };
}
