import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDemo } from './demo.js';
import { EXAMPLES_DIR } from './examples.js';
import { TextSink } from './test-support/text-sink.js';

describe('the demo', () => {
  it('runs every realistic example, blocks every attack with its expected code, and exits 0', async () => {
    const out = new TextSink();
    const report = await runDemo({ out, logStream: new TextSink() });

    expect(report.exitCode).toBe(0);
    const hostile = report.runs.filter((row) => row.scenario.kind !== 'realistic');
    expect(hostile.map((row) => [row.scenario.tenant, row.scenario.label ?? row.scenario.transformation, row.status])).toEqual([
      ['mallory', 'hostile/escape-attempt.yaml', 'ok'],
      ['mallory', 'hostile/infinite-loop.yaml', 'BEDDEL_TIMEOUT'],
      ['mallory', 'hostile/memory-bomb.yaml', 'BEDDEL_MEMORY_LIMIT'],
      ['acme', 'cross-tenant-read (plant)', 'ok'],
      ['globex', 'cross-tenant-read (read)', 'ok'],
      ['acme', 'cross-tenant-read (read)', 'ok'],
    ]);
    expect(hostile.map((row) => row.status)).toEqual(hostile.map((row) => row.scenario.expected));
    expect(hostile[0]!.note).toMatch(/^found nothing \(\d+ probes over \d+ routes\)$/);
    expect(hostile[4]!.note).toBe("found nothing of acme's secret");

    const realistic = report.runs.filter((row) => row.scenario.kind === 'realistic');
    expect(realistic.map((row) => [row.scenario.tenant, row.status])).toEqual([
      ['acme', 'ok'],
      ['globex', 'ok'],
      ['initech', 'ok'],
      ['acme', 'ok'],
    ]);
    expect(report.runs.every((row) => row.passed)).toBe(true);

    expect(out.text).toMatch(/tenant +transformation +status +time ms +cpu ms +heap KB +note/);
    expect(out.text).toMatch(/executions: 10 {2}ok: 8 {2}blocked: 5 of 5 attacks/);
    // The metrics section shows the counters the engine kept during the runs.
    expect(out.text).toMatch(/beddel_executions_total\{tenant="acme",status="ok",code="none"\} 4/);
    expect(out.text).toMatch(/beddel_executions_total\{tenant="mallory",status="error",code="BEDDEL_TIMEOUT"\} 1/);

    // The audit section: the log the runs wrote verifies; a copy with one rewritten record does not.
    expect(report.audit?.log.ok).toBe(true);
    expect(report.audit?.log.tenants.map((tenant) => [tenant.tenantId, tenant.records, tenant.verifiedTreeSize]).sort()).toEqual([
      ['acme', 4, 4],
      ['globex', 2, 2],
      ['initech', 1, 1],
      ['mallory', 3, 3],
    ]);
    expect(report.audit?.tampered.ok).toBe(false);
    const bad = report.audit!.tampered.tenants.filter((tenant) => tenant.problems.length > 0);
    expect(bad.map((tenant) => [tenant.tenantId, tenant.firstBadSequence, tenant.problems[0]?.code])).toEqual([['mallory', 1, 'record-hash-mismatch']]);
    expect(report.audit?.passed).toBe(true);
    expect(out.text).toContain('== Audit trail: verify the log, then a tampered copy');
    expect(out.text).toMatch(/\(file sink, 10 records for 4 tenants; a temporary directory\)/);
    expect(out.text).toMatch(/^1\. verify the log +PASSED +/m);
    expect(out.text).toMatch(/^2\. tamper with a copy +mallory's record 1 \(status "error", errorCode "BEDDEL_TIMEOUT"\) rewritten as a success/m);
    expect(out.text).toMatch(/^3\. verify the tampered copy +FAILED as expected: mallory: first bad record 1: record-hash-mismatch: /m);
    expect(out.text).toContain('All realistic runs succeeded, every attack was blocked, and the audit log caught the tampering.');
  });

  it('exits 1 and marks the row when an attack is not stopped', async () => {
    const examples = await mkdtemp(join(tmpdir(), 'beddel-demo-test-'));
    try {
      await cp(EXAMPLES_DIR, examples, { recursive: true });
      // An "infinite loop" that returns at once: the demo must notice it was not stopped.
      await writeFile(
        join(examples, 'hostile/infinite-loop.yaml'),
        'apiVersion: beddel/v1\nkind: Transformation\nmetadata: { name: infinite-loop, version: 1.0.0 }\nspec:\n  steps:\n    - name: spin\n      run: return 1;\n',
      );
      const out = new TextSink();
      const report = await runDemo({ out, logStream: new TextSink(), examplesDir: examples });
      expect(report.exitCode).toBe(1);
      expect(report.runs.filter((row) => !row.passed).map((row) => [row.scenario.transformation, row.status, row.note])).toEqual([
        ['hostile/infinite-loop.yaml', 'ok', 'was NOT stopped'],
      ]);
      expect(out.text).toMatch(/✗ +mallory +infinite-loop +ok /);
      expect(out.text).toContain('FAILED');
    } finally {
      await rm(examples, { recursive: true, force: true });
    }
  });
});
