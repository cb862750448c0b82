import { readFileSync } from 'node:fs';
import { ENVELOPE } from './guest-envelope.js';

/**
 * Source of the script that runs first in every fresh guest context, before any tenant code: the
 * harness of `guest/harness.js` (real, type-checked source: see that file and ADR 0005) applied to
 * the envelope constants of `guest-envelope.ts`, so both sides of the boundary use one definition.
 * It evaluates to `[run, takeLogs]`. Read once per process, compiled once per isolate.
 */
export const GUEST_HARNESS_SOURCE = `(${readFileSync(new URL('./guest/harness.js', import.meta.url), 'utf8')}
)(${JSON.stringify(ENVELOPE)})`;

/**
 * Source of the per-plan script: an array of one strict-mode function per step, evaluated at
 * global scope so step bodies see only their parameters and the (hardened) guest globals.
 * Bodies are validated as standalone function bodies by @beddel/transformation; a body that
 * broke out of its wrapper anyway would still only run inside the tenant's own fresh context.
 */
export function stepsScriptSource(bodies: readonly string[]): string {
  const functions = bodies.map((body) => `function (input, steps) {\n${body}\n}`);
  return `'use strict';\n[\n${functions.join(',\n')}\n]`;
}

/**
 * Source of the lockdown run once per context in the frozen-realm mode, after the harness and the
 * steps script and before any tenant code runs. It evaluates to a function that deep-freezes
 * everything tenant code can reach: the global object, every intrinsic (also those only reachable
 * through syntax, such as the generator and iterator prototypes) and the step functions. Legacy
 * RegExp statics (RegExp.$1, lastMatch, ...), which would carry match data from one execution to
 * the next, are deleted first. What cannot be frozen makes the lockdown throw, and the executor
 * then refuses the context.
 */
export const FROZEN_REALM_LOCKDOWN_SOURCE = String.raw`(function (stepFunctions) {
  'use strict';
  const legacyRegExpStatics = ['$1', '$2', '$3', '$4', '$5', '$6', '$7', '$8', '$9', 'input', '$_', 'lastMatch', '$&', 'lastParen', '$+', 'leftContext', '$\u0060', 'rightContext', "$'"];
  for (const name of legacyRegExpStatics) {
    if (!delete RegExp[name]) throw new TypeError('cannot remove RegExp.' + name);
  }
  const roots = [
    globalThis,
    stepFunctions,
    Object.getPrototypeOf(Uint8Array),
    Object.getPrototypeOf(function* () {}),
    Object.getPrototypeOf(async function () {}),
    Object.getPrototypeOf(async function* () {}),
    Object.getPrototypeOf([][Symbol.iterator]()),
    Object.getPrototypeOf(new Map()[Symbol.iterator]()),
    Object.getPrototypeOf(new Set()[Symbol.iterator]()),
    Object.getPrototypeOf(''[Symbol.iterator]()),
    Object.getPrototypeOf(/a/[Symbol.matchAll]('a')),
    // %SegmentsPrototype% and %SegmentIteratorPrototype% are reachable only through instances.
    Object.getPrototypeOf(new Intl.Segmenter('en').segment('')),
    Object.getPrototypeOf(new Intl.Segmenter('en').segment('')[Symbol.iterator]()),
    Object.getOwnPropertyDescriptor(Function.prototype, 'caller') && Object.getOwnPropertyDescriptor(Function.prototype, 'caller').get,
  ];
  const seen = new WeakSet();
  const queue = roots.slice();
  let frozen = 0;
  while (queue.length > 0) {
    const value = queue.pop();
    if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) continue;
    seen.add(value);
    Object.freeze(value);
    if (!Object.isFrozen(value)) throw new TypeError('could not freeze an object of the realm');
    frozen += 1;
    queue.push(Object.getPrototypeOf(value));
    for (const key of Reflect.ownKeys(value)) {
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      if (descriptor === undefined) continue;
      if ('value' in descriptor) queue.push(descriptor.value);
      else queue.push(descriptor.get, descriptor.set);
    }
  }
  return frozen;
})`;
