import type { DemoContext, DemoSection } from './demo-section.js';

/** Lines of the exposition worth showing in a demo; the rest is there for a scraper. */
const SHOWN = [/^beddel_executions_total\{/, /^beddel_execution_duration_seconds_(sum|count)\{/, /^beddel_workers /, /^beddel_worker_restarts_total\{/, /^beddel_audit_append_seconds_count\{/];

/**
 * Prints an excerpt of the Prometheus exposition the engine's metrics produced during the demo
 * (a deployment would serve it with `serveMetrics({ port })`). Passes when executions were counted.
 */
export class MetricsSection implements DemoSection {
  readonly title = 'Metrics: Prometheus exposition (excerpt)';

  constructor(private readonly render: () => Promise<string>) {}

  async run({ out }: DemoContext): Promise<boolean> {
    const lines = (await this.render()).split('\n').filter((line) => SHOWN.some((pattern) => pattern.test(line)));
    for (const line of lines) out.write(`  ${line}\n`);
    out.write('\n  (all of it: renderMetrics(); for a scraper: serveMetrics({ port }))\n');
    return lines.some((line) => line.startsWith('beddel_executions_total{'));
  }
}
