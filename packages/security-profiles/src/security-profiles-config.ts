import type { ExecutionLimits } from '@beddel/contracts';
import type { PathSegment, ProblemList } from './problems.js';

export const SECURITY_PROFILES_API_VERSION = 'beddel/v1';
export const SECURITY_PROFILES_KIND = 'SecurityProfiles';

/** A capability grant as written in a profile; omitted parameters come from the base's grant, else the defaults. */
export interface CapabilityGrantsSpec {
  readonly log?: { readonly maxLines?: number; readonly maxBytes?: number };
  readonly clock?: { readonly resolutionMs?: number };
  readonly random?: true | Readonly<Record<string, never>>;
  readonly hash?: true | Readonly<Record<string, never>>;
  readonly secrets?: { readonly keys: readonly string[] };
}

/** A profile as written by the operator: a base to extend and the fields it changes. */
export interface SecurityProfileSpec {
  /** Name of the profile this one starts from: `default`, `strict` or a profile of the same file. */
  readonly extends: string;
  /** Lets this profile be looser than its base (see the tightening rule in the docs). Not inherited. */
  readonly allowLoosening?: boolean;
  readonly description?: string;
  readonly limits?: Partial<ExecutionLimits>;
  readonly maxConcurrency?: number;
  readonly ratePerSecond?: number | null;
  readonly maxExecutionHeapBytes?: number;
  /** When present, replaces the base's grants: capabilities not listed are not granted. */
  readonly capabilities?: CapabilityGrantsSpec;
  readonly dedicatedWorker?: boolean;
  readonly allowHeapSnapshots?: boolean;
}

/** Named profiles, tenant assignments and the profile for tenants not listed. */
export interface SecurityProfilesConfig {
  readonly apiVersion?: typeof SECURITY_PROFILES_API_VERSION;
  readonly kind?: typeof SECURITY_PROFILES_KIND;
  /** Profile of tenants not listed in `tenants`; `default` when omitted. */
  readonly defaultProfile?: string;
  readonly profiles?: Readonly<Record<string, SecurityProfileSpec>>;
  /** Tenant id → a profile name, or an inline profile (its id becomes `tenant:<id>`). */
  readonly tenants?: Readonly<Record<string, string | SecurityProfileSpec>>;
}

/** Parameters of a capability granted without them, when the base does not grant it either. */
export const DEFAULT_LOG_GRANT = Object.freeze({ maxLines: 100, maxBytes: 16 * 1024 });
export const DEFAULT_CLOCK_GRANT = Object.freeze({ resolutionMs: 1_000 });

export const MIN_MEMORY_LIMIT_MB = 8;
/** Node fires timers longer than this at once (with a warning), so a longer timeout would be no timeout. */
const MAX_TIMER_MS = 2_147_483_647;
const MAX_LOG_LINES = 10_000;
const MAX_LOG_BYTES = 1024 * 1024;
const MAX_CLOCK_RESOLUTION_MS = 86_400_000;
const MAX_SECRET_KEYS = 64;
const MAX_DESCRIPTION_LENGTH = 500;

export const PROFILE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
/** The engine's tenant id rule. */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
/** Secret keys are environment-variable-like names, so `secretSourceFromEnv` can serve them. */
export const SECRET_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

const LIMIT_KEYS = ['timeoutMs', 'memoryLimitMb', 'maxInputBytes', 'maxOutputBytes', 'maxSteps'] as const;
const PROFILE_KEYS = [
  'extends',
  'allowLoosening',
  'description',
  'limits',
  'maxConcurrency',
  'ratePerSecond',
  'maxExecutionHeapBytes',
  'capabilities',
  'dedicatedWorker',
  'allowHeapSnapshots',
] as const;
const CAPABILITY_KEYS = ['log', 'clock', 'random', 'hash', 'secrets'] as const;

type Record_ = Record<string, unknown>;

function isRecord(value: unknown): value is Record_ {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  return typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
}

/**
 * Checks the shape of a profiles document: every key known, every value of the right type and
 * range. References between profiles (`extends`, tenant assignments) are checked by the registry.
 * Returns true when the shape is sound, so the value may be read as a `SecurityProfilesConfig`.
 */
