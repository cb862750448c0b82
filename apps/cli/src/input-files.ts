import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CliError, CliErrorCodes, systemMessage } from './cli-error.js';
import { readAll } from './cli-io.js';
import type { CliIo } from './cli-io.js';

/** `-` means standard input. */
export const STDIN = '-';

/** Reads a file (or stdin for `-`) as UTF-8 text; an unreadable file is a CliError. */
export async function readTextFile(path: string, io: CliIo, what: string): Promise<string> {
  if (path === STDIN) return readAll(io.stdin);
  try {
    return await readFile(resolve(path), 'utf8');
  } catch (error) {
    throw new CliError(CliErrorCodes.FILE_UNREADABLE, `Cannot read the ${what} ${JSON.stringify(path)}: ${systemMessage(error)}`, { cause: error });
  }
}

/** Reads and parses one JSON document from a file or stdin. */
export async function readJsonFile(path: string, io: CliIo, what: string): Promise<unknown> {
  const text = await readTextFile(path, io, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const where = path === STDIN ? 'on standard input' : JSON.stringify(path);
    throw new CliError(CliErrorCodes.INPUT_NOT_JSON, `The ${what} ${where} is not valid JSON: ${systemMessage(error)}`, { cause: error });
  }
}
