import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { AuditEntry, ErrorCode } from '@beddel/contracts';
import { AuditTrail } from './audit-trail.js';
import { buildAuditReport } from './audit-report.js';
import { renderAuditReportHtml } from './audit-report-html.js';
import { MemoryAuditSink } from './memory-audit-sink.js';
import { generateAuditKeyPair } from './signing-keys.js';
import { entry } from './test-support/entries.js';

const keys = generateAuditKeyPair();
const CHROMIUM = '/usr/bin/chromium';

/**
 * 100 executions of tenant `acme`, one every 30 minutes from 2025-03-01T00:00Z: durations 1..100 ms,
 * heap n KiB; runs 10, 20, ... fail with a timeout, 15 and 45 with a memory limit, 33 with a runtime error.
 */
async function sink(options: { name?: string; tenantId?: string } = {}): Promise<MemoryAuditSink> {
  const store = new MemoryAuditSink();
  const trail = new AuditTrail({ sink: store, signingKey: keys.privateKey, checkpoints: { everyMs: 0, everyRecords: 0, onClose: true }, closeSink: false });
  const tenantId = options.tenantId ?? 'acme';
  for (let n = 1; n <= 100; n += 1) {
    const code: ErrorCode | null = n % 10 === 0 ? 'BEDDEL_TIMEOUT' : n === 15 || n === 45 ? 'BEDDEL_MEMORY_LIMIT' : n === 33 ? 'BEDDEL_RUNTIME_ERROR' : null;
    const overrides: Partial<AuditEntry> = {
      timestamp: new Date(Date.UTC(2025, 2, 1) + (n - 1) * 1_800_000).toISOString(),
      transformation: { name: options.name ?? (n % 4 === 0 ? 'refunds' : 'pricing'), version: '2.1.0', sourceSha256: 'c'.repeat(64) },
      metrics: { durationMs: n, cpuMs: n / 2, heapBytes: n * 1024 },
      ...(code === null ? {} : { status: 'error' as const, errorCode: code, output: undefined }),
    };
    await trail.append(entry(tenantId, n, overrides));
  }
  await trail.close();
  return store;
}

const now = (): Date => new Date('2025-03-10T12:00:00Z');

