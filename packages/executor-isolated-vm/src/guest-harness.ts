/**
 * Source of the script that runs first in every fresh guest context, before any tenant code.
 *
 * It hardens the realm, then evaluates to the `run` function the host calls. It is compiled
 * once per isolate and contains no tenant text, so tenant code cannot reach its closure: the
 * steps are compiled in a separate script (see `stepsScriptSource`) and handed to `run`.
 *
 * What crosses back to the host is one string, built here from primitives:
 *   'O' + output JSON                     success
 *   'E' + JSON {i, m}                     step i threw (m: message, capped)
 *   'P' + JSON {i}                        step i returned a promise / thenable
 *   'S' + JSON {m}                        the result is not JSON-serialisable
 *   'T' + output length in UTF-16 units   the output exceeds the cap (before copying it out)
 * Host objects, host errors and references never enter the realm; guest objects never leave it.
 */
export const GUEST_HARNESS_SOURCE = String.raw`(function () {
  'use strict';
  const g = globalThis;

  // APIs with no use in a transformation and known holes in isolated-vm 5.0.x:
  // SharedArrayBuffer / WebAssembly.Memory growth is not counted against memoryLimit,
  // Atomics.wait(Async) can park or abort the process, FinalizationRegistry callbacks and
  // WeakRef let code run or observe GC outside any timeout, console has no sink.
  for (const name of ['SharedArrayBuffer', 'Atomics', 'WebAssembly', 'FinalizationRegistry', 'WeakRef', 'console']) {
    delete g[name];
  }
  // Resizable ArrayBuffers grow outside memoryLimit: remove resize() and refuse maxByteLength.
  const NativeArrayBuffer = g.ArrayBuffer;
  delete NativeArrayBuffer.prototype.resize;
  const SafeArrayBuffer = new Proxy(NativeArrayBuffer, {
    construct(target, args, newTarget) {
      const options = args[1];
      if (options !== null && typeof options === 'object' && options.maxByteLength !== undefined) {
        throw new RangeError('Resizable ArrayBuffers are not available in the Beddel sandbox');
      }
      return Reflect.construct(target, [args[0]], newTarget === SafeArrayBuffer ? target : newTarget);
    },
  });
  Object.defineProperty(g, 'ArrayBuffer', { value: SafeArrayBuffer, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(NativeArrayBuffer.prototype, 'constructor', { value: SafeArrayBuffer, writable: true, configurable: true, enumerable: false });

  // Captured before tenant code runs, so later changes to the globals cannot affect the harness.
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const createObject = Object.create;
  const toText = String;
  const isArray = Array.isArray;
  const MESSAGE_CAP = 2000;

  function describe(error) {
    try {
      if (error !== null && (typeof error === 'object' || typeof error === 'function')) {
        const name = error.name;
        const message = error.message;
        const text = (typeof name === 'string' && name !== '' ? name + ': ' : '') + toText(message);
        return text.length > MESSAGE_CAP ? text.slice(0, MESSAGE_CAP) + '...' : text;
      }
      const text = 'a non-Error value was thrown: ' + toText(error);
      return text.length > MESSAGE_CAP ? text.slice(0, MESSAGE_CAP) + '...' : text;
    } catch (_) {
      return 'a value was thrown that cannot be described';
    }
  }

  return function run(stepFunctions, stepNamesJson, inputJson, maxOutputUnits) {
    const stepNames = parse(stepNamesJson);
    if (!isArray(stepFunctions) || stepFunctions.length !== stepNames.length) {
      return 'S' + stringify({ m: 'the steps did not compile to one function each' });
    }
    const input = parse(inputJson);
    const results = createObject(null);
    let value = null;
    let index = 0;
    try {
      for (; index < stepFunctions.length; index++) {
        const step = stepFunctions[index];
        if (typeof step !== 'function') return 'S' + stringify({ m: 'step ' + index + ' is not a function' });
        value = step(input, results);
        if (value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function') {
          return 'P' + stringify({ i: index });
        }
        results[stepNames[index]] = value;
      }
    } catch (error) {
      return 'E' + stringify({ i: index, m: describe(error) });
    }
    let json;
    try {
      json = stringify(value === undefined ? null : value);
    } catch (error) {
      return 'S' + stringify({ m: describe(error) });
    }
    if (json === undefined) json = 'null';
    if (json.length > maxOutputUnits) return 'T' + json.length;
    return 'O' + json;
  };
})()`;

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
