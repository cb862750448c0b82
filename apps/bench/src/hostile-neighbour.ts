/**
 * The hostile-neighbour scenario: how long a victim tenant's trivial run takes while another
 * tenant attacks the shared engine with each class of tenant-controlled work that once ran on the
 * host or was not bounded (YAML problem mapping, JSON Schema compilation and validation, a flood of
 * long runs, memory outside the V8 heap, code generation from huge strings).
 *
 * One engine (default settings: supervised, fresh realm, default profile) serves both tenants.
 * The victim runs one short transformation after another for the whole attack window; its latency
 * percentiles are compared with the same loop measured alone. The attacker keeps `inFlight` of its
 * runs going; their outcomes are counted by code, so the table also shows that the attacks were
 * answered (and how).
 */
import { createEngine } from '@beddel/engine';
import { isolatedVmExecutor } from '@beddel/executor-isolated-vm';
import { summariseLatencies } from './stats.js';
import type { LatencySummary } from './stats.js';

export interface HostileAttack {
  readonly id: string;
  readonly description: string;
  /** Runs the attacker keeps in flight. */
  readonly inFlight: number;
  /** A fresh attack run: its transformation source (text, so nothing is cached) and input. */
  next(serial: number): { readonly source: string; readonly input: unknown };
}

export interface HostileNeighbourResult extends LatencySummary {
  readonly attack: string;
  readonly description: string;
  readonly victimFailures: number;
  readonly attackRuns: number;
  /** Outcomes of the attacker's runs by code ('ok' for success). */
  readonly attackOutcomes: Readonly<Record<string, number>>;
}

const VICTIM = `apiVersion: beddel/v1
kind: Transformation
metadata: { name: victim, version: 1.0.0 }
spec:
  steps:
    - name: sum
      run: |
        return { total: input.items.reduce((s, i) => s + i, 0) };
`;
const VICTIM_INPUT = { items: [1, 2, 3, 4, 5] };

function document(steps: string, extraSpec = ''): string {
  return `apiVersion: beddel/v1
kind: Transformation
metadata: { name: attack, version: 1.0.0 }
spec:${extraSpec}
  steps:
${steps}`;
}

function step(name: string, body: string): string {
  const indented = body
    .split('\n')
    .map((line) => `        ${line}`)
    .join('\n');
  return `    - name: ${name}\n      run: |\n${indented}\n`;
}

/** A flow-style JSON value inside YAML: JSON is valid YAML. */
function inline(value: unknown): string {
  return JSON.stringify(value);
}

export const HOSTILE_ATTACKS: readonly HostileAttack[] = [
  {
    id: 'yaml-misindented',
    description: 'misindented YAML near the size cap: thousands of parse problems to map',
    inFlight: 2,
    next: (serial) => {
      let items = '';
      for (let i = 0; i < 4000; i++) items += `  - a${i}: ${serial}\n - b${i}: [${i}\n`;
      return { source: document(items), input: null };
    },
  },
  {
    id: 'schema-patterns',
    description: 'inputSchema with 3,000 patterns (compiled on every run: a new comment each time)',
    inFlight: 2,
    next: (serial) => {
      const properties: Record<string, unknown> = {};
      for (let i = 0; i < 3000; i++) properties[`p${i}`] = { type: 'string', pattern: `^a${i}[b-z]*$` };
      return { source: `# ${serial}\n${document(step('only', 'return 1;'), `\n  inputSchema: ${inline({ type: 'object', properties })}`)}`, input: {} };
    },
  },
  {
    id: 'schema-anyof',
    description: 'inputSchema with a 2,000-branch anyOf',
    inFlight: 2,
    next: (serial) => {
      const branches = Array.from({ length: 2000 }, (_, i) => ({ type: 'object', required: [`k${i}`] }));
      return { source: `# ${serial}\n${document(step('only', 'return 1;'), `\n  inputSchema: ${inline({ anyOf: branches })}`)}`, input: { nope: true } };
    },
  },
  {
    id: 'validate-unique-items',
    description: 'uniqueItems over ~120 KB of distinct objects (input validation)',
    inFlight: 2,
    next: () => {
      const items = Array.from({ length: 4000 }, (_, i) => ({ id: i, tag: `t${i}` }));
      return { source: document(step('only', 'return 1;'), `\n  inputSchema: ${inline({ type: 'array', uniqueItems: true })}`), input: items };
    },
  },
  {
    id: 'validate-backtracking',
    description: 'a catastrophic-backtracking pattern against a 32-character input',
    inFlight: 2,
    next: () => ({
      source: document(step('only', 'return 1;'), `\n  inputSchema: ${inline({ type: 'string', pattern: '^(a+)+$' })}`),
      input: `${'a'.repeat(31)}!`,
    }),
  },
  {
    id: 'output-unique-items',
    description: 'the guest returns 4,000 distinct objects against an outputSchema with uniqueItems',
    inFlight: 2,
    next: () => ({
      source: document(step('only', 'return Array.from({ length: 4000 }, (_, i) => ({ id: i, tag: "t" + i }));'), `\n  outputSchema: ${inline({ type: 'array', uniqueItems: true })}`),
      input: null,
    }),
  },
  {
    id: 'flood',
    description: '8 concurrent CPU-bound runs (a 4e8-iteration loop, ~1 s each), continuously',
    inFlight: 8,
    // No clock: the default profile refuses Date.now(). ~1 s of CPU on this machine.
    next: (serial) => ({ source: document(step('spin', `let x = ${serial % 7}; for (let i = 0; i < 400000000; i++) x = (x + i) % 1000003; return x;`)), input: null }),
  },
  {
    id: 'memory-icu',
    description: 'ICU memory outside the V8 heap: Intl.Segmenter over a large string',
    inFlight: 2,
    next: (serial) => ({
      source: document(
        step('segments', `const text = 'word ${serial} '.repeat(400000); const out = []; for (const s of new Intl.Segmenter('en', { granularity: 'word' }).segment(text)) out.push(s.index); return out.length;`),
      ),
      input: null,
    }),
  },
  {
    id: 'codegen',
    description: 'code generation from a huge string (new Function over ~8 MB of source)',
    inFlight: 2,
    next: (serial) => ({ source: document(step('gen', `const body = 'x+=1;'.repeat(1600000) + ${serial}; return new Function('x', body)(0);`)), input: null }),
  },
];

