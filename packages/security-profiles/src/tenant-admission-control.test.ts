import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes } from '@beddel/contracts';
import type { SecurityProfile } from '@beddel/contracts';
import { STRICT_SECURITY_PROFILE } from './security-profile-registry.js';
import { TenantAdmissionControl } from './tenant-admission-control.js';

const profile = (ratePerSecond: number | null, maxConcurrency: number): SecurityProfile => ({ ...STRICT_SECURITY_PROFILE, ratePerSecond, maxConcurrency });

describe('TenantAdmissionControl', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("applies the profile's rate per tenant with BEDDEL_RATE_LIMITED", async () => {
    let now = 0;
    const admission = new TenantAdmissionControl({ now: () => now });
    const twoPerSecond = profile(2, 10);
    (await admission.admit('acme', twoPerSecond))();
    (await admission.admit('acme', twoPerSecond))();
    await expect(admission.admit('acme', twoPerSecond)).rejects.toMatchObject({ code: ErrorCodes.RATE_LIMITED });
    (await admission.admit('globex', twoPerSecond))();
    now += 500;
    (await admission.admit('acme', twoPerSecond))();
  });

  it("applies the profile's concurrency with a bounded wait, then BEDDEL_OVERLOADED", async () => {
    const admission = new TenantAdmissionControl({ maxQueue: 1, maxWaitMs: 100 });
    const one = profile(null, 1);
    const release = await admission.admit('acme', one);
    const waiting = admission.admit('acme', one);
    await expect(admission.admit('acme', one)).rejects.toMatchObject({ code: ErrorCodes.OVERLOADED });
    release();
    const next = await waiting;
    const timedOut = admission.admit('acme', one);
    const assertion = expect(timedOut).rejects.toMatchObject({ code: ErrorCodes.OVERLOADED });
    await vi.advanceTimersByTimeAsync(100);
    await assertion;
    next();
  });

  it('checks the rate before queueing, so a rate-limited run takes no queue place', async () => {
    const admission = new TenantAdmissionControl({ maxQueue: 1, maxWaitMs: 1_000, now: () => 0 });
    const strict = profile(1, 1);
    const release = await admission.admit('acme', strict);
    await expect(admission.admit('acme', strict)).rejects.toMatchObject({ code: ErrorCodes.RATE_LIMITED });
    release();
  });
});
