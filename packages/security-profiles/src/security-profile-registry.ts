import { DEFAULT_SECURITY_PROFILE } from '@beddel/contracts';
import type { CapabilityGrants, ExecutionLimits, SecurityProfile, SecurityProfileProvider } from '@beddel/contracts';
import { ProblemList } from './problems.js';
import type { PathSegment } from './problems.js';
import { checkSecurityProfilesShape, DEFAULT_CLOCK_GRANT, DEFAULT_LOG_GRANT } from './security-profiles-config.js';
import type { CapabilityGrantsSpec, SecurityProfileSpec, SecurityProfilesConfig } from './security-profiles-config.js';

const KIB = 1024;
const MIB = 1024 * 1024;

/** The built-in `strict` profile: short, small, few, and no capabilities. A tightening of `default`. */
export const STRICT_SECURITY_PROFILE: SecurityProfile = deepFreeze({
  id: 'strict',
  limits: { timeoutMs: 1_000, memoryLimitMb: 16, maxInputBytes: 256 * KIB, maxOutputBytes: 256 * KIB, maxSteps: 8 },
  maxConcurrency: 4,
  ratePerSecond: 50,
  maxExecutionHeapBytes: 4 * MIB,
  capabilities: {},
  dedicatedWorker: false,
  allowHeapSnapshots: false,
});

const BUILT_IN_PROFILES: ReadonlyMap<string, SecurityProfile> = new Map([
  ['default', DEFAULT_SECURITY_PROFILE],
  ['strict', STRICT_SECURITY_PROFILE],
]);

const LIMIT_KEYS = ['timeoutMs', 'memoryLimitMb', 'maxInputBytes', 'maxOutputBytes', 'maxSteps'] as const;
const TIGHTEN_ONLY = 'a profile may only tighten its base unless it sets allowLoosening: true';

export interface SecurityProfileRegistryOptions {
  /** Where the configuration came from (a file path), for error messages. Default `configuration`. */
  readonly source?: string;
}

/**
 * The profiles of one configuration, resolved once: the built-in `default` and `strict`, the
 * operator's named profiles and tenant assignments. Construction checks everything and throws one
 * BEDDEL_CONFIGURATION error listing every problem; afterwards `profileFor` is a map lookup that
 * returns the same frozen profile object each time.
 */
export class SecurityProfileRegistry implements SecurityProfileProvider {
  /** Name of the profile tenants not listed in `tenants` run under. */
  readonly defaultProfileName: string;
  private readonly named: ReadonlyMap<string, SecurityProfile>;
  private readonly tenants: ReadonlyMap<string, SecurityProfile>;

  constructor(config: SecurityProfilesConfig = {}, options: SecurityProfileRegistryOptions = {}) {
    const source = options.source ?? 'configuration';
    const problems = new ProblemList();
    if (!checkSecurityProfilesShape(config, problems, { requireHeader: false })) problems.throwIfAny(source);
    const resolved = new ProfileResolver(config, problems).resolveAll();
    problems.throwIfAny(source);
    this.named = resolved.named;
    this.tenants = resolved.tenants;
    this.defaultProfileName = config.defaultProfile ?? 'default';
  }

  profileFor(tenantId: string): SecurityProfile {
    // Both lookups succeed: the constructor checked that `defaultProfileName` names a profile.
    return this.tenants.get(tenantId) ?? (this.named.get(this.defaultProfileName) as SecurityProfile);
  }

  /** A named profile (built-in or from the configuration), or undefined. */
  profile(name: string): SecurityProfile | undefined {
    return this.named.get(name);
  }

  /** Names of every named profile, built-ins first. */
  get profileNames(): readonly string[] {
    return [...this.named.keys()];
  }

  /** Tenants with an assignment of their own. */
  get tenantIds(): readonly string[] {
    return [...this.tenants.keys()];
  }
}

/** Follows `extends` chains with memoisation; reports unknown bases and cycles once, at their root. */
class ProfileResolver {
  private readonly specs: Map<string, SecurityProfileSpec>;
  private readonly named = new Map<string, SecurityProfile>(BUILT_IN_PROFILES);
  private readonly failed = new Set<string>();

  constructor(
    private readonly config: SecurityProfilesConfig,
    private readonly problems: ProblemList,
  ) {
    this.specs = new Map(Object.entries(config.profiles ?? {}));
    for (const name of BUILT_IN_PROFILES.keys()) {
      if (!this.specs.has(name)) continue;
      problems.add(['profiles', name], `"${name}" is a built-in profile and cannot be redefined: define a profile that extends it and name it in defaultProfile`);
      this.specs.delete(name);
    }
  }