export interface HostileNeighbourOptions {
  /** How long each attack runs while the victim is measured. */
  readonly windowMs: number;
  /** Victim runs measured alone before the attacks, for comparison. */
  readonly baselineMs: number;
  readonly attacks?: readonly string[];
  readonly log?: (line: string) => void;
}

export interface HostileNeighbourReport {
  readonly baseline: LatencySummary;
  readonly attacks: readonly HostileNeighbourResult[];
}

export async function hostileNeighbour(options: HostileNeighbourOptions): Promise<HostileNeighbourReport> {
  const attacks = HOSTILE_ATTACKS.filter((attack) => options.attacks === undefined || options.attacks.includes(attack.id));
  const results: HostileNeighbourResult[] = [];
  let baseline: HostileNeighbourReport['baseline'] | undefined;
  // A new engine per attack, so one attack's aftermath (a recycled worker) does not colour the next.
  for (const attack of [undefined, ...attacks]) {
    const engine = await createEngine({ plugins: [isolatedVmExecutor()] });
    try {
      const victim = engine.tenant('victim');
      const compiled = engine.compile(VICTIM);
      for (let i = 0; i < 50; i++) await victim.run(compiled, VICTIM_INPUT);
      const outcomes: Record<string, number> = {};
      let attackRuns = 0;
      let stop = false;
      const lanes: Promise<void>[] = [];
      if (attack !== undefined) {
        const attacker = engine.tenant('attacker');
        let serial = 0;
        for (let lane = 0; lane < attack.inFlight; lane++) {
          lanes.push(
            (async () => {
              while (!stop) {
                const { source, input } = attack.next(serial++);
                const result = await attacker.run(source, input);
                const code = result.ok ? 'ok' : result.error.code;
                outcomes[code] = (outcomes[code] ?? 0) + 1;
                attackRuns += 1;
                // A run refused before it reaches a sandbox settles in microtasks alone; without a
                // macrotask turn this loop would starve the victim's timers (a bench artefact).
                await new Promise((resolve) => setImmediate(resolve));
              }
            })(),
          );
        }
        // Let the attack get going before the victim is measured.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const latencies: number[] = [];
      let failures = 0;
      const windowMs = attack === undefined ? options.baselineMs : options.windowMs;
      const end = performance.now() + windowMs;
      while (performance.now() < end) {
        const t0 = performance.now();
        const result = await victim.run(compiled, VICTIM_INPUT);
        latencies.push(performance.now() - t0);
        if (!result.ok) failures += 1;
        // A steady trickle, as a real neighbour's traffic would be; not a second flood.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      stop = true;
      await Promise.all(lanes);
      const summary = summariseLatencies(latencies);
      if (attack === undefined) {
        baseline = summary;
        options.log?.(`  victim alone: p50 ${summary.p50Ms.toFixed(2)} ms  p99 ${summary.p99Ms.toFixed(2)} ms`);
      } else {
        results.push({
          attack: attack.id,
          description: attack.description,
          ...summary,
          victimFailures: failures,
          attackRuns,
          attackOutcomes: outcomes,
        });
        options.log?.(
          `  ${attack.id.padEnd(22)} victim p50 ${summary.p50Ms.toFixed(2)} ms  p99 ${summary.p99Ms.toFixed(2)} ms  max ${summary.maxMs.toFixed(1)} ms  attacker ${JSON.stringify(outcomes)}`,
        );
      }
    } finally {
      await engine.close();
    }
  }
  if (baseline === undefined) throw new Error('hostile-neighbour: no baseline measured');
  return { baseline, attacks: results };
}
