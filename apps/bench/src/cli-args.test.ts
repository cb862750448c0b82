import { describe, expect, it } from 'vitest';
import { chartPathFor, parseArgs } from './cli-args.js';
import { balancedTenants, fnv1aSlot } from './tenants.js';

describe('command line', () => {
  it('accepts the forms pnpm forwards', () => {
    expect(parseArgs(['--', '--quick', '--json', 'out.json'])).toMatchObject({ quick: true, json: 'out.json', extras: true });
    expect(parseArgs(['--quick', '--json=out.json', '--no-extras'])).toMatchObject({ quick: true, json: 'out.json', extras: false });
    expect(parseArgs(['--hostile', '--quick'])).toMatchObject({ hostile: true, quick: true });
    expect(parseArgs(['--quick'])).toMatchObject({ hostile: false });
    expect(parseArgs(['--soak', '100_000', '--soak-tenants', '50'])).toMatchObject({ soak: 100_000, soakTenants: 50, soakMode: 'supervised' });
    expect(parseArgs(['--engines', 'node-vm,quickjs'])).toMatchObject({ engines: ['node-vm', 'quickjs'] });
  });

  it('rejects unknown flags and bad values', () => {
    expect(() => parseArgs(['--fast'])).toThrow(/Unknown argument --fast/);
    expect(() => parseArgs(['--soak', '-3'])).toThrow(/positive integer/);
    expect(() => parseArgs(['--json'])).toThrow(/file name/);
    expect(() => parseArgs(['--soak-mode', 'threads'])).toThrow(/supervised or in-process/);
  });

  it('puts the chart next to the JSON', () => {
    expect(chartPathFor('results/out.json')).toBe('results/out.svg');
    expect(chartPathFor('out')).toBe('out.svg');
  });
});

describe('balanced tenants', () => {
  it('spreads tenant ids evenly over worker slots', () => {
    const tenants = balancedTenants('lane', 4, 2);
    expect(new Set(tenants).size).toBe(4);
    expect(tenants.map((t) => fnv1aSlot(t, 2))).toEqual([0, 1, 0, 1]);
  });
});
