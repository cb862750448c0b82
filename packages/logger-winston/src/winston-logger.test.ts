import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LOGGER } from '@beddel/contracts';
import type { Logger, Token } from '@beddel/contracts';
import { createWinstonLogger, winstonLogger } from './winston-logger.js';

function capture(): { stream: PassThrough; lines: () => Array<Record<string, unknown>> } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

async function flush(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

describe('winston logger plugin', () => {
  it('writes JSON lines with fields, respecting the level', async () => {
    const out = capture();
    const logger = createWinstonLogger({ stream: out.stream, level: 'info' });
    logger.debug('hidden');
    logger.info('run ok', { executionId: 'e1', durationMs: 1.5 });
    logger.error('boom', { code: 'BEDDEL_TIMEOUT' });
    await flush();
    const lines = out.lines();
    expect(lines.map((line) => line.message)).toEqual(['run ok', 'boom']);
    expect(lines[0]).toMatchObject({ level: 'info', executionId: 'e1', durationMs: 1.5 });
    expect(lines[1]).toMatchObject({ level: 'error', code: 'BEDDEL_TIMEOUT' });
    expect(typeof lines[0]?.timestamp).toBe('string');
  });

  it('child loggers carry their fields', async () => {
    const out = capture();
    const logger = createWinstonLogger({ stream: out.stream }).child({ tenant: 'acme' });
    logger.warn('slow');
    await flush();
    expect(out.lines()[0]).toMatchObject({ message: 'slow', tenant: 'acme', level: 'warn' });
  });

  it('registers itself under the LOGGER token', () => {
    const registered = new Map<symbol, unknown>();
    winstonLogger().register({
      value: <T>(token: Token<T>, value: T) => void registered.set(token, value),
      factory: () => undefined,
    });
    const logger = registered.get(LOGGER) as Logger;
    expect(typeof logger.info).toBe('function');
    expect(typeof logger.child({ a: 1 }).error).toBe('function');
  });
});
