import type { Engine } from '@beddel/engine';
import type { ExampleFiles } from './examples.js';

export interface DemoContext {
  readonly engine: Engine;
  readonly examples: ExampleFiles;
  readonly out: NodeJS.WritableStream;
}

/**
 * One part of the demo. Sections run in order on the same engine; the demo exits non-zero when
 * any section reports that something did not go as expected.
 */
export interface DemoSection {
  readonly title: string;
  /** Runs the section and prints its report; resolves with whether everything went as expected. */
  run(context: DemoContext): Promise<boolean>;
}
