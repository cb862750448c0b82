/**
 * Everything the CLI touches of its process, so tests can run `main()` in-process with fake
 * streams. `isTTY` is about standard error: it turns on the batch progress bar and pretty logs.
 */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly isTTY: boolean;
}

/**
 * Writes text; waits for `drain` when the stream asks for it, so big batches stay in bounded
 * memory. Rejects when the write fails (e.g. EPIPE once the reader of a pipe has gone), also on
 * a stream that is already destroyed, which would otherwise never drain.
 */
export function writeText(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => resolve();
    const flushed = stream.write(text, (error?: Error | null) => {
      if (error === undefined || error === null) return;
      stream.removeListener('drain', onDrain);
      reject(error);
    });
    if (flushed) resolve();
    else stream.once('drain', onDrain);
  });
}

/** The reader of our output went away (`beddel batch jobs.jsonl | head -1`). */
export function isBrokenPipe(error: unknown): boolean {
  return error instanceof Error && 'code' in error && (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED');
}

/** Reads a whole stream as UTF-8 text. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
