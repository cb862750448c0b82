import { beddelEngine } from './beddel.js';
import { naiveIsolateEngine } from './naive-isolate.js';
import { nodeVmEngine } from './node-vm.js';
import { quickJsEngine } from './quickjs.js';
import type { EngineFactory } from './types.js';

/**
 * Every engine the bench knows, in report order. A new Beddel executor mode is one line here,
 * e.g. `beddelEngine('beddel-frozen-realm', '...', { realm: 'frozen' })`.
 */
export const ENGINES: readonly EngineFactory[] = [
  beddelEngine('beddel-supervised', 'Beddel, default profile, supervised worker processes (the default mode), warm tenant', { mode: 'supervised' }),
  beddelEngine('beddel-in-process', 'Beddel, default profile, isolates in the host process, warm tenant', { mode: 'in-process' }),
  beddelEngine('beddel-frozen-realm', 'Beddel, supervised, frozen-realm mode (one locked-down context per tenant + transformation, reused), warm tenant', { mode: 'supervised', realm: 'frozen' }),
  naiveIsolateEngine,
  nodeVmEngine,
  quickJsEngine,
];

/** The engine whose figures the targets are checked against (Beddel's default mode). */
export const BEDDEL_DEFAULT_ENGINE = 'beddel-supervised';
