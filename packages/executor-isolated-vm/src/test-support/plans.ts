import { createHash } from 'node:crypto';
import type { ExecutablePlan, ExecutionLimits } from '@beddel/contracts';

/** Builds a plan from step bodies (steps named s0, s1, ...), id = SHA-256 of the bodies. */
export function planOf(...bodies: string[]): ExecutablePlan {
  return {
    id: createHash('sha256').update(JSON.stringify(bodies)).digest('hex'),
    name: 'test',
    version: '1.0.0',
    steps: bodies.map((run, index) => ({ name: `s${index}`, run })),
  };
}

export const testLimits: ExecutionLimits = {
  timeoutMs: 300,
  memoryLimitMb: 16,
  maxInputBytes: 1024 * 1024,
  maxOutputBytes: 64 * 1024,
  maxSteps: 16,
};
