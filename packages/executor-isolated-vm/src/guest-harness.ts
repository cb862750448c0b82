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
 *   'D' + JSON {i, c}                     step i failed on a capability c the profile does not grant
 * Captured log lines (the `log` capability) are fetched with the second function, `takeLogs`.
 * Host objects, host errors and references never enter the realm; guest objects never leave it.
 *
 * Capabilities live entirely in the guest: the clock is the isolate's own (coarsened), random is
 * V8's Math.random, SHA-256 is computed here in JavaScript, secrets arrive as copied strings.
 * Nothing calls back into the host.
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
  // The harness never looks anything up on a global or a prototype once tenant code can run:
  // everything it calls is captured here, and methods are pre-bound (bindCall) so that replacing
  // Function.prototype.call, Reflect or a prototype method cannot intercept privileged values.
  const construct = Reflect.construct;
  const bindCall = Function.prototype.bind.bind(Function.prototype.call);

  // Resizable ArrayBuffers grow outside memoryLimit: remove resize() and refuse maxByteLength.
  const NativeArrayBuffer = g.ArrayBuffer;
  delete NativeArrayBuffer.prototype.resize;
  const SafeArrayBuffer = new Proxy(NativeArrayBuffer, {
    construct(target, args, newTarget) {
      const options = args[1];
      if (options !== null && typeof options === 'object' && options.maxByteLength !== undefined) {
        throw new RangeError('Resizable ArrayBuffers are not available in the Beddel sandbox');
      }
      return construct(target, [args[0]], newTarget === SafeArrayBuffer ? target : newTarget);
    },
  });
  Object.defineProperty(g, 'ArrayBuffer', { value: SafeArrayBuffer, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(NativeArrayBuffer.prototype, 'constructor', { value: SafeArrayBuffer, writable: true, configurable: true, enumerable: false });

  // Captured before tenant code runs, so later changes to the globals cannot affect the harness.
  const defineProperty = Object.defineProperty;
  const freeze = Object.freeze;
  const hasOwn = bindCall(Object.prototype.hasOwnProperty);
  const floor = Math.floor;
  const NativeDate = g.Date;
  const nativeNow = bindCall(NativeDate.now);
  const nativeRandom = bindCall(Math.random);
  const charCodeAt = bindCall(String.prototype.charCodeAt);
  const sliceText = bindCall(String.prototype.slice);
  const numberToString = bindCall(Number.prototype.toString);
  const ErrorConstructor = Error;
  const Int32ArrayConstructor = Int32Array;
  const encodeUri = encodeURIComponent;
  const unescapeText = unescape;
  const pushItem = bindCall(Array.prototype.push);
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const createObject = Object.create;
  const assignObject = Object.assign;
  function withoutPrototype(_key, value) {
    return value !== null && typeof value === 'object' && !isArray(value) ? assignObject(createObject(null), value) : value;
  }
  const toText = String;
  const isArray = Array.isArray;
  const MESSAGE_CAP = 2000;

  function describe(error) {
    try {
      if (error !== null && (typeof error === 'object' || typeof error === 'function')) {
        const name = error.name;
        const message = error.message;
        const text = (typeof name === 'string' && name !== '' ? name + ': ' : '') + toText(message);
        return text.length > MESSAGE_CAP ? sliceText(text, 0, MESSAGE_CAP) + '...' : text;
      }
      const text = 'a non-Error value was thrown: ' + toText(error);
      return text.length > MESSAGE_CAP ? sliceText(text, 0, MESSAGE_CAP) + '...' : text;
    } catch (_) {
      return 'a value was thrown that cannot be described';
    }
  }

  // ---- Capabilities: the non-deterministic built-ins are governed by the profile ----
  let grants = null;
  // Errors raised by a denied capability, so a denial caught by tenant code and followed by an
  // unrelated error is not reported as a denial.
  const denials = new WeakMap();
  const denialOf = bindCall(WeakMap.prototype.get);
  const recordDenial = bindCall(WeakMap.prototype.set);
  let logs = [];
  let logBytes = 0;
  let logTruncated = false;

  function deny(capability, detail) {
    const error = new ErrorConstructor('The capability "' + capability + '" is not granted by the security profile' + (detail ? ': ' + detail : ''));
    // defineProperty, not assignment: with frozen intrinsics (frozen-realm mode) assigning name
    // over Error.prototype's read-only one throws.
    defineProperty(error, 'name', { value: 'CapabilityDenied', writable: true, configurable: true, enumerable: false });
    recordDenial(denials, error, capability);
    throw error;
  }
  function clockNow() {
    if (grants === null || !grants.clock) return deny('clock', 'Date.now(), new Date() and beddel.now() need it');
    const resolution = grants.clock.resolutionMs;
    return floor(nativeNow(NativeDate) / resolution) * resolution;
  }
  function randomNumber() {
    if (grants === null || grants.random !== true) return deny('random', 'Math.random() and beddel.random() need it');
    return nativeRandom(Math);
  }
  defineProperty(NativeDate, 'now', { value: function now() { return clockNow(); }, writable: true, configurable: true, enumerable: false });
  const SafeDate = new Proxy(NativeDate, {
    apply() {
      return new NativeDate(clockNow()).toString();
    },
    construct(target, args, newTarget) {
      const constructAs = newTarget === SafeDate ? target : newTarget;
      return args.length === 0 ? construct(target, [clockNow()], constructAs) : construct(target, args, constructAs);
    },
  });
  defineProperty(g, 'Date', { value: SafeDate, writable: true, configurable: true, enumerable: false });
  defineProperty(NativeDate.prototype, 'constructor', { value: SafeDate, writable: true, configurable: true, enumerable: false });
  defineProperty(Math, 'random', { value: function random() { return randomNumber(); }, writable: true, configurable: true, enumerable: false });
  // Intl.DateTimeFormat#format() and #formatToParts() with no date read the clock natively.
  const dateTimeFormatPrototype = Intl.DateTimeFormat.prototype;
  const nativeFormatGetter = bindCall(Object.getOwnPropertyDescriptor(dateTimeFormatPrototype, 'format').get);
  const nativeFormatToParts = bindCall(dateTimeFormatPrototype.formatToParts);
  defineProperty(dateTimeFormatPrototype, 'format', {
    configurable: true,
    enumerable: false,
    get() {
      const bound = nativeFormatGetter(this);
      return function format(date) { return bound(date === undefined ? clockNow() : date); };
    },
  });
  defineProperty(dateTimeFormatPrototype, 'formatToParts', {
    value: function formatToParts(date) { return nativeFormatToParts(this, date === undefined ? clockNow() : date); },
    writable: true,
    configurable: true,
    enumerable: false,
  });

  function formatLogArgument(value) {
    if (typeof value === 'string') return value;
    try {
      const json = stringify(value);
      return json === undefined ? toText(value) : json;
    } catch (_) {
      try { return toText(value); } catch (__) { return '[unprintable]'; }
    }
  }
  function log() {
    if (grants === null || !grants.log) return deny('log', 'beddel.log() needs it');
    if (logTruncated) return;
    let line = '';
    for (let index = 0; index < arguments.length; index++) line += (index === 0 ? '' : ' ') + formatLogArgument(arguments[index]);
    if (logs.length >= grants.log.maxLines || logBytes + line.length > grants.log.maxBytes) {
      logTruncated = true;
      pushItem(logs, '[beddel: log truncated at ' + grants.log.maxLines + ' lines / ' + grants.log.maxBytes + ' bytes]');
      return;
    }
    logBytes += line.length;
    pushItem(logs, line);
  }
  function secret(key) {
    if (grants === null || !grants.secrets) return deny('secrets', 'beddel.secret() needs it');
    const name = toText(key);
    if (!hasOwn(grants.secrets, name)) return deny('secrets', 'the key "' + sliceText(name, 0, 100) + '" is not allow-listed for this tenant');
    return grants.secrets[name];
  }

  // SHA-256 (FIPS 180-4) over the UTF-8 bytes of a string, in the guest.
  const K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ];
  function sha256(text) {
    if (grants === null || grants.hash !== true) return deny('hash', 'beddel.sha256() needs it');
    const bytes = unescapeText(encodeUri(toText(text)));
    const length = bytes.length;
    const words = new Int32ArrayConstructor((((length + 8) >> 6) + 1) * 16);
    for (let index = 0; index < length; index++) words[index >> 2] |= charCodeAt(bytes, index) << (24 - (index % 4) * 8);
    words[length >> 2] |= 0x80 << (24 - (length % 4) * 8);
    words[words.length - 1] = length * 8;
    let h0 = 0x6a09e667, h1 = 0xbb67ae85, h2 = 0x3c6ef372, h3 = 0xa54ff53a, h4 = 0x510e527f, h5 = 0x9b05688c, h6 = 0x1f83d9ab, h7 = 0x5be0cd19;
    const w = new Int32ArrayConstructor(64);
    for (let block = 0; block < words.length; block += 16) {
      for (let t = 0; t < 64; t++) {
        if (t < 16) w[t] = words[block + t];
        else {
          const a = w[t - 15], b = w[t - 2];
          const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
          const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
          w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
        }
      }
      let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, gg = h6, h = h7;
      for (let t = 0; t < 64; t++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const t1 = (h + S1 + ((e & f) ^ (~e & gg)) + K[t] + w[t]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        h = gg; gg = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + gg) | 0; h7 = (h7 + h) | 0;
    }
    let hex = '';
    const state = [h0, h1, h2, h3, h4, h5, h6, h7];
    for (let index = 0; index < 8; index++) hex += sliceText('00000000' + numberToString(state[index] >>> 0, 16), -8);
    return hex;
  }

  defineProperty(g, 'beddel', {
    value: freeze({
      log: log,
      now: function now() { return clockNow(); },
      random: function random() { return randomNumber(); },
      sha256: sha256,
      secret: secret,
    }),
    writable: false,
    configurable: false,
    enumerable: false,
  });

  function takeLogs() {
    const taken = logs;
    logs = [];
    // Built by hand: stringify of a whole array would consult Array.prototype.toJSON.
    let json = '[';
    for (let index = 0; index < taken.length; index++) json += (index === 0 ? '' : ',') + stringify(taken[index]);
    return json + ']';
  }

  function run(stepFunctions, stepNamesJson, inputJson, maxOutputUnits, capabilitiesJson) {
    // Reset per run: in the frozen-realm mode one context serves many executions.
    // Grants are prototype-free, so nothing added to Object.prototype reads as a grant.
    grants = freeze(parse(capabilitiesJson, withoutPrototype));
    logs = [];
    logBytes = 0;
    logTruncated = false;
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
      const capability = error !== null && typeof error === 'object' ? denialOf(denials, error) : undefined;
      if (capability !== undefined) return 'D' + stringify({ i: index, c: capability });
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
  }

  return [run, takeLogs];
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
