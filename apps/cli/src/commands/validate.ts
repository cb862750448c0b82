import { parseArgs } from 'node:util';
import { TransformationCompiler } from '@beddel/transformation';
import { onePositional, parseCommandLine } from '../command-line.js';
import type { CommandUsage } from '../command-line.js';
import { writeText } from '../cli-io.js';
import type { CliIo } from '../cli-io.js';
import { readTextFile } from '../input-files.js';

const USAGE: CommandUsage = { name: 'validate', synopsis: '<file.yaml|-> [--json]' };

export const VALIDATE_HELP = `Usage: beddel validate <file.yaml|-> [--json]

Checks a transformation without running it: YAML safety, document structure, step names and
step syntax, limits, and the JSON Schemas. Prints every problem on stdout, one per line, as
"path: message" (path is where in the document the problem is, e.g. spec.steps[1].run).
A valid transformation prints "valid: <name>@<version> (<n> steps)".

Options:
      --json       print a JSON array of {"path","message"} instead ([] when valid)
  -h, --help       show this help

Exit codes: 0 valid, 2 invalid (or bad usage, or the file cannot be read).
`;

export async function validateCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(
    () => parseArgs({ args: [...args], options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true }),
    USAGE,
  );
  if (values.help === true) {
    await writeText(io.stdout, VALIDATE_HELP);
    return 0;
  }
  const file = onePositional(positionals, 'transformation file', USAGE);
  const source = await readTextFile(file, io, 'transformation file');
  const verdict = new TransformationCompiler().validate(source);
  const problems = verdict.ok ? [] : verdict.problems;

  if (values.json === true) {
    await writeText(io.stdout, `${JSON.stringify(problems.map(({ path, message }) => ({ path, message })))}\n`);
  } else if (verdict.ok) {
    const { ref, plan } = verdict.transformation;
    await writeText(io.stdout, `valid: ${ref.name}@${ref.version} (${plan.steps.length} ${plan.steps.length === 1 ? 'step' : 'steps'})\n`);
  } else {
    await writeText(io.stdout, problems.map(({ path, message }) => `${path === '' ? '(document)' : path}: ${message}\n`).join(''));
  }
  return verdict.ok ? 0 : 2;
}
