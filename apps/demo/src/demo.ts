import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditTrail, generateAuditKeyPair, publicKeyToPem } from '@beddel/audit';
import { fileAuditSink } from '@beddel/audit-file';
import { createEngine } from '@beddel/engine';
import type { Engine } from '@beddel/engine';
import { isolatedVmExecutor } from '@beddel/executor-isolated-vm';
import { winstonLogger } from '@beddel/logger-winston';
import { prometheusMetrics } from '@beddel/metrics-prometheus';
import { AuditSection } from './audit-section.js';
import type { AuditOutcome, DemoAuditLog } from './audit-section.js';
import type { DemoSection } from './demo-section.js';
import { MetricsSection } from './metrics-section.js';
import { ExampleFiles } from './examples.js';
import { SCENARIOS } from './scenarios.js';
import { TenantRunsSection } from './tenant-runs-section.js';
import type { RunRow } from './tenant-runs-section.js';

export interface DemoOptions {
  /** Where the report goes. Default: stdout. */
  readonly out?: NodeJS.WritableStream;
  /** Where engine logs go (level warn). Default: stderr. */
  readonly logStream?: NodeJS.WritableStream;
  /** Folder holding the example transformations. Default: the repository's `examples/`. */
  readonly examplesDir?: string;
}

export interface DemoReport {
  /** 0 when every section went as expected, 1 otherwise. */
  readonly exitCode: number;
  readonly runs: readonly RunRow[];
  /** The audit section's two verifications (absent if it did not get to run). */
  readonly audit?: AuditOutcome;
}

/**
 * The one engine of the demo: supervised isolated-vm executor (worker processes), winston at warn,
 * and an audit trail writing to a file sink in a temporary directory, with a key pair made for
 * this run (its public key is written beside the log, as an operator would).
 */
async function buildDemoEngine(logStream: NodeJS.WritableStream, auditDir: string): Promise<{ engine: Engine; audit: DemoAuditLog; renderMetrics: () => Promise<string> }> {
  const { privateKey, publicKey } = generateAuditKeyPair();
  await writeFile(join(auditDir, 'audit-public-key.pem'), publicKeyToPem(publicKey));
  const audit = auditTrail({ sink: fileAuditSink({ dir: auditDir }), signingKey: privateKey });
  const metrics = prometheusMetrics();
  const engine = await createEngine({ plugins: [winstonLogger({ level: 'warn', stream: logStream }), metrics, audit, isolatedVmExecutor()] });
  return { engine, audit: { dir: auditDir, trail: audit.trail, publicKey }, renderMetrics: () => metrics.renderMetrics() };
}

/**
 * Runs the demo and prints its report. Needs no services. Sections run in order on one engine;
 * further sections (e.g. audit verification) are appended to `sections`.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const out = options.out ?? process.stdout;
  const examples = new ExampleFiles(options.examplesDir);
  const runs = new TenantRunsSection(SCENARIOS);

  out.write('Beddel Runtime demo: untrusted transformation code from several tenants, one engine\n');
  out.write('(V8 isolates per tenant in supervised worker processes; time, CPU and heap are measured per run)\n');
  const tempDir = await mkdtemp(join(tmpdir(), 'beddel-demo-'));
  const auditDir = join(tempDir, 'audit');
  let audit: AuditSection | undefined;
  let passed = true;
  try {
    await mkdir(auditDir);
    const built = await buildDemoEngine(options.logStream ?? process.stderr, auditDir);
    audit = new AuditSection(built.audit);
    const sections: readonly DemoSection[] = [runs, new MetricsSection(built.renderMetrics), audit];
    try {
      for (const section of sections) {
        out.write(`\n== ${section.title}\n\n`);
        passed = (await section.run({ engine: built.engine, examples, out })) && passed;
      }
    } finally {
      await built.engine.close();
    }
  } finally {
    await rm(tempDir, { recursive: true, force: true });
  }
  out.write(passed ? '\nAll realistic runs succeeded, every attack was blocked, and the audit log caught the tampering.\n' : '\nFAILED: something did not go as expected (marked ✗ above).\n');
  const outcome = audit?.outcome;
  return { exitCode: passed ? 0 : 1, runs: runs.rows, ...(outcome === undefined ? {} : { audit: outcome }) };
}