describe('buildAuditReport', () => {
  it('counts executions, failures by code, limits, percentiles, buckets and transformations', async () => {
    const report = await buildAuditReport(await sink(), keys.publicKey, { tenantId: 'acme', now });
    expect(report).toMatchObject({
      report: 'beddel-audit-report',
      version: 1,
      tenantId: 'acme',
      generatedAt: '2025-03-10T12:00:00.000Z',
      period: { from: null, to: null, firstRecordAt: '2025-03-01T00:00:00.000Z', lastRecordAt: '2025-03-03T01:30:00.000Z' },
      executions: { total: 100, ok: 87, failed: 13 },
      failuresByCode: [
        { code: 'BEDDEL_TIMEOUT', count: 10 },
        { code: 'BEDDEL_MEMORY_LIMIT', count: 2 },
        { code: 'BEDDEL_RUNTIME_ERROR', count: 1 },
      ],
      durationMs: { p50: 50, p95: 95, p99: 99, max: 100 },
      cpuMs: { p50: 25, p95: 47.5, p99: 49.5, max: 50 },
      heapBytes: { p50: 50 * 1024, p95: 95 * 1024, p99: 99 * 1024, max: 100 * 1024 },
      transformations: [
        { name: 'pricing', version: '2.1.0', executions: 75, ok: 67, failed: 8 },
        { name: 'refunds', version: '2.1.0', executions: 25, ok: 20, failed: 5 },
      ],
      verification: { ok: true, records: 100, checkpoints: 1, verifiedTreeSize: 100, uncheckpointedRecords: 0, firstBadSequence: null, problemCount: 0, problems: [] },
      checkpoint: { treeSize: 100, origin: 'beddel-audit/acme', keyName: 'beddel-audit', signatureValid: true, coversPeriod: true },
    });
    expect(report.limitsHit).toContainEqual({ code: 'BEDDEL_TIMEOUT', count: 10 });
    expect(report.limitsHit).toContainEqual({ code: 'BEDDEL_MEMORY_LIMIT', count: 2 });
    expect(report.limitsHit).toContainEqual({ code: 'BEDDEL_RATE_LIMITED', count: 0 });
    expect(report.limitsHit.map((limit) => limit.code)).not.toContain('BEDDEL_RUNTIME_ERROR');
    // 49.5 hours of records: hourly buckets, two executions per full hour, empty hours included.
    expect(report.timeline.bucket).toBe('hour');
    expect(report.timeline.buckets).toHaveLength(50);
    expect(report.timeline.buckets[0]).toEqual({ start: '2025-03-01T00:00:00.000Z', ok: 2, failed: 0 });
    expect(report.timeline.buckets[4]).toEqual({ start: '2025-03-01T04:00:00.000Z', ok: 1, failed: 1 }); // run 10
    expect(report.timeline.buckets.reduce((sum, b) => sum + b.ok + b.failed, 0)).toBe(100);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('restricts to [from, to), buckets daily over long periods, and reports a tampered log as failed', async () => {
    const store = await sink();
    const window = await buildAuditReport(store, keys.publicKey, { tenantId: 'acme', from: '2025-03-01T05:00:00Z', to: '2025-03-01T10:00:00Z', now });
    expect(window.executions).toEqual({ total: 10, ok: 8, failed: 2 }); // runs 11..20: 15 and 20 failed
    expect(window.period).toMatchObject({ from: '2025-03-01T05:00:00.000Z', to: '2025-03-01T10:00:00.000Z' });
    expect(window.timeline.buckets.map((b) => b.ok + b.failed)).toEqual([2, 2, 2, 2, 2]);
    const month = await buildAuditReport(store, keys.publicKey, { tenantId: 'acme', from: new Date('2025-03-01T00:00:00Z'), to: new Date('2025-03-31T00:00:00Z'), now });
    expect(month.timeline.bucket).toBe('day');
    expect(month.timeline.buckets).toHaveLength(30);
    expect(month.timeline.buckets.slice(0, 4).map((b) => b.ok + b.failed)).toEqual([48, 48, 4, 0]);

    const records = store.store.rawRecords('acme') as { metrics: { durationMs: number } }[];
    records[41]!.metrics.durationMs = 0.5;
    store.store.replaceRawRecords('acme', records);
    const tampered = await buildAuditReport(store, keys.publicKey, { tenantId: 'acme', now });
    expect(tampered.verification).toMatchObject({ ok: false, firstBadSequence: 41 });
    expect(tampered.verification.problems[0]).toMatchObject({ code: 'record-hash-mismatch', sequence: 41 });
    const wrongKey = await buildAuditReport(store, generateAuditKeyPair().publicKey, { tenantId: 'acme', now });
    expect(wrongKey.checkpoint?.signatureValid).toBe(false);
  });

  it('handles a tenant without records', async () => {
    const report = await buildAuditReport(new MemoryAuditSink(), keys.publicKey, { tenantId: 'nobody', now });
    expect(report).toMatchObject({ executions: { total: 0, ok: 0, failed: 0 }, durationMs: null, heapBytes: null, timeline: { buckets: [] }, checkpoint: null, verification: { ok: true } });
    expect(renderAuditReportHtml(report)).toContain('No executions in this period.');
  });
});

describe('renderAuditReportHtml', () => {
  it('is one self-contained page: no scripts, no external resources, an inline SVG chart', async () => {
    const html = renderAuditReportHtml(await buildAuditReport(await sink(), keys.publicKey, { tenantId: 'acme', now }));
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)\s*=/i);
    expect(html).not.toMatch(/url\(/i);
    expect(html).toContain("default-src 'none'");
    expect(html).toMatch(/<svg[^>]*role="img"/);
    expect((html.match(/<rect [^>]*class="failed"/g) ?? []).length).toBe(13);
    expect(html).toContain('✔ Verified');
    expect(html).toContain('<code>BEDDEL_TIMEOUT</code>');
    expect(html).toContain('How to verify this yourself');
    expect(html).toContain('<td class="n">50 ms</td><td class="n">95 ms</td><td class="n">99 ms</td><td class="n">100 ms</td>');
  });

  it('escapes every string from the log', async () => {
    const report = await buildAuditReport(await sink({ name: '<script>alert(1)</script>' }), keys.publicKey, { tenantId: 'acme', now });
    const hostile = {
      ...report,
      tenantId: '<img src=x onerror=alert(2)>',
      failuresByCode: [{ code: '"><svg onload=alert(3)>', count: 1 }],
      verification: { ...report.verification, ok: false, problemCount: 1, problems: [{ code: 'chain-broken' as const, sequence: 3, message: '</small><script>alert(4)</script>' }] },
    };
    const html = renderAuditReportHtml(hostile);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('&quot;&gt;&lt;svg onload=alert(3)&gt;');
    expect(html).toContain('&lt;/small&gt;&lt;script&gt;alert(4)&lt;/script&gt;');
    expect(html).not.toMatch(/<img|<svg onload/);
    expect(html).toContain('Verification FAILED');
  });

  it.skipIf(!existsSync(CHROMIUM))(
    `renders in headless Chromium (${existsSync(CHROMIUM) ? CHROMIUM : `skipped: ${CHROMIUM} is not installed; apt-get install -y chromium`})`,
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'beddel-report-'));
      try {
        const store = await sink();
        const records = store.store.rawRecords('acme') as { profileId: string }[];
        const report = await buildAuditReport(store, keys.publicKey, { tenantId: 'acme', now });
        records[7]!.profileId = 'admin';
        store.store.replaceRawRecords('acme', records);
        const failed = await buildAuditReport(store, keys.publicKey, { tenantId: 'acme', now });
        const file = join(dir, 'report.html');
        const failedFile = join(dir, 'failed.html');
        await writeFile(file, renderAuditReportHtml(report));
        await writeFile(failedFile, renderAuditReportHtml(failed));
        const flags = [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
          `--user-data-dir=${join(dir, 'profile')}`,
        ];
        const run = promisify(execFile);
        const png = join(dir, 'r.png');
        await run(CHROMIUM, [...flags, `--screenshot=${png}`, '--window-size=1200,1600', `file://${file}`], { timeout: 60_000 });
        const image = await readFile(png);
        expect(image.subarray(1, 4).toString('latin1')).toBe('PNG');
        expect((await stat(png)).size).toBeGreaterThan(20_000);
        if (process.env.BEDDEL_REPORT_SCREENSHOT !== undefined) await writeFile(process.env.BEDDEL_REPORT_SCREENSHOT, image);
        const { stdout } = await run(CHROMIUM, [...flags, '--dump-dom', `file://${failedFile}`], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
        expect(stdout).toContain('<strong id="tenant">acme</strong>');
        expect(stdout).toMatch(/id="verification">✘ Verification FAILED/);
        expect(stdout).toContain('record-hash-mismatch');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    90_000,
  );
});
