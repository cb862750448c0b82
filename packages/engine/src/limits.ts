import type { ExecutionLimits } from '@beddel/contracts';

/** Limits a transformation asks for can only tighten the profile's, never loosen them. */
export function tightenLimits(profile: ExecutionLimits, requested: Partial<ExecutionLimits>): ExecutionLimits {
  const pick = (key: keyof ExecutionLimits): number => {
    const wanted = requested[key];
    return wanted === undefined ? profile[key] : Math.min(profile[key], wanted);
  };
  return {
    timeoutMs: pick('timeoutMs'),
    memoryLimitMb: pick('memoryLimitMb'),
    maxInputBytes: pick('maxInputBytes'),
    maxOutputBytes: pick('maxOutputBytes'),
    maxSteps: pick('maxSteps'),
  };
}
