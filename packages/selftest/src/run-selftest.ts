import { randomBytes } from 'node:crypto';
import type { Engine } from '@beddel/engine';
import { ATTACKS } from './attacks.js';
import type { Attack, AttackCategory } from './attacks.js';

export interface AttackResult {
  readonly id: string;
  readonly category: AttackCategory;
  readonly checks: string;
  readonly blocked: boolean;
  readonly observed: string;
  readonly durationMs: number;
}

export interface SelftestReport {
  /** 10 × blocked / total, to one decimal. */
  readonly score: number;
  readonly blocked: number;
  readonly total: number;
  readonly results: readonly AttackResult[];
}

export interface SelftestOptions {
  readonly attacks?: readonly Attack[];
  /** Called after each attack, e.g. to print progress. */
  readonly onResult?: (result: AttackResult) => void;
}

/**
 * Runs the attack suite against an engine. Attacks run one after another under tenant ids unique
 * to this run (`selftest-<random>-...`); an attack that throws counts as not blocked.
 */
export async function runSelftest(engine: Engine, options: SelftestOptions = {}): Promise<SelftestReport> {
  const runId = randomBytes(4).toString('hex');
  const results: AttackResult[] = [];
  for (const attack of options.attacks ?? ATTACKS) {
    const started = performance.now();
    let blocked = false;
    let observed: string;
    try {
      const verdict = await attack.run({ engine, tenant: (name) => `selftest-${runId}-${attack.id}-${name}` });
      blocked = verdict.blocked;
      observed = verdict.observed;
    } catch (error) {
      observed = `the attack threw: ${error instanceof Error ? error.message : String(error)}`;
    }
    const result: AttackResult = { id: attack.id, category: attack.category, checks: attack.checks, blocked, observed, durationMs: performance.now() - started };
    results.push(result);
    options.onResult?.(result);
  }
  const blockedCount = results.filter((result) => result.blocked).length;
  const total = results.length;
  return { score: total === 0 ? 0 : Math.round((100 * blockedCount) / total) / 10, blocked: blockedCount, total, results };
}
