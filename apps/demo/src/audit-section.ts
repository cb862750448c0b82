import type { KeyObject } from 'node:crypto';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyLog } from '@beddel/audit';
import type { AuditProblem, AuditTrail, AuditVerification, TenantVerification } from '@beddel/audit';
import { fileAuditSink, tenantDirectoryName } from '@beddel/audit-file';
import type { DemoContext, DemoSection } from './demo-section.js';

/** The demo's audit log: a file sink in a temporary directory, written by the engine's audit trail. */
export interface DemoAuditLog {
  readonly dir: string;
  readonly trail: AuditTrail;
  readonly publicKey: KeyObject;
}

/** The record the demo rewrites in its copy of the log: mallory's timeout, turned into a success. */
export const TAMPERED = { tenant: 'mallory', sequence: 1 } as const;

export interface AuditOutcome {
  readonly log: AuditVerification;
  readonly tampered: AuditVerification;
  /** The log verified, and the tampered copy failed at exactly the rewritten record (and nowhere else). */
  readonly passed: boolean;
}

/**
 * Verifies the audit log the runs above wrote (it must pass), then rewrites one record in a copy
 * of it and verifies the copy (it must fail, naming that record). Runs with no services: the log
 * is a file sink in a temporary directory.
 */
export class AuditSection implements DemoSection {
  readonly title = 'Audit trail: verify the log, then a tampered copy';
  private result: AuditOutcome | undefined;

  constructor(private readonly audit: DemoAuditLog) {}

  get outcome(): AuditOutcome | undefined {
    return this.result;
  }

  async run({ out }: DemoContext): Promise<boolean> {
    const { dir, trail, publicKey } = this.audit;
    // Sign a checkpoint over every tenant's records now (the engine would on close).
    await trail.flush();
    const tenants = await withReader(dir, (sink) => sink.tenants());
    for (const tenant of tenants) await trail.checkpoint(tenant);

    const log = await withReader(dir, (sink) => verifyLog(sink, publicKey));
    const records = log.tenants.reduce((sum, tenant) => sum + tenant.records, 0);
    out.write(`Every run above left a SHA-256 record, chained per tenant, with Ed25519-signed Merkle checkpoints:\n`);
    out.write(`  ${dir} (file sink, ${records} records for ${log.tenants.length} tenants; a temporary directory)\n\n`);
    out.write(`1. verify the log            ${log.ok ? 'PASSED' : 'FAILED'}  ${log.ok ? `records per tenant: ${log.tenants.map((tenant) => `${tenant.tenantId} ${tenant.records}`).join(', ')}, every hash, link and signed root checks out` : describeFailure(log)}\n`);

    const copy = `${dir}-tampered`;
    await cp(dir, copy, { recursive: true });
    const before = await rewriteRecord(copy, TAMPERED.tenant, TAMPERED.sequence, (record) => {
      const was = `status "${String(record.status)}", errorCode ${JSON.stringify(record.errorCode)}`;
      record.status = 'ok';
      record.errorCode = null;
      return was;
    });
    out.write(`2. tamper with a copy        ${TAMPERED.tenant}'s record ${TAMPERED.sequence} (${before}) rewritten as a success, hash left as it was\n`);

    const tampered = await withReader(copy, (sink) => verifyLog(sink, publicKey));
    const bad = tampered.tenants.filter((tenant) => tenant.problems.length > 0);
    const detected =
      !tampered.ok && bad.length === 1 && bad[0]!.tenantId === TAMPERED.tenant && bad[0]!.firstBadSequence === TAMPERED.sequence;
    out.write(`3. verify the tampered copy  ${tampered.ok ? 'PASSED (the tampering went UNNOTICED)' : `FAILED ${detected ? 'as expected' : 'but not where expected'}: ${describeFailure(tampered)}`}\n\n`);

    const passed = log.ok && detected;
    this.result = { log, tampered, passed };
    out.write(passed ? 'The log verifies, and the rewritten record was caught.\n' : '✗ The audit check did not go as expected.\n');
    return passed;
  }
}

/** `mallory: first bad record 1: record-hash-mismatch: ...` for each failing tenant. */
function describeFailure(verification: AuditVerification): string {
  return verification.tenants
    .filter((tenant) => tenant.problems.length > 0)
    .map((tenant) => {
      const problem = firstBad(tenant);
      return `${tenant.tenantId}: first bad record ${tenant.firstBadSequence ?? '?'}: ${problem.code}: ${problem.message}`;
    })
    .join('; ');
}

function firstBad(tenant: TenantVerification): AuditProblem {
  return tenant.problems.find((problem) => problem.sequence === tenant.firstBadSequence) ?? tenant.problems[0]!;
}

async function withReader<T>(dir: string, use: (sink: ReturnType<typeof fileAuditSink>) => Promise<T>): Promise<T> {
  const sink = fileAuditSink({ dir, readOnly: true });
  try {
    return await use(sink);
  } finally {
    await sink.close();
  }
}

/** Edits one record of a tenant's JSONL segments in place; returns what `change` reports. */
async function rewriteRecord(dir: string, tenantId: string, sequence: number, change: (record: Record<string, unknown>) => string): Promise<string> {
  const tenantDir = join(dir, tenantDirectoryName(tenantId));
  for (const name of (await readdir(tenantDir)).filter((file) => file.startsWith('segment-')).sort()) {
    const path = join(tenantDir, name);
    const lines = (await readFile(path, 'utf8')).split('\n');
    const index = lines.findIndex((line) => line !== '' && (JSON.parse(line) as { sequence?: unknown }).sequence === sequence);
    if (index < 0) continue;
    const record = JSON.parse(lines[index]!) as Record<string, unknown>;
    const before = change(record);
    lines[index] = JSON.stringify(record);
    await writeFile(path, lines.join('\n'));
    return before;
  }
  throw new Error(`The demo log has no record ${sequence} for tenant ${tenantId}.`);
}
