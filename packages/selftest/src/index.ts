export { ATTACKS, transformation } from './attacks.js';
export type { Attack, AttackCategory, AttackContext, AttackVerdict } from './attacks.js';
export { runSelftest } from './run-selftest.js';
export type { AttackResult, SelftestOptions, SelftestReport } from './run-selftest.js';
