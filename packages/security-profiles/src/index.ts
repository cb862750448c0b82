export { SecurityProfileRegistry, STRICT_SECURITY_PROFILE } from './security-profile-registry.js';
export type { SecurityProfileRegistryOptions } from './security-profile-registry.js';
export {
  DEFAULT_CLOCK_GRANT,
  DEFAULT_LOG_GRANT,
  SECURITY_PROFILES_API_VERSION,
  SECURITY_PROFILES_KIND,
} from './security-profiles-config.js';
export type { CapabilityGrantsSpec, SecurityProfileSpec, SecurityProfilesConfig } from './security-profiles-config.js';
export { loadSecurityProfiles, parseSecurityProfiles } from './security-profiles-file.js';
export type { ParseSecurityProfilesOptions } from './security-profiles-file.js';
export { ConcurrencyGate } from './concurrency-gate.js';
export type { ConcurrencyGateWaitOptions, Release } from './concurrency-gate.js';
export { RateLimiter } from './rate-limiter.js';
export type { RateLimiterOptions } from './rate-limiter.js';
