/** A counting semaphore: `acquire` waits while all permits are taken. */
class Semaphore {
  private readonly waiting: Array<() => void> = [];

  constructor(private available: number) {}

  async acquire(): Promise<void> {
    if (this.available > 0) {
      this.available -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.available += 1;
    else next();
  }
}

export interface RunOrderedOptions {
  /** Tasks running at the same time. */
  readonly concurrency: number;
  /**
   * Tasks started but not yet emitted. A slow task at the head holds back everything after it;
   * this bounds how many finished results wait in memory meanwhile.
   */
  readonly maxPending: number;
}

/**
 * Runs `task` for every item with bounded concurrency and hands the results to `emit` in input
 * order, each as soon as it and every earlier one are done. Items are pulled from the source
 * only when there is room, so a stream source is read no faster than it is processed.
 * `task` should not reject; if it does (or `emit` throws), no further items start and the
 * first such error is rethrown once the started work has settled.
 */
export async function runOrdered<T, R>(
  items: AsyncIterable<T> | Iterable<T>,
  options: RunOrderedOptions,
  task: (item: T) => Promise<R>,
  emit: (result: R) => Promise<void> | void,
): Promise<void> {
  const running = new Semaphore(Math.max(1, options.concurrency));
  const pending = new Semaphore(Math.max(1, options.maxPending, options.concurrency));
  let emitted: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | undefined;

  for await (const item of items) {
    await pending.acquire();
    await running.acquire();
    if (failure !== undefined) break;
    // Settled immediately so a rejection is never "unhandled" while it waits for its turn.
    const settled = task(item).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    void settled.finally(() => running.release());
    emitted = emitted.then(async () => {
      const outcome = await settled;
      pending.release();
      if (failure !== undefined) return;
      try {
        if ('error' in outcome) throw outcome.error;
        await emit(outcome.value);
      } catch (error) {
        failure = { error };
      }
    });
  }
  await emitted;
  if (failure !== undefined) throw failure.error;
}
