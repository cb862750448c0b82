/**
 * Entry point of a sandbox worker process. Started by `WorkerProcessPool` with
 * `--no-node-snapshot`; talks to its parent over the IPC channel only. If guest code brings V8
 * down (an out-of-memory abort, a fatal error), only this process dies; the parent replaces it.
 */
import type { ExecutablePlan } from '@beddel/contracts';
import type { PoolPolicy } from '@beddel/memory-pool';
import { IsolateSandbox } from './isolate-sandbox.js';
import type { HostMessage, WorkerMessage } from './worker-protocol.js';

// Settings come from the supervisor as arguments, never from the environment.
const maxTenantsArgument = process.argv.find((argument) => argument.startsWith('--max-tenants='));
const maxTenants = Number(maxTenantsArgument?.slice('--max-tenants='.length) ?? '256');
const poolArgument = process.argv.find((argument) => argument.startsWith('--pool='));
const pool = poolArgument === undefined ? {} : (JSON.parse(poolArgument.slice('--pool='.length)) as Partial<PoolPolicy>);
const realm = process.argv.includes('--realm=frozen') ? 'frozen' : 'fresh';
const sandbox = new IsolateSandbox({ maxTenants: Number.isFinite(maxTenants) && maxTenants > 0 ? maxTenants : 256, pool, realm });
const STATS_INTERVAL_MS = 2000;
const plans = new Map<string, ExecutablePlan>();
const MAX_PLANS = 1024;

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

// Messages are handled one after another, also when one of them (a heap snapshot) is async.
let previous: Promise<void> = Promise.resolve();
process.on('message', (raw: HostMessage) => {
  previous = previous.then(() => handle(raw)).catch((error: unknown) => {
    process.stderr.write(`beddel worker: ${error instanceof Error ? error.message : String(error)}\n`);
  });
});

async function handle(raw: HostMessage): Promise<void> {
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
  const request = {
    tenantId: raw.tenantId,
    plan,
    inputJson: raw.inputJson,
    limits: raw.limits,
    ...(raw.capabilities === undefined ? {} : { capabilities: raw.capabilities }),
  };
  const outcome = raw.heapSnapshotPath === undefined ? sandbox.run(request) : await sandbox.runWithHeapSnapshot(request, raw.heapSnapshotPath);
  send({ type: 'result', id: raw.id, outcome });
  // Between messages, get this tenant's next context ready (off the hot path of its next run).
  const tenantId = raw.tenantId;
  setImmediate(() => sandbox.prepare(tenantId));
}

// The parent going away (crash, kill -9) must not leave orphaned sandbox processes behind.
process.on('disconnect', () => {
  sandbox.close();
  process.exit(0);
});

// Cleanup cycle: evict idle tenants and report pool statistics to the supervisor.
setInterval(() => {
  sandbox.evictIdle();
  send({ type: 'stats', stats: sandbox.stats() });
}, STATS_INTERVAL_MS).unref();

send({ type: 'ready' });
