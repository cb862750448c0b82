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
    expect(out.text).toContain('All realistic runs succeeded and every attack was blocked.');
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
