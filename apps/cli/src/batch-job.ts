import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { CliError, CliErrorCodes, systemMessage } from './cli-error.js';

/** One line of a jobs file, checked. */
export interface BatchJob {
  readonly tenant: string;
  /** Absolute path of the transformation file. */
  readonly transformationPath: string;
  readonly input: unknown;
}

const JOB_FIELDS = new Set(['tenant', 'transformation', 'input']);

/**
 * Parses one jobs line: `{"tenant": "...", "transformation": "<path>", "input": <JSON>}`.
 * `input` is optional (default `{}`, as for `beddel run`); unknown fields are refused so a typo
 * such as "inputs" cannot silently run a job on `{}`. Relative paths resolve against `baseDir`.
 */
export function parseJobLine(text: string, baseDir: string): BatchJob {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(CliErrorCodes.JOB_INVALID, `The line is not valid JSON: ${systemMessage(error)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CliError(CliErrorCodes.JOB_INVALID, 'The line is not a JSON object.');
  }
  const job = value as Record<string, unknown>;
  const unknown = Object.keys(job).filter((key) => !JOB_FIELDS.has(key));
  if (unknown.length > 0) {
    throw new CliError(CliErrorCodes.JOB_INVALID, `Unknown field ${JSON.stringify(unknown[0])}; a job has tenant, transformation and input.`);
  }
  const { tenant, transformation } = job;
  if (typeof tenant !== 'string') throw new CliError(CliErrorCodes.JOB_INVALID, 'Missing "tenant" (a string).');
  if (typeof transformation !== 'string' || transformation === '') {
    throw new CliError(CliErrorCodes.JOB_INVALID, 'Missing "transformation" (the path of a YAML file).');
  }
  return {
    tenant,
    transformationPath: isAbsolute(transformation) ? transformation : resolve(baseDir, transformation),
    input: 'input' in job ? job.input : {},
  };
}

/** Reads each transformation file once per batch, however many jobs use it. */
export class TransformationFiles {
  private readonly cache = new Map<string, Promise<string>>();

  read(path: string): Promise<string> {
    let text = this.cache.get(path);
    if (text === undefined) {
      text = readFile(path, 'utf8').catch((error: unknown) => {
        throw new CliError(CliErrorCodes.FILE_UNREADABLE, `Cannot read the transformation file ${JSON.stringify(path)}: ${systemMessage(error)}`, { cause: error });
      });
      this.cache.set(path, text);
    }
    return text;
  }
}
