import { DEFAULT_LIMITS } from './execution.js';
import type { ExecutionLimits } from './execution.js';

/** Host capabilities a profile can grant. Each is opt-in; none reaches the network or files. */
export type CapabilityName = 'log' | 'clock' | 'random' | 'hash' | 'secrets';

/**
 * Grants, as a profile states them. An absent key means "not granted": calling it fails with
 * BEDDEL_CAPABILITY_DENIED.
 */
export interface CapabilityGrants {
  /** `beddel.log(...)`: lines captured and returned with the result, bounded. */
  readonly log?: { readonly maxLines: number; readonly maxBytes: number };
  /** `beddel.now()`: epoch milliseconds, rounded down to `resolutionMs`. */
  readonly clock?: { readonly resolutionMs: number };
  /** `beddel.random()` and `Math.random()`: V8's generator, a float in [0, 1); not for cryptography. */
  readonly random?: Readonly<Record<string, never>>;
  /** `beddel.sha256(text)`: lower-case hex SHA-256 of the UTF-8 text. */
  readonly hash?: Readonly<Record<string, never>>;
  /** `beddel.secret(key)`: only the keys listed here, read from the operator's secret source. */
  readonly secrets?: { readonly keys: readonly string[] };
}

export interface SecurityProfile {
  readonly id: string;
  readonly limits: ExecutionLimits;
  /** Executions of one tenant running at once; more wait in a bounded queue, then BEDDEL_OVERLOADED. */
  readonly maxConcurrency: number;
  /** Executions per second per tenant (token bucket, burst of one second); `null` for no limit. */
  readonly ratePerSecond: number | null;
  /** Heap one execution may add to its isolate (measured); over it the run fails with BEDDEL_MEMORY_LIMIT. */
  readonly maxExecutionHeapBytes: number;
  readonly capabilities: CapabilityGrants;
  /** Run this tenant in a worker process of its own. */
  readonly dedicatedWorker: boolean;
  /** Allow heap snapshots of this tenant's isolate (debugging); off by default. */
  readonly allowHeapSnapshots: boolean;
}

/** Chooses the profile a tenant runs under. */
export interface SecurityProfileProvider {
  profileFor(tenantId: string): SecurityProfile;
}

/** Where secret values come from; the profile decides which keys a tenant may read. */
export interface SecretSource {
  read(tenantId: string, key: string): string | undefined;
}

/**
 * Capabilities as an executor receives them for one execution: grants resolved to plain data
 * (secret values included, only the allow-listed ones). Plain data, so it crosses processes.
 */
export interface GuestCapabilities {
  readonly log?: { readonly maxLines: number; readonly maxBytes: number };
  readonly clock?: { readonly resolutionMs: number };
  readonly random?: boolean;
  readonly hash?: boolean;
  readonly secrets?: Readonly<Record<string, string>>;
}

export const DEFAULT_MAX_EXECUTION_HEAP_BYTES = 16 * 1024 * 1024;

/**
 * The built-in `default` profile: the seed's 5 s timeout, no capabilities, no rate limit.
 * @beddel/security-profiles builds on it; the engine uses it when no profile plugin is registered.
 */
export const DEFAULT_SECURITY_PROFILE: SecurityProfile = Object.freeze({
  id: 'default',
  limits: DEFAULT_LIMITS,
  maxConcurrency: 64,
  ratePerSecond: null,
  maxExecutionHeapBytes: DEFAULT_MAX_EXECUTION_HEAP_BYTES,
  capabilities: Object.freeze({}),
  dedicatedWorker: false,
  allowHeapSnapshots: false,
});

/**
 * Admission control: rate limits and per-tenant concurrency from the profile. `admit` resolves
 * with a release function once the execution may run, or rejects with a BeddelError coded
 * BEDDEL_RATE_LIMITED or BEDDEL_OVERLOADED. The engine calls it when a provider is registered.
 */
export interface AdmissionControl {
  admit(tenantId: string, profile: SecurityProfile): Promise<() => void>;
}