export function checkSecurityProfilesShape(value: unknown, problems: ProblemList, options: { readonly requireHeader: boolean }): value is SecurityProfilesConfig {
  const before = problems.size;
  if (!isRecord(value)) {
    problems.add([], `the document must be a mapping, found ${describe(value)}`);
    return false;
  }
  checkKeys(value, ['apiVersion', 'kind', 'defaultProfile', 'profiles', 'tenants'], [], problems);
  if (options.requireHeader || value.apiVersion !== undefined) {
    if (value.apiVersion !== SECURITY_PROFILES_API_VERSION) {
      problems.add(['apiVersion'], `must be "${SECURITY_PROFILES_API_VERSION}", found ${describe(value.apiVersion)}`);
    }
  }
  if (options.requireHeader || value.kind !== undefined) {
    if (value.kind !== SECURITY_PROFILES_KIND) problems.add(['kind'], `must be "${SECURITY_PROFILES_KIND}", found ${describe(value.kind)}`);
  }
  if (value.defaultProfile !== undefined) checkProfileName(value.defaultProfile, ['defaultProfile'], problems);

  if (value.profiles !== undefined) {
    if (!isRecord(value.profiles)) problems.add(['profiles'], `must be a mapping of profile names to profiles, found ${describe(value.profiles)}`);
    else {
      for (const [name, spec] of Object.entries(value.profiles)) {
        const path = ['profiles', name];
        if (!PROFILE_NAME_PATTERN.test(name)) {
          problems.add(path, 'a profile name must start with a letter and hold 1-64 characters from [A-Za-z0-9_.-]');
        }
        checkProfileSpec(spec, path, problems);
      }
    }
  }

  if (value.tenants !== undefined) {
    if (!isRecord(value.tenants)) problems.add(['tenants'], `must be a mapping of tenant ids to profiles, found ${describe(value.tenants)}`);
    else {
      for (const [tenantId, assignment] of Object.entries(value.tenants)) {
        const path = ['tenants', tenantId];
        if (!TENANT_ID_PATTERN.test(tenantId)) problems.add(path, 'a tenant id must hold 1-128 characters from [A-Za-z0-9._:-]');
        if (typeof assignment === 'string') checkProfileName(assignment, path, problems);
        else if (isRecord(assignment)) checkProfileSpec(assignment, path, problems);
        else problems.add(path, `must be a profile name or an inline profile with "extends", found ${describe(assignment)}`);
      }
    }
  }
  return problems.size === before;
}

function checkKeys(value: Record_, allowed: readonly string[], path: readonly PathSegment[], problems: ProblemList): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) problems.add([...path, key], `unknown key (allowed: ${allowed.join(', ')})`);
  }
}

function checkProfileName(value: unknown, path: readonly PathSegment[], problems: ProblemList): void {
  if (typeof value !== 'string' || !PROFILE_NAME_PATTERN.test(value)) {
    problems.add(path, `must be a profile name (a letter, then up to 63 of [A-Za-z0-9_.-]), found ${describe(value)}`);
  }
}

function checkProfileSpec(spec: unknown, path: readonly PathSegment[], problems: ProblemList): void {
  if (!isRecord(spec)) {
    problems.add(path, `must be a profile (a mapping with "extends"), found ${describe(spec)}`);
    return;
  }
  checkKeys(spec, PROFILE_KEYS, path, problems);
  if (spec.extends === undefined) {
    problems.add([...path, 'extends'], 'is required: name the profile this one starts from (default, strict or one of this file)');
  } else checkProfileName(spec.extends, [...path, 'extends'], problems);
  for (const key of ['allowLoosening', 'dedicatedWorker', 'allowHeapSnapshots'] as const) {
    if (spec[key] !== undefined && typeof spec[key] !== 'boolean') problems.add([...path, key], `must be true or false, found ${describe(spec[key])}`);
  }
  if (spec.description !== undefined && (typeof spec.description !== 'string' || spec.description.length > MAX_DESCRIPTION_LENGTH)) {
    problems.add([...path, 'description'], `must be a string of at most ${MAX_DESCRIPTION_LENGTH} characters`);
  }
  if (spec.limits !== undefined) {
    const limitsPath = [...path, 'limits'];
    if (!isRecord(spec.limits)) problems.add(limitsPath, `must be a mapping, found ${describe(spec.limits)}`);
    else {
      checkKeys(spec.limits, LIMIT_KEYS, limitsPath, problems);
      for (const key of LIMIT_KEYS) {
        const limit = spec.limits[key];
        if (limit === undefined) continue;
        if (key === 'memoryLimitMb') checkInteger(limit, [...limitsPath, key], problems, MIN_MEMORY_LIMIT_MB, undefined, "isolated-vm's minimum");
        else if (key === 'timeoutMs') checkInteger(limit, [...limitsPath, key], problems, 1, MAX_TIMER_MS);
        else checkInteger(limit, [...limitsPath, key], problems, 1);
      }
    }
  }
  if (spec.maxConcurrency !== undefined) checkInteger(spec.maxConcurrency, [...path, 'maxConcurrency'], problems, 1);
  if (spec.maxExecutionHeapBytes !== undefined) checkInteger(spec.maxExecutionHeapBytes, [...path, 'maxExecutionHeapBytes'], problems, 1);
  if (spec.ratePerSecond !== undefined && spec.ratePerSecond !== null) {
    const rate = spec.ratePerSecond;
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) {
      problems.add([...path, 'ratePerSecond'], `must be a positive number, or null for no limit, found ${describe(rate)}`);
    }
  }
  if (spec.capabilities !== undefined) checkCapabilities(spec.capabilities, [...path, 'capabilities'], problems);
}

