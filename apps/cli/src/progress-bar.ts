const BAR_WIDTH = 24;
const REDRAW_INTERVAL_MS = 100;

/**
 * One self-overwriting status line on a terminal: done/total (when the total is known), rate
 * and failures. Only for a TTY: it relies on carriage returns and the erase-line escape.
 */
export class ProgressBar {
  private readonly started: number;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private done = 0;
  private failed = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly total: number | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  /** Records progress; redraws at most every 100 ms, and always on the last job. */
  update(done: number, failed: number): void {
    this.done = done;
    this.failed = failed;
    const time = this.now();
    if (time - this.lastDraw < REDRAW_INTERVAL_MS && done !== this.total) return;
    this.lastDraw = time;
    this.stream.write(`\r${this.render()}\u001b[K`);
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    this.stream.write(`\r${this.render()}\u001b[K\n`);
  }

  render(): string {
    const seconds = (this.now() - this.started) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const failures = `${this.failed} failed`;
    const speed = `${rate.toFixed(1)} jobs/s`;
    if (this.total === undefined) return `${this.done} done | ${speed} | ${failures}`;
    const fraction = this.total === 0 ? 1 : Math.min(1, this.done / this.total);
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
    return `${bar} ${this.done}/${this.total} ${Math.floor(fraction * 100)}% | ${speed} | ${failures}`;
  }
}
