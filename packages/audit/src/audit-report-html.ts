import type { AuditPercentiles, AuditReport } from './audit-report.js';

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

function fmt(value: number): string {
  return escapeHtml(number.format(value));
}

function bytes(value: number): string {
  if (value < 1024) return `${fmt(value)} B`;
  if (value < 1024 * 1024) return `${fmt(value / 1024)} KiB`;
  return `${fmt(value / (1024 * 1024))} MiB`;
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '–' : `${fmt((100 * part) / whole)} %`;
}

function percentileRow(label: string, values: AuditPercentiles | null, unit: (value: number) => string): string {
  if (values === null) return `<tr><th scope="row">${escapeHtml(label)}</th><td colspan="4" class="muted">no executions</td></tr>`;
  return `<tr><th scope="row">${escapeHtml(label)}</th><td class="n">${unit(values.p50)}</td><td class="n">${unit(values.p95)}</td><td class="n">${unit(values.p99)}</td><td class="n">${unit(values.max)}</td></tr>`;
}

function chart(report: AuditReport): string {
  const { buckets, bucket } = report.timeline;
  if (buckets.length === 0) return '<p class="muted">No executions in this period.</p>';
  const width = 1000;
  const height = 260;
  const left = 48;
  const bottom = 36;
  const top = 12;
  const plotWidth = width - left - 12;
  const plotHeight = height - top - bottom;
  const max = Math.max(1, ...buckets.map((b) => b.ok + b.failed));
  const step = plotWidth / buckets.length;
  const barWidth = Math.max(1, step * 0.8);
  const y = (value: number): number => top + plotHeight - (value / max) * plotHeight;
  const parts: string[] = [];
  for (const fraction of [0, 0.5, 1]) {
    const value = Math.round(max * fraction);
    parts.push(`<line x1="${left}" x2="${width - 12}" y1="${y(value).toFixed(1)}" y2="${y(value).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${left - 6}" y="${(y(value) + 4).toFixed(1)}" text-anchor="end">${fmt(value)}</text>`);
  }
  const labelEvery = Math.max(1, Math.ceil(buckets.length / 8));
  buckets.forEach((b, i) => {
    const x = left + i * step + (step - barWidth) / 2;
    const title = `${b.start}: ${b.ok} ok, ${b.failed} failed`;
    if (b.ok > 0) {
      parts.push(`<rect x="${x.toFixed(1)}" y="${y(b.ok).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(y(0) - y(b.ok)).toFixed(1)}" class="ok"><title>${escapeHtml(title)}</title></rect>`);
    }
    if (b.failed > 0) {
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y(b.ok + b.failed).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(y(b.ok) - y(b.ok + b.failed)).toFixed(1)}" class="failed"><title>${escapeHtml(title)}</title></rect>`,
      );
    }
    if (i % labelEvery === 0) {
      const label = bucket === 'hour' ? b.start.slice(5, 13).replace('T', ' ') + 'h' : b.start.slice(0, 10);
      const center = left + i * step + step / 2;
      const anchor = center < left + 40 ? 'start' : center > width - 60 ? 'end' : 'middle';
      parts.push(`<text x="${(anchor === 'start' ? left + i * step : anchor === 'end' ? width - 12 : center).toFixed(1)}" y="${height - bottom + 18}" text-anchor="${anchor}">${escapeHtml(label)}</text>`);
    }
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="Executions per ${bucket}, ok and failed">
<line x1="${left}" x2="${width - 12}" y1="${y(0)}" y2="${y(0)}" class="axis"/>
${parts.join('\n')}
</svg>
<p class="legend"><span class="swatch ok"></span> ok <span class="swatch failed"></span> failed &nbsp;·&nbsp; one bar per ${bucket} (UTC)</p>`;
}

const STYLE = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#fff;margin:0}
main{max-width:1040px;margin:0 auto;padding:28px 32px 48px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 10px;border-bottom:1px solid #d9dde5;padding-bottom:4px}
.sub{color:#566074;margin:0 0 18px}
.badge{display:inline-block;padding:10px 16px;border-radius:6px;font-weight:700;font-size:17px}
.badge.good{background:#e3f4e8;color:#165c2c;border:1px solid #8fcca1}.badge.bad{background:#fde7e7;color:#8a1616;border:1px solid #e59b9b}
.badge small{display:block;font-weight:400;font-size:14px;margin-top:4px}
table{border-collapse:collapse;min-width:420px}th,td{text-align:left;padding:5px 14px 5px 0;border-bottom:1px solid #eceff4;vertical-align:top}
td.n,th.n{text-align:right}thead th{font-size:13px;color:#566074;font-weight:600}
.muted{color:#7a8396}.grid{stroke:#e4e7ee;stroke-width:1}.axis{stroke:#9aa3b5;stroke-width:1}
svg text{font-size:12px;fill:#566074}rect.ok,.swatch.ok{fill:#3b8f5a;background:#3b8f5a}rect.failed,.swatch.failed{fill:#c8453b;background:#c8453b}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px}.legend{font-size:13px;color:#566074}
pre{background:#f5f6f9;border:1px solid #e1e4ea;border-radius:4px;padding:10px;white-space:pre-wrap;word-break:break-all;font-size:13px}
code{font-size:13px}footer{margin-top:36px;font-size:13px;color:#7a8396}
`;

/**
 * Renders an `AuditReport` as one self-contained HTML page for a compliance reader: inline CSS,
 * an inline SVG chart, no scripts and no external resources (a Content-Security-Policy forbids
 * both). Every string that comes from the log is HTML-escaped.
 */
export function renderAuditReportHtml(report: AuditReport): string {
  const e = escapeHtml;
  const v = report.verification;
  const firstProblem = v.problems[0];
  const badge = v.ok
    ? `<div class="badge good" id="verification">✔ Verified<small>${fmt(v.records)} records; ${fmt(v.verifiedTreeSize)} covered by a valid signed checkpoint${
        v.uncheckpointedRecords > 0 ? `, ${fmt(v.uncheckpointedRecords)} newer records chained but not yet signed` : ''
      }.</small></div>`
    : `<div class="badge bad" id="verification">✘ Verification FAILED<small>${fmt(v.problemCount)} problem(s)${
        v.firstBadSequence === null ? '' : `; first untrustworthy record: sequence ${fmt(v.firstBadSequence)}`
      }. First: <code>${e(firstProblem?.code ?? '')}</code> ${e(firstProblem?.message ?? '')}</small></div>`;
  const period =
    report.period.from === null && report.period.to === null
      ? 'all records'
      : `${report.period.from ?? 'first record'} to ${report.period.to ?? 'latest record'} (end exclusive)`;
  const x = report.executions;
  const failures =
    report.failuresByCode.length === 0
      ? '<p class="muted">No failed executions.</p>'
      : `<table><thead><tr><th>Error code</th><th class="n">Executions</th><th class="n">Share of failures</th></tr></thead><tbody>${report.failuresByCode
          .map((f) => `<tr><td><code>${e(f.code)}</code></td><td class="n">${fmt(f.count)}</td><td class="n">${percent(f.count, x.failed)}</td></tr>`)
          .join('')}</tbody></table>`;
  const limits = `<table><thead><tr><th>Limit</th><th class="n">Times hit</th></tr></thead><tbody>${report.limitsHit
    .map((l) => `<tr><td><code>${e(l.code)}</code></td><td class="n">${fmt(l.count)}</td></tr>`)
    .join('')}</tbody></table>`;
  const transformations =
    report.transformations.length === 0
      ? '<p class="muted">None.</p>'
      : `<table><thead><tr><th>Transformation</th><th>Version</th><th class="n">Executions</th><th class="n">Ok</th><th class="n">Failed</th></tr></thead><tbody>${report.transformations
          .map((t) => `<tr><td>${e(t.name)}</td><td>${e(t.version)}</td><td class="n">${fmt(t.executions)}</td><td class="n">${fmt(t.ok)}</td><td class="n">${fmt(t.failed)}</td></tr>`)
          .join('')}</tbody></table>`;
  const c = report.checkpoint;
  const checkpoint =
    c === null
      ? '<p>No signed checkpoint is stored for this tenant: nothing in this log is signed yet.</p>'
      : `<table><tbody>
<tr><th scope="row">Tree size</th><td>${fmt(c.treeSize)} records</td></tr>
<tr><th scope="row">Root hash (SHA-256)</th><td><code>${e(c.rootHash)}</code></td></tr>
<tr><th scope="row">Origin</th><td><code>${e(c.origin ?? '(unreadable note)')}</code></td></tr>
<tr><th scope="row">Signing key</th><td><code>${e(c.keyName ?? '?')}</code>, key id <code>${e(c.keyId ?? '?')}</code></td></tr>
<tr><th scope="row">Signature</th><td>${c.signatureValid ? 'valid with the public key used for this report' : '<strong>does not verify</strong> with the public key used for this report'}</td></tr>
<tr><th scope="row">Signed at</th><td>${e(c.signedAt)}</td></tr>
<tr><th scope="row">Covers this period</th><td>${c.coversPeriod ? 'yes' : 'no: the newest records of the period are not signed yet'}</td></tr>
</tbody></table>
<p>The signed note, verbatim:</p><pre>${e(c.note)}</pre>`;
  const problems =
    v.problems.length <= 1
      ? ''
      : `<h2>Verification problems</h2><table><thead><tr><th>Code</th><th>Sequence</th><th>Message</th></tr></thead><tbody>${v.problems
          .map((p) => `<tr><td><code>${e(p.code)}</code></td><td>${p.sequence === undefined ? '' : fmt(p.sequence)}</td><td>${e(p.message)}</td></tr>`)
          .join('')}</tbody></table>${v.problemCount > v.problems.length ? `<p class="muted">…and ${fmt(v.problemCount - v.problems.length)} more.</p>` : ''}`;

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Audit report: ${e(report.tenantId)}</title>
<style>${STYLE}</style>
</head>
<body><main>
<h1>Execution audit report</h1>
<p class="sub">Tenant <strong id="tenant">${e(report.tenantId)}</strong> · period ${e(period)} · generated ${e(report.generatedAt)}</p>
${badge}
<h2>Summary</h2>
<table><tbody>
<tr><th scope="row">Executions</th><td class="n">${fmt(x.total)}</td></tr>
<tr><th scope="row">Succeeded</th><td class="n">${fmt(x.ok)} (${percent(x.ok, x.total)})</td></tr>
<tr><th scope="row">Failed</th><td class="n">${fmt(x.failed)} (${percent(x.failed, x.total)})</td></tr>
<tr><th scope="row">First / last execution</th><td class="n">${e(report.period.firstRecordAt ?? '–')} / ${e(report.period.lastRecordAt ?? '–')}</td></tr>
</tbody></table>
<h2>Executions over time</h2>
${chart(report)}
<h2>Failures by error code</h2>
${failures}
<h2>Limits hit</h2>
${limits}
<h2>Resource use per execution</h2>
<table><thead><tr><th></th><th class="n">p50</th><th class="n">p95</th><th class="n">p99</th><th class="n">max</th></tr></thead><tbody>
${percentileRow('Duration', report.durationMs, (n) => `${fmt(n)} ms`)}
${percentileRow('CPU time', report.cpuMs, (n) => `${fmt(n)} ms`)}
${percentileRow('Heap', report.heapBytes, bytes)}
</tbody></table>
<h2>Transformations</h2>
${transformations}
<h2>Latest signed checkpoint</h2>
${checkpoint}
${problems}
<h2>How to verify this yourself</h2>
<p>This page is a summary; the proof is in the log. Ask the operator for a signed export of this
tenant and period (JSONL or CSV), and obtain the log's Ed25519 public key through a separate channel
(not from the operator's server). Each exported record carries its SHA-256 record hash and a Merkle
inclusion proof to the signed checkpoint above; run <code>verifyExport</code> from
<code>@beddel/audit</code>, or follow the byte-level description in
<code>docs/audit-log-format.md</code> with any SHA-256 and Ed25519 tool. The checkpoint's root hash
and key id must match the ones shown here. Keep this checkpoint: a later checkpoint must be
consistent with it, so history cannot be rewritten afterwards without detection.</p>
<footer>Beddel Runtime audit report, format version ${e(report.version)}. Records store SHA-256 hashes of inputs and outputs, never their contents.</footer>
</main></body>
</html>
`;
}
