/**
 * Entry point of a sandbox worker process. Started by `WorkerProcessPool` with
 * `--no-node-snapshot`; talks to its parent over the IPC channel only. If guest code brings V8
 * down (an out-of-memory abort, a fatal error), only this process dies; the parent replaces it.
 */
import type { ExecutablePlan } from '@beddel/contracts';
import { IsolateSandbox } from './isolate-sandbox.js';
import type { HostMessage, WorkerMessage, WorkerSettings } from './worker-protocol.js';

const STATS_INTERVAL_MS = 2000;
const plans = new Map<string, ExecutablePlan>();
const MAX_PLANS = 1024;
/** Made by the supervisor's `configure` message, the first it sends; settings never come from the environment. */
let sandbox: IsolateSandbox | undefined;

type RunMessage = Extract<HostMessage, { type: 'run' }>;

interface Waiting {
  readonly message: RunMessage;
  readonly plan: ExecutablePlan;
}

function send(message: WorkerMessage): void {
  process.send?.(message);
}

function rememberPlan(plan: ExecutablePlan): void {
  plans.delete(plan.id);
  plans.set(plan.id, plan);
  if (plans.size > MAX_PLANS) {
    const oldest = plans.keys().next().value;
    if (oldest !== undefined) plans.delete(oldest);
  }
}

/**
 * The executions the supervisor sent ahead, in arrival order. The next one to run belongs to the
 * tenant served least recently here, so a tenant sent past a pipeline full of another tenant's
 * executions runs before them, not after.
 */
const waiting: Waiting[] = [];
/** tenant -> sequence number of its last start here (bounded: the oldest entries are dropped). */
const lastServed = new Map<string, number>();
const MAX_SERVED_ENTRIES = 4096;
let servedSequence = 0;
let running = false;
let scheduled = false;

function configure(settings: WorkerSettings): void {
  if (sandbox !== undefined) return;
  const configured = new IsolateSandbox({ pool: settings.pool, realm: settings.realm });
  sandbox = configured;
  // Cleanup cycle: evict idle tenants and report pool statistics to the supervisor.
  setInterval(() => {
    configured.evictIdle();
    send({ type: 'stats', stats: configured.stats() });
  }, STATS_INTERVAL_MS).unref();
  send({ type: 'ready' });
}

process.on('message', (raw: HostMessage) => {
  if (raw.type === 'configure') {
    configure(raw.settings);
    return;
  }
  // The supervisor sends nothing else before `ready`.
  if (sandbox === undefined) return;
  if (raw.type === 'evict') {
    sandbox.evict(raw.tenantId);
    return;
  }
  if (raw.plan !== undefined) rememberPlan(raw.plan);
  const plan = plans.get(raw.planId);
  if (plan === undefined) {
    send({ type: 'unknown-plan', id: raw.id });
    return;
  }
  waiting.push({ message: raw, plan });
  scheduleNext();
});

/**
 * Runs the next execution from a fresh turn of the event loop: guest code blocks this thread, so
 * messages that arrived meanwhile are read (poll phase) before the next one is picked (check phase).
 */
function scheduleNext(): void {
  if (running || scheduled || waiting.length === 0) return;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    void runNext();
  });
}

function takeLeastRecentlyServed(): Waiting | undefined {
  let bestIndex = -1;
  let bestServed = Number.POSITIVE_INFINITY;
  for (let i = 0; i < waiting.length; i++) {
    const served = lastServed.get((waiting[i] as Waiting).message.tenantId) ?? -1;
    if (served < bestServed) {
      bestServed = served;
      bestIndex = i;
    }
  }
  return bestIndex < 0 ? undefined : waiting.splice(bestIndex, 1)[0];
}

async function runNext(): Promise<void> {
  const configured = sandbox;
  if (running || configured === undefined) return;
  const next = takeLeastRecentlyServed();
  if (next === undefined) return;
  running = true;
  const { message, plan } = next;
  lastServed.delete(message.tenantId);
  lastServed.set(message.tenantId, ++servedSequence);
  if (lastServed.size > MAX_SERVED_ENTRIES) {
    const oldest = lastServed.keys().next().value;
    if (oldest !== undefined) lastServed.delete(oldest);
  }
  try {
    send({ type: 'started', id: message.id });
    const request = {
      tenantId: message.tenantId,
      plan,
      inputJson: message.inputJson,
      limits: message.limits,
      ...(message.capabilities === undefined ? {} : { capabilities: message.capabilities }),
    };
    const outcome = message.heapSnapshotPath === undefined ? configured.run(request) : await configured.runWithHeapSnapshot(request, message.heapSnapshotPath);
    send({ type: 'result', id: message.id, outcome });
  } catch (error) {
    process.stderr.write(`beddel worker: ${error instanceof Error ? error.message : String(error)}\n`);
  } finally {
    running = false;
  }
  // Between executions, get this tenant's next context ready (off the hot path of its next run).
  const tenantId = message.tenantId;
  setImmediate(() => configured.prepare(tenantId));
  scheduleNext();
}

// The parent going away (crash, kill -9) must not leave orphaned sandbox processes behind.
process.on('disconnect', () => {
  sandbox?.close();
  process.exit(0);
});