  resolveAll(): { named: Map<string, SecurityProfile>; tenants: Map<string, SecurityProfile> } {
    for (const name of this.specs.keys()) this.resolveNamed(name, []);
    const tenants = new Map<string, SecurityProfile>();
    for (const [tenantId, assignment] of Object.entries(this.config.tenants ?? {})) {
      const path = ['tenants', tenantId];
      let profile: SecurityProfile | undefined;
      if (typeof assignment === 'string') profile = this.resolveReference(assignment, [], path);
      else {
        const base = this.resolveReference(assignment.extends, [], [...path, 'extends']);
        if (base !== undefined) profile = buildProfile(`tenant:${tenantId}`, assignment, base, path, this.problems);
      }
      if (profile !== undefined) tenants.set(tenantId, profile);
    }
    const defaultName = this.config.defaultProfile;
    if (defaultName !== undefined) this.resolveReference(defaultName, [], ['defaultProfile']);
    return { named: this.named, tenants };
  }

  private resolveReference(name: string, stack: readonly string[], path: readonly PathSegment[]): SecurityProfile | undefined {
    if (!this.named.has(name) && !this.specs.has(name)) {
      this.problems.add(path, `unknown profile "${name}" (known: ${[...BUILT_IN_PROFILES.keys(), ...this.specs.keys()].join(', ')})`);
      return undefined;
    }
    return this.resolveNamed(name, stack);
  }

  private resolveNamed(name: string, stack: readonly string[]): SecurityProfile | undefined {
    const done = this.named.get(name);
    if (done !== undefined) return done;
    if (this.failed.has(name)) return undefined;
    const spec = this.specs.get(name) as SecurityProfileSpec;
    const path = ['profiles', name];
    const cycleStart = stack.indexOf(name);
    if (cycleStart >= 0) {
      const cycle = [...stack.slice(cycleStart), name];
      this.problems.add([...path, 'extends'], `extends forms a cycle: ${cycle.join(' → ')}`);
      for (const member of cycle) this.failed.add(member);
      return undefined;
    }
    const base = this.resolveReference(spec.extends, [...stack, name], [...path, 'extends']);
    if (base === undefined) {
      this.failed.add(name);
      return undefined;
    }
    const profile = buildProfile(name, spec, base, path, this.problems);
    this.named.set(name, profile);
    return profile;
  }
}

/** Applies `spec` over `base`, then checks the result on its own and (unless allowed) against the base. */
function buildProfile(id: string, spec: SecurityProfileSpec, base: SecurityProfile, path: readonly PathSegment[], problems: ProblemList): SecurityProfile {
  const limits: ExecutionLimits = { ...base.limits, ...definedOnly(spec.limits ?? {}) };
  const profile: SecurityProfile = {
    id,
    limits,
    maxConcurrency: spec.maxConcurrency ?? base.maxConcurrency,
    ratePerSecond: spec.ratePerSecond === undefined ? base.ratePerSecond : spec.ratePerSecond,
    maxExecutionHeapBytes: spec.maxExecutionHeapBytes ?? base.maxExecutionHeapBytes,
    capabilities: spec.capabilities === undefined ? base.capabilities : mergeCapabilities(spec.capabilities, base.capabilities),
    dedicatedWorker: spec.dedicatedWorker ?? base.dedicatedWorker,
    allowHeapSnapshots: spec.allowHeapSnapshots ?? base.allowHeapSnapshots,
  };

  const isolateBytes = profile.limits.memoryLimitMb * MIB;
  if (profile.maxExecutionHeapBytes > isolateBytes) {
    const where = spec.maxExecutionHeapBytes === undefined ? [...path, 'limits', 'memoryLimitMb'] : [...path, 'maxExecutionHeapBytes'];
    problems.add(
      where,
      `maxExecutionHeapBytes (${profile.maxExecutionHeapBytes}) must fit in the isolate's memoryLimitMb (${profile.limits.memoryLimitMb} MB = ${isolateBytes} bytes)`,
    );
  }
  if (spec.allowLoosening !== true) checkTightens(spec, profile, base, path, problems);
  return deepFreeze(profile);
}