function checkCapabilities(value: unknown, path: readonly PathSegment[], problems: ProblemList): void {
  if (!isRecord(value)) {
    problems.add(path, `must be a mapping of capability names to grants, found ${describe(value)}`);
    return;
  }
  checkKeys(value, CAPABILITY_KEYS, path, problems);
  const { log, clock, random, hash, secrets } = value;
  if (log !== undefined) {
    if (!isRecord(log)) problems.add([...path, 'log'], `must be a mapping ({} for the defaults), found ${describe(log)}`);
    else {
      checkKeys(log, ['maxLines', 'maxBytes'], [...path, 'log'], problems);
      if (log.maxLines !== undefined) checkInteger(log.maxLines, [...path, 'log', 'maxLines'], problems, 1, MAX_LOG_LINES);
      if (log.maxBytes !== undefined) checkInteger(log.maxBytes, [...path, 'log', 'maxBytes'], problems, 1, MAX_LOG_BYTES);
    }
  }
  if (clock !== undefined) {
    if (!isRecord(clock)) problems.add([...path, 'clock'], `must be a mapping ({} for the defaults), found ${describe(clock)}`);
    else {
      checkKeys(clock, ['resolutionMs'], [...path, 'clock'], problems);
      if (clock.resolutionMs !== undefined) checkInteger(clock.resolutionMs, [...path, 'clock', 'resolutionMs'], problems, 1, MAX_CLOCK_RESOLUTION_MS);
    }
  }
  for (const [name, grant] of [['random', random], ['hash', hash]] as const) {
    if (grant === undefined || grant === true) continue;
    if (!isRecord(grant)) problems.add([...path, name], `must be true or {} (omit it to deny the capability), found ${describe(grant)}`);
    else checkKeys(grant, [], [...path, name], problems);
  }
  if (secrets !== undefined) {
    const secretsPath = [...path, 'secrets'];
    if (!isRecord(secrets)) {
      problems.add(secretsPath, `must be a mapping with "keys", found ${describe(secrets)}`);
      return;
    }
    checkKeys(secrets, ['keys'], secretsPath, problems);
    const keys = secrets.keys;
    if (!Array.isArray(keys)) {
      problems.add([...secretsPath, 'keys'], `must be a list of secret keys, found ${describe(keys)}`);
      return;
    }
    if (keys.length > MAX_SECRET_KEYS) problems.add([...secretsPath, 'keys'], `may list at most ${MAX_SECRET_KEYS} keys`);
    const seen = new Set<string>();
    keys.forEach((key: unknown, index) => {
      if (typeof key !== 'string' || !SECRET_KEY_PATTERN.test(key)) {
        problems.add([...secretsPath, 'keys', index], `must be a key like API_BASE_URL (a letter or _, then up to 127 of [A-Za-z0-9_]), found ${describe(key)}`);
      } else if (seen.has(key)) problems.add([...secretsPath, 'keys', index], `duplicate key "${key}"`);
      else seen.add(key);
    });
  }
}

function checkInteger(value: unknown, path: readonly PathSegment[], problems: ProblemList, min: number, max?: number, minReason?: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    problems.add(path, `${min === 1 ? 'must be a positive integer' : `must be an integer of at least ${min}`}, found ${describe(value)}`);
  } else if (value < min) {
    problems.add(path, `${min === 1 ? 'must be a positive integer' : `must be at least ${min}${minReason === undefined ? '' : ` (${minReason})`}`}, found ${value}`);
  } else if (max !== undefined && value > max) problems.add(path, `must be at most ${max}, found ${value}`);
}
