import { BeddelError, ErrorCodes } from '@beddel/contracts';
import type { ExecutionOutcome, ExecutionRequest } from '@beddel/contracts';
import type { PoolPolicy } from '@beddel/memory-pool';
import { IsolateSandbox } from './isolate-sandbox.js';
import type { RealmMode } from './isolate-sandbox.js';
import type { SandboxBackend, SandboxPoolStats } from './sandbox-backend.js';

/**
 * Isolates in this process (`mode: 'in-process'`): no IPC hop, but no crash containment and no
 * external deadline, and guest code blocks this process's event loop while it runs.
 */
export class InProcessBackend implements SandboxBackend {
  private readonly sandbox: IsolateSandbox;

  constructor(settings: { readonly pool: Partial<PoolPolicy>; readonly realm: RealmMode }) {
    assertNoNodeSnapshot();
    this.sandbox = new IsolateSandbox({ pool: settings.pool, realm: settings.realm });
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
    if (request.heapSnapshotPath !== undefined) return this.sandbox.runWithHeapSnapshot(request, request.heapSnapshotPath);
    const outcome = this.sandbox.run(request);
    // As a worker does between messages: the tenant's next context, off its next run's path.
    setImmediate(() => this.sandbox.prepare(request.tenantId));
    return Promise.resolve(outcome);
  }

  evictTenant(tenantId: string): Promise<void> {
    this.sandbox.evict(tenantId);
    return Promise.resolve();
  }

  poolStats(): readonly SandboxPoolStats[] {
    return [{ worker: 'in-process', pid: process.pid, stats: this.sandbox.stats() }];
  }

  close(): Promise<void> {
    this.sandbox.close();
    return Promise.resolve();
  }
}

function assertNoNodeSnapshot(): void {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (!flags.includes('--no-node-snapshot')) {
    throw new BeddelError(
      ErrorCodes.CONFIGURATION,
      'The in-process executor needs Node started with --no-node-snapshot (isolated-vm crashes without it). Start node with that flag or use mode: "supervised".',
    );
  }
}
