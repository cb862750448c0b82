import type { ExecutionLimits } from './execution.js';

export interface SecurityProfile {
  readonly id: string;
  readonly limits: ExecutionLimits;
}

/** Chooses the profile a tenant runs under. */
export interface SecurityProfileProvider {
  profileFor(tenantId: string): SecurityProfile;
}
