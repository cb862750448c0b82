import type { CellResult } from './runner.js';

const PALETTE = ['#1f77b4', '#2ca02c', '#17becf', '#d62728', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch] ?? ch);
}

interface Panel {
  readonly title: string;
  readonly value: (cell: CellResult) => number;
  readonly unit: string;
}

/**
 * A self-contained SVG: two grouped bar charts on log scales (throughput, p99 latency), one group
 * per scenario, one bar per engine. No scripts, no external resources.
 */
export function renderChart(results: readonly CellResult[], subtitle: string): string {
  const engines = [...new Set(results.map((r) => r.engine))];
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  const cell = new Map(results.map((r) => [`${r.engine}|${r.scenario}`, r]));
  const bar = 11;
  const groupGap = 18;
  const groupWidth = engines.length * bar + groupGap;
  const left = 70;
  const plotWidth = Math.max(400, scenarios.length * groupWidth);
  const width = left + plotWidth + 20;
  const panelHeight = 260;
  const top = 70;
  const labelSpace = 95;
  const panels: Panel[] = [
    { title: 'Throughput (ops/s, log scale, higher is better)', value: (c) => c.opsPerSec, unit: 'ops/s' },
    { title: 'p99 latency (ms, log scale, lower is better)', value: (c) => c.p99Ms, unit: 'ms' },
  ];
  const perRow = Math.max(1, Math.floor((plotWidth + 20) / 170));
  const legendRows = Math.ceil(engines.length / perRow);
  const height = top + panels.length * (panelHeight + labelSpace + 40) + legendRows * 18 + 10;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="${left}" y="22" font-size="16" font-weight="bold">Beddel Runtime benchmark</text>`);
  out.push(`<text x="${left}" y="40" fill="#555">${escapeXml(subtitle)}</text>`);
  engines.forEach((engine, i) => {
    const x = left + (i % perRow) * 170;
    const y = 56 + Math.floor(i / perRow) * 16;
    out.push(`<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/><text x="${x + 14}" y="${y}">${escapeXml(engine)}</text>`);
  });
  let y0 = top + legendRows * 16;
  for (const panel of panels) {
    const values = results.map(panel.value).filter((v) => Number.isFinite(v) && v > 0);
    const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values, 1))));
    const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values, 10))));
    const scale = (v: number): number => (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
    const plotTop = y0 + 20;
    const plotBottom = plotTop + panelHeight;
    out.push(`<text x="${left}" y="${y0 + 10}" font-size="13" font-weight="bold">${escapeXml(panel.title)}</text>`);
    for (let decade = lo; decade <= hi * 1.0001; decade *= 10) {
      const y = plotBottom - scale(decade) * panelHeight;
      out.push(`<line x1="${left}" x2="${left + plotWidth}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#ddd"/>`);
      out.push(`<text x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#555">${decade >= 1 ? decade.toLocaleString('en-US') : decade}</text>`);
    }
    out.push(`<line x1="${left}" x2="${left}" y1="${plotTop}" y2="${plotBottom}" stroke="#333"/>`);
    out.push(`<line x1="${left}" x2="${left + plotWidth}" y1="${plotBottom}" y2="${plotBottom}" stroke="#333"/>`);
    scenarios.forEach((scenario, s) => {
      const gx = left + s * groupWidth + groupGap / 2;
      engines.forEach((engine, e) => {
        const c = cell.get(`${engine}|${scenario}`);
        if (c === undefined) return;
        const v = panel.value(c);
        if (!Number.isFinite(v) || v <= 0) return;
        const h = scale(v) * panelHeight;
        const x = gx + e * bar;
        out.push(
          `<rect x="${x}" y="${(plotBottom - h).toFixed(1)}" width="${bar - 1}" height="${h.toFixed(1)}" fill="${PALETTE[e % PALETTE.length]}"><title>${escapeXml(`${engine} ${scenario}: ${v.toFixed(2)} ${panel.unit}`)}</title></rect>`,
        );
      });
      const lx = gx + (engines.length * bar) / 2;
      out.push(`<text transform="translate(${lx.toFixed(1)},${plotBottom + 10}) rotate(35)" fill="#333">${escapeXml(scenario)}</text>`);
    });
    y0 = plotBottom + labelSpace;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