function mergeCapabilities(spec: CapabilityGrantsSpec, base: CapabilityGrants): CapabilityGrants {
  const grants: { -readonly [K in keyof CapabilityGrants]: CapabilityGrants[K] } = {};
  if (spec.log !== undefined) {
    grants.log = {
      maxLines: spec.log.maxLines ?? base.log?.maxLines ?? DEFAULT_LOG_GRANT.maxLines,
      maxBytes: spec.log.maxBytes ?? base.log?.maxBytes ?? DEFAULT_LOG_GRANT.maxBytes,
    };
  }
  if (spec.clock !== undefined) grants.clock = { resolutionMs: spec.clock.resolutionMs ?? base.clock?.resolutionMs ?? DEFAULT_CLOCK_GRANT.resolutionMs };
  if (spec.random !== undefined) grants.random = {};
  if (spec.hash !== undefined) grants.hash = {};
  if (spec.secrets !== undefined) grants.secrets = { keys: [...spec.secrets.keys] };
  return grants;
}

/**
 * The tightening rule. Only fields the spec sets can differ from the base, so only they are
 * checked, and each problem points at the field that loosens.
 */
function checkTightens(spec: SecurityProfileSpec, profile: SecurityProfile, base: SecurityProfile, path: readonly PathSegment[], problems: ProblemList): void {
  const over = `its base "${base.id}"`;
  const raised = (field: readonly PathSegment[], name: string, from: number | string, to: number | string): void =>
    problems.add([...path, ...field], `raises ${name} from ${from} to ${to} over ${over}: ${TIGHTEN_ONLY}`);

  for (const key of LIMIT_KEYS) {
    if (spec.limits?.[key] !== undefined && profile.limits[key] > base.limits[key]) raised(['limits', key], key, base.limits[key], profile.limits[key]);
  }
  if (spec.maxConcurrency !== undefined && profile.maxConcurrency > base.maxConcurrency) {
    raised(['maxConcurrency'], 'maxConcurrency', base.maxConcurrency, profile.maxConcurrency);
  }
  if (spec.maxExecutionHeapBytes !== undefined && profile.maxExecutionHeapBytes > base.maxExecutionHeapBytes) {
    raised(['maxExecutionHeapBytes'], 'maxExecutionHeapBytes', base.maxExecutionHeapBytes, profile.maxExecutionHeapBytes);
  }
  if (spec.ratePerSecond !== undefined && base.ratePerSecond !== null && (profile.ratePerSecond === null || profile.ratePerSecond > base.ratePerSecond)) {
    raised(['ratePerSecond'], 'ratePerSecond', base.ratePerSecond, profile.ratePerSecond ?? 'null (unlimited)');
  }
  if (base.dedicatedWorker && !profile.dedicatedWorker) {
    problems.add([...path, 'dedicatedWorker'], `turns dedicatedWorker off, which ${over} turns on: ${TIGHTEN_ONLY}`);
  }
  if (!base.allowHeapSnapshots && profile.allowHeapSnapshots) {
    problems.add([...path, 'allowHeapSnapshots'], `turns allowHeapSnapshots on, which ${over} leaves off: ${TIGHTEN_ONLY}`);
  }
  if (spec.capabilities === undefined) return;

  const granted = profile.capabilities;
  const baseGrants = base.capabilities;
  const capabilityPath = [...path, 'capabilities'];
  for (const name of Object.keys(granted) as Array<keyof CapabilityGrants>) {
    if (baseGrants[name] === undefined) problems.add([...capabilityPath, name], `grants ${name}, which ${over} does not grant: ${TIGHTEN_ONLY}`);
  }
  if (granted.log !== undefined && baseGrants.log !== undefined) {
    for (const key of ['maxLines', 'maxBytes'] as const) {
      if (granted.log[key] > baseGrants.log[key]) raised(['capabilities', 'log', key], `log.${key}`, baseGrants.log[key], granted.log[key]);
    }
  }
  if (granted.clock !== undefined && baseGrants.clock !== undefined && granted.clock.resolutionMs < baseGrants.clock.resolutionMs) {
    problems.add(
      [...capabilityPath, 'clock', 'resolutionMs'],
      `makes the clock finer (${granted.clock.resolutionMs} ms) than ${over} (${baseGrants.clock.resolutionMs} ms): ${TIGHTEN_ONLY}`,
    );
  }
  if (granted.secrets !== undefined && baseGrants.secrets !== undefined) {
    const allowed = new Set(baseGrants.secrets.keys);
    granted.secrets.keys.forEach((key, index) => {
      if (!allowed.has(key)) problems.add([...capabilityPath, 'secrets', 'keys', index], `grants secret key "${key}", which ${over} does not grant: ${TIGHTEN_ONLY}`);
    });
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const entry of Object.values(value)) deepFreeze(entry);
  }
  return value;
}
