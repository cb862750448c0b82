import { ErrorCodes } from '@beddel/contracts';
import type { ErrorCode, RunResult } from '@beddel/contracts';

/** What a scenario's result means, for the note column; `breach` marks an attack that got something. */
export interface Verdict {
  readonly note: string;
  readonly breach?: boolean;
}

export interface Scenario {
  readonly tenant: string;
  /** Path under `examples/`. */
  readonly transformation: string;
  /** Path under `examples/` of the JSON input; `{}` when absent. */
  readonly input?: string;
  /** Shown instead of the transformation's name when one file plays several parts. */
  readonly label?: string;
  /** `attack-setup`: hostile code whose own run is expected to work (it prepares the next attack). */
  readonly kind: 'realistic' | 'attack' | 'attack-setup';
  /** `ok`, or the error code the run must be stopped with. */
  readonly expected: 'ok' | ErrorCode;
  describe(result: RunResult): Verdict;
}

interface OrderTotal {
  currency: string;
  total: number;
  lines: unknown[];
}
interface BillingEvent {
  kind: string;
  customerId: string | null;
  amount: { value: number; currency: string } | null;
}
interface NormalisedRows {
  stats: { received: number; kept: number; dropped: number };
}
interface EscapeReport {
  probes: number;
  routes: number;
  deadRoutes: string[];
  found: string[];
}
interface Findings {
  found: Array<{ where: string; value: string }>;
}

/** The note of a run that must have been stopped: the code's story, or a breach if it ran to the end. */
function stopped(note: string): (result: RunResult) => Verdict {
  return (result) => (result.ok ? { note: 'was NOT stopped', breach: true } : { note });
}

/** Describes a successful run from its output; a failed run's note is its error message. */
function fromOutput<Output>(describe: (output: Output) => Verdict): (result: RunResult) => Verdict {
  return (result) => (result.ok ? describe(result.output as Output) : { note: result.error.message.slice(0, 70) });
}

function foundNothing(what: string): (result: RunResult) => Verdict {
  return fromOutput<Findings>(({ found }) =>
    found.length === 0 ? { note: `found nothing ${what}` } : { note: `FOUND it in ${found.map((hit) => hit.where).join(', ')}`, breach: true },
  );
}

function orderTotal(prefix = ''): (result: RunResult) => Verdict {
  return fromOutput<OrderTotal>((order) => ({ note: `${prefix}total ${order.currency} ${order.total.toFixed(2)} for ${order.lines.length} lines` }));
}

/**
 * The demo's runs, in order. Realistic transformations for three tenants; then a hostile tenant
 * tries to escape, hang and exhaust memory; then tenant acme leaves a secret in every global it
 * can reach and globex (and acme itself, one run later) look for it; then acme is served again.
 */
export const SCENARIOS: readonly Scenario[] = [
  {
    tenant: 'acme',
    transformation: 'order-total.yaml',
    input: 'order-total.input.json',
    kind: 'realistic',
    expected: 'ok',
    describe: orderTotal(),
  },
  {
    tenant: 'globex',
    transformation: 'webhook-mapper.yaml',
    input: 'webhook-mapper.input.json',
    kind: 'realistic',
    expected: 'ok',
    describe: fromOutput<BillingEvent>((event) => {
      const amount = event.amount === null ? '' : ` ${event.amount.currency} ${event.amount.value}`;
      return { note: `${event.kind}${amount} for ${event.customerId ?? 'no customer'}` };
    }),
  },
  {
    tenant: 'initech',
    transformation: 'csv-normalise.yaml',
    input: 'csv-normalise.input.json',
    kind: 'realistic',
    expected: 'ok',
    describe: fromOutput<NormalisedRows>(({ stats }) => ({ note: `kept ${stats.kept} of ${stats.received} rows, dropped ${stats.dropped} invalid` })),
  },
  {
    tenant: 'mallory',
    transformation: 'hostile/escape-attempt.yaml',
    kind: 'attack',
    expected: 'ok',
    describe: fromOutput<EscapeReport>((report) => {
      if (report.found.length > 0) return { note: `FOUND ${report.found.join('; ')}`, breach: true };
      // A route that cannot even see JSON proves nothing by finding nothing.
      if (report.deadRoutes.length > 0) return { note: `probe broken: ${report.deadRoutes.join(', ')}`, breach: true };
      return { note: `found nothing (${report.probes} probes over ${report.routes} routes)` };
    }),
  },
  {
    tenant: 'mallory',
    transformation: 'hostile/infinite-loop.yaml',
    kind: 'attack',
    expected: ErrorCodes.TIMEOUT,
    describe: stopped('while (true) stopped at its 500 ms limit'),
  },
  {
    tenant: 'mallory',
    transformation: 'hostile/memory-bomb.yaml',
    kind: 'attack',
    expected: ErrorCodes.MEMORY_LIMIT,
    describe: stopped('unbounded allocation stopped at 16 MB'),
  },
  {
    tenant: 'acme',
    transformation: 'hostile/cross-tenant-read.yaml',
    input: 'hostile/cross-tenant-read.plant.input.json',
    label: 'cross-tenant-read (plant)',
    kind: 'attack-setup',
    expected: 'ok',
    describe: fromOutput<{ planted: string[] }>(({ planted }) => ({ note: `left a secret in ${planted.slice(0, 2).join(', ')} and ${planted.length - 2} more` })),
  },
  {
    tenant: 'globex',
    transformation: 'hostile/cross-tenant-read.yaml',
    input: 'hostile/cross-tenant-read.read.input.json',
    label: 'cross-tenant-read (read)',
    kind: 'attack',
    expected: 'ok',
    describe: foundNothing("of acme's secret"),
  },
  {
    tenant: 'acme',
    transformation: 'hostile/cross-tenant-read.yaml',
    input: 'hostile/cross-tenant-read.read.input.json',
    label: 'cross-tenant-read (read)',
    kind: 'attack',
    expected: 'ok',
    describe: foundNothing('from its own previous run'),
  },
  {
    tenant: 'acme',
    transformation: 'order-total.yaml',
    input: 'order-total.input.json',
    kind: 'realistic',
    expected: 'ok',
    describe: orderTotal('after the attacks: '),
  },
];
