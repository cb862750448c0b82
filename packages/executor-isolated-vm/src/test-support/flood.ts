import { expect } from 'vitest';
import type { ExecutionRequest } from '@beddel/contracts';
import type { WorkerProcessPool } from '../worker-process-pool.js';
import { planOf, testLimits } from './plans.js';

/** A pure CPU loop; `calibrate` picks its iteration count for a wanted duration on this machine. */
export const busyPlan = planOf('let x = 0; for (let i = 0; i < input.n; i++) x = (x + i) % 1000003; return x;');
export const trivialPlan = planOf('return input.i;');

let sequence = 0;
export function busy(tenantId: string, n: number): ExecutionRequest {
  sequence += 1;
  return { executionId: `f${sequence}`, tenantId, plan: busyPlan, inputJson: JSON.stringify({ n }), limits: { ...testLimits, timeoutMs: 20_000 } };
}
export function trivial(tenantId: string, i: number): ExecutionRequest {
  sequence += 1;
  return { executionId: `v${sequence}`, tenantId, plan: trivialPlan, inputJson: JSON.stringify({ i }), limits: testLimits };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Iterations of the busy loop that take about `targetMs` on this machine now. */
export async function calibrate(pool: WorkerProcessPool, targetMs: number): Promise<number> {
  const probe = 20_000_000;
  await pool.execute(busy('calibration', 1000));
  const outcome = await pool.execute(busy('calibration', probe));
  expect(outcome.ok).toBe(true);
  return Math.max(1_000_000, Math.round((probe * targetMs) / Math.max(1, outcome.metrics.durationMs)));
}

/** The nearest-rank percentile (0-100) of some samples. */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}
