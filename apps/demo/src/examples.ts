import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's `examples/` folder; `src/` and `dist/` sit at the same depth, so this works from both. */
export const EXAMPLES_DIR = fileURLToPath(new URL('../../../examples/', import.meta.url));

/** Reads example files (paths relative to `examples/`), each once. */
export class ExampleFiles {
  private readonly texts = new Map<string, Promise<string>>();

  constructor(private readonly dir: string = EXAMPLES_DIR) {}

  text(relativePath: string): Promise<string> {
    let text = this.texts.get(relativePath);
    if (text === undefined) {
      text = readFile(join(this.dir, relativePath), 'utf8');
      this.texts.set(relativePath, text);
    }
    return text;
  }

  async json(relativePath: string): Promise<unknown> {
    return JSON.parse(await this.text(relativePath)) as unknown;
  }
}
