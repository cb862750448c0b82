/**
 * Runs tasks one at a time per key, in call order; rejections do not block later tasks. Shared by
 * the audit core and sinks to serialise appends per tenant within a process.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T> | T): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Resolves when every task queued so far has settled. */
  async idle(): Promise<void> {
    await Promise.all([...this.tails.values()]);
  }
}

/** Operations in flight, so that `close()` can wait for them to settle before releasing resources. */
export class InFlightOperations {
  private readonly operations = new Set<Promise<unknown>>();

  /** Runs `operation`; anything it throws, synchronously or not, becomes the promise's rejection. */
  run<T>(operation: () => Promise<T> | T): Promise<T> {
    const promise = (async () => operation())();
    this.operations.add(promise);
    void promise.then(
      () => this.operations.delete(promise),
      () => this.operations.delete(promise),
    );
    return promise;
  }

  /** Resolves when every operation started so far has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.operations]);
  }
}
