// The guest harness: the script that runs first in every fresh guest context, before any tenant
// code. Not a module: guest-harness.ts reads this file and evaluates it as
// `(<this function>)(<envelope JSON>)` once per context; it hardens the realm and returns the
// `run` and `takeLogs` functions the host calls. It contains no tenant text, so tenant code cannot
// reach its closure: the steps are compiled in a separate script and handed to `run`.
//
// What crosses back to the host is one string, the envelope of guest-envelope.ts, built here by
// hand from primitives. Captured log lines (the `log` capability) are fetched with `takeLogs`.
// Host objects, host errors and references never enter the realm; guest objects never leave it.
// Capabilities live entirely in the guest: the clock is the isolate's own (coarsened), random is
// V8's Math.random, SHA-256 is computed here, secrets arrive as copied strings. Nothing calls back
// into the host.
//
// The rule this file keeps (ADR 0005): once tenant code can have run, the harness touches no
// property a tenant can modify. Every intrinsic is captured in the prologue below, before
// anything else runs (lint: no global may be named outside it), and methods are pre-bound
// (bindCall) so replacing Function.prototype.call, Reflect or a prototype method intercepts
// nothing. Every object the harness creates and later reads or writes (Proxy handlers, property
// descriptors, the log store, registries) has a null prototype, so no inherited trap, setter,
// getter or toJSON applies. Loops index values the harness made itself (lint: no for-of, for-in,
// spread, array destructuring or `arguments`). Code generation from strings is refused, and
// JSON.parse / run-time RegExp sources are bounded, because V8 parses and compiles them without
// checking isolated-vm's timeout.
//
// Type-checked with checkJs against the plain ES library (tsconfig.guest.json): no DOM, no Node.

/** @typedef {import('../guest-envelope.ts').Envelope} Envelope */
/**
 * Grants as the host sends them (GuestCapabilities of @beddel/contracts), parsed prototype-free.
 * @typedef {{ clock?: { resolutionMs: number }, random?: boolean, hash?: boolean, log?: { maxLines: number, maxBytes: number }, secrets?: Record<string, string> }} Grants
 */

// eslint-disable-next-line @typescript-eslint/no-unused-expressions -- the script's completion value is this function
(/** @param {Envelope} envelope */ function harness(envelope) {
  'use strict';

  // ---- Intrinsics, captured before anything else can run ----
  // The only place this file may name a global (lint: no-restricted-globals).
  /* eslint-disable no-restricted-globals */
  const g = /** @type {Record<PropertyKey, unknown>} */ (/** @type {unknown} */ (globalThis));
  const MathObject = Math;
  const JSONObject = JSON;
  const StringPrototype = String.prototype;
  const NativeProxy = Proxy;
  const WeakMapConstructor = WeakMap;
  const weakMapGet = WeakMap.prototype.get;
  const weakMapSet = WeakMap.prototype.set;
  const dateTimeFormatPrototype = Intl.DateTimeFormat.prototype;
  const defineProperty = Object.defineProperty;
  const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const getPrototypeOf = Object.getPrototypeOf;
  const setPrototypeOf = Object.setPrototypeOf;
  const freeze = Object.freeze;
  const createObject = Object.create;
  const assignObject = Object.assign;
  const construct = Reflect.construct;
  const applyFunction = Reflect.apply;
  /**
   * `method` as a function of its receiver: bindCall(f)(thisArg, ...args) is f.call(thisArg, ...args)
   * without looking up Function.prototype.call at the time of the call.
   * @type {<A extends unknown[], R>(method: (...args: A) => R) => (thisArg: unknown, ...args: A) => R}
   */
  const bindCall = /** @type {any} */ (Function.prototype.bind.bind(Function.prototype.call));
  const hasOwn = bindCall(Object.prototype.hasOwnProperty);
  const isArray = Array.isArray;
  const floor = Math.floor;
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const toText = String;
  const charCodeAt = bindCall(String.prototype.charCodeAt);
  const sliceText = bindCall(String.prototype.slice);
  const numberToString = bindCall(Number.prototype.toString);
  const ErrorConstructor = Error;
  const TypeErrorConstructor = TypeError;
  const RangeErrorConstructor = RangeError;
  const Int32ArrayConstructor = Int32Array;
  const encodeUri = encodeURIComponent;
  const unescapeText = unescape;
  const NativeSymbol = Symbol;
  const NativeMap = Map;
  const mapGet = bindCall(Map.prototype.get);
  const mapSet = bindCall(Map.prototype.set);
  const NativeArrayBuffer = ArrayBuffer;
  const NativeDate = Date;
  const nativeNow = bindCall(NativeDate.now);
  const dateToString = bindCall(NativeDate.prototype.toString);
  const nativeRandom = bindCall(Math.random);
  const NativeRegExp = RegExp;
  const RegExpPrototype = RegExp.prototype;
  const regExpSource = bindCall(/** @type {() => string} */ (/** @type {PropertyDescriptor} */ (getOwnPropertyDescriptor(RegExp.prototype, 'source')).get));
  const nativeRegExpCompile = bindCall(/** @type {(pattern: unknown, flags: unknown) => RegExp} */ (RegExp.prototype.compile));
  /** @typedef {(pattern: unknown) => unknown} PatternMethod */
  const nativeMatch = bindCall(/** @type {PatternMethod} */ (String.prototype.match));
  const nativeMatchAll = bindCall(/** @type {PatternMethod} */ (String.prototype.matchAll));
  const nativeSearch = bindCall(/** @type {PatternMethod} */ (String.prototype.search));
  const symbolMatch = Symbol.match;
  const symbolMatchAll = Symbol.matchAll;
  const symbolSearch = Symbol.search;
  const FunctionPrototype = Function.prototype;
  const AsyncFunctionPrototype = getPrototypeOf(async function () {});
  const GeneratorFunctionPrototype = getPrototypeOf(function* () {});
  const AsyncGeneratorFunctionPrototype = getPrototypeOf(async function* () {});
  /* eslint-enable no-restricted-globals */

  // The envelope (guest-envelope.ts), read once into locals.
  const OUTPUT = envelope.output;
  const ERROR = envelope.error;
  const PROMISE = envelope.promise;
  const NOT_SERIALISABLE = envelope.notSerialisable;
  const TOO_LARGE = envelope.tooLarge;
  const DENIED = envelope.denied;
  const CODE_GENERATION = envelope.codeGeneration;
  const MESSAGE_CAP = 2000;

  /** A descriptor with no prototype: ToPropertyDescriptor also reads inherited get/set/value. */
  /** @param {unknown} value @returns {PropertyDescriptor} */
  function hidden(value) {
    return /** @type {PropertyDescriptor} */ ({ __proto__: null, value: value, writable: true, enumerable: false, configurable: true });
  }
  /** ToString, like the built-ins do it (String() would describe a symbol instead of throwing). */
  /** @param {unknown} value */
  function stringOf(value) {
    if (typeof value === 'symbol') throw new TypeErrorConstructor('Cannot convert a Symbol value to a string');
    return toText(value);
  }

  // APIs with no use in a transformation and known holes in isolated-vm 5.0.x:
  // SharedArrayBuffer / WebAssembly.Memory growth is not counted against memoryLimit,
  // Atomics.wait(Async) can park or abort the process, FinalizationRegistry callbacks and
  // WeakRef let code run or observe GC outside any timeout, console has no sink.
  const removed = ['SharedArrayBuffer', 'Atomics', 'WebAssembly', 'FinalizationRegistry', 'WeakRef', 'console'];
  for (let index = 0; index < removed.length; index++) delete g[removed[index]];

  // ---- Capabilities: the non-deterministic built-ins are governed by the profile ----
  /** @type {Readonly<Grants> | null} */
  let grants = null;
  // Errors raised by a denied capability, so a denial caught by tenant code and followed by an
  // unrelated error is not reported as a denial.
  const denials = new WeakMapConstructor();
  const denialOf = bindCall(weakMapGet);
  const recordDenial = bindCall(weakMapSet);

  /** @param {string} capability @param {string} detail @returns {never} */
  function deny(capability, detail) {
    const error = new ErrorConstructor('The capability "' + capability + '" is not granted by the security profile' + (detail ? ': ' + detail : ''));
    // defineProperty, not assignment: with frozen intrinsics (frozen-realm mode) assigning name
    // over Error.prototype's read-only one throws.
    defineProperty(error, 'name', hidden('CapabilityDenied'));
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
    return nativeRandom(MathObject);
  }

  // Resizable ArrayBuffers grow outside memoryLimit: remove resize() and refuse maxByteLength.
  delete /** @type {{ resize?: unknown }} */ (NativeArrayBuffer.prototype).resize;
  /** @type {ArrayBufferConstructor} */
  const SafeArrayBuffer = new NativeProxy(NativeArrayBuffer, /** @type {ProxyHandler<ArrayBufferConstructor>} */ ({
    __proto__: null,
    /** @returns {object} */
    construct(target, args, newTarget) {
      const options = args.length > 1 ? args[1] : undefined;
      if (options !== null && (typeof options === 'object' || typeof options === 'function') && options.maxByteLength !== undefined) {
        throw new RangeErrorConstructor('Resizable ArrayBuffers are not available in the Beddel sandbox');
      }
      return construct(target, [args.length > 0 ? args[0] : undefined], newTarget === SafeArrayBuffer ? target : newTarget);
    },
  }));
  defineProperty(g, 'ArrayBuffer', hidden(SafeArrayBuffer));
  defineProperty(NativeArrayBuffer.prototype, 'constructor', hidden(SafeArrayBuffer));

  defineProperty(NativeDate, 'now', hidden(function now() { return clockNow(); }));
  /** @type {DateConstructor} */
  const SafeDate = new NativeProxy(NativeDate, /** @type {ProxyHandler<DateConstructor>} */ ({
    __proto__: null,
    apply() {
      return dateToString(construct(NativeDate, [clockNow()]));
    },
    /** @returns {object} */
    construct(target, args, newTarget) {
      /** @type {Function} */
      const constructAs = newTarget === SafeDate ? target : newTarget;
      return args.length === 0 ? construct(target, [clockNow()], constructAs) : construct(target, args, constructAs);
    },
  }));
  defineProperty(g, 'Date', hidden(SafeDate));
  defineProperty(NativeDate.prototype, 'constructor', hidden(SafeDate));
  defineProperty(MathObject, 'random', hidden(function random() { return randomNumber(); }));
  // Intl.DateTimeFormat#format() and #formatToParts() with no date read the clock natively.
  const nativeFormatGetter = bindCall(/** @type {() => (date?: Date | number) => string} */ (/** @type {PropertyDescriptor} */ (getOwnPropertyDescriptor(dateTimeFormatPrototype, 'format')).get));
  const nativeFormatToParts = bindCall(dateTimeFormatPrototype.formatToParts);
  defineProperty(dateTimeFormatPrototype, 'format', /** @type {PropertyDescriptor} */ ({
    __proto__: null,
    configurable: true,
    enumerable: false,
    /** @this {Intl.DateTimeFormat} */
    get() {
      const bound = nativeFormatGetter(this);
      return /** @param {Date | number | undefined} date */ function format(date) { return bound(date === undefined ? clockNow() : date); };
    },
  }));
  defineProperty(dateTimeFormatPrototype, 'formatToParts', hidden(
    /** @this {Intl.DateTimeFormat} @param {Date | number | undefined} date */
    function formatToParts(date) { return nativeFormatToParts(this, date === undefined ? clockNow() : date); },
  ));

  // ---- No code generation from strings (ADR 0005) ----
  // V8 compiles eval / new Function text without checking the timeout, and Node's
  // --disallow-code-generation-from-strings does not reach isolated-vm contexts. Each Function
  // constructor is replaced by one that refuses, with the same name, length and prototype, so
  // instanceof and the prototypes' methods keep working; %AsyncFunction% & co. inherit from the
  // refusing Function as the originals inherit from %Function%, so no chain reaches an original.
  /** @returns {never} */
  function refuseCodeGeneration() {
    return deny(CODE_GENERATION, 'generating code from a string (eval, new Function and the other Function constructors) is not available in the Beddel sandbox');
  }
  /**
   * @param {object} prototypeObject the constructor's `prototype` (Function.prototype, %AsyncFunction.prototype%, ...)
   * @param {string} name @param {object} parent what the original constructor inherits from
   */
  function refusingConstructor(prototypeObject, name, parent) {
    /** @type {Record<string, (source: unknown) => never>} */
    const named = { [name]: function (_source) { return refuseCodeGeneration(); } };
    const refusing = /** @type {(source: unknown) => never} */ (named[name]);
    defineProperty(refusing, 'prototype', /** @type {PropertyDescriptor} */ ({ __proto__: null, value: prototypeObject, writable: false, enumerable: false, configurable: false }));
    setPrototypeOf(refusing, parent);
    const writable = /** @type {PropertyDescriptor} */ (getOwnPropertyDescriptor(prototypeObject, 'constructor')).writable;
    defineProperty(prototypeObject, 'constructor', /** @type {PropertyDescriptor} */ ({ __proto__: null, value: refusing, writable: writable, enumerable: false, configurable: true }));
    return refusing;
  }
  const RefusingFunction = refusingConstructor(FunctionPrototype, 'Function', FunctionPrototype);
  refusingConstructor(AsyncFunctionPrototype, 'AsyncFunction', RefusingFunction);
  refusingConstructor(GeneratorFunctionPrototype, 'GeneratorFunction', RefusingFunction);
  refusingConstructor(AsyncGeneratorFunctionPrototype, 'AsyncGeneratorFunction', RefusingFunction);
  defineProperty(g, 'Function', hidden(RefusingFunction));
  // eval of a non-string returns it unchanged, as the built-in does; only text is refused.
  const evalReplacement = {
    /** @param {unknown} source */
    eval(source) {
      return typeof source === 'string' ? refuseCodeGeneration() : source;
    },
  };
  defineProperty(g, 'eval', hidden(evalReplacement.eval));

  // ---- Bounded input to the other uninterruptible parsers ----
  // JSON.parse accepts the larger of 1 MiB and the execution's own input (which the harness
  // parsed already); set per run.
  const JSON_TEXT_FLOOR = 1048576;
  let jsonTextCap = JSON_TEXT_FLOOR;
  defineProperty(JSONObject, 'parse', hidden({
    /** @param {unknown} text @param {((this: any, key: string, value: any) => any) | undefined} reviver */
    parse(text, reviver) {
      const source = stringOf(text);
      if (source.length > jsonTextCap) {
        throw new RangeErrorConstructor('JSON.parse accepts at most ' + jsonTextCap + ' characters in the Beddel sandbox (got ' + source.length + ')');
      }
      return parse(source, reviver);
    },
  }.parse));
  // V8 parses a regular expression when it is made and compiles it at first use, both without
  // checking the timeout: up to ~30 ms per KiB of source (\p{...} classes with the u and i flags). The
  // source every run-time regular expression would get is worked out first, as the built-in
  // does (a RegExp object keeps its own, already bounded, source; an object with Symbol.match
  // gives .source and .flags; anything else goes through ToString), checked, and only then
  // handed to the native constructor as a string.
  const REGEXP_SOURCE_CAP = 4096;
  /** @param {object} value */
  function isRegExpObject(value) {
    try {
      regExpSource(value);
      return value !== RegExpPrototype;
    } catch {
      return false;
    }
  }
  /** @param {unknown} pattern */
  function boundedSource(pattern) {
    const source = pattern === undefined ? '' : stringOf(pattern);
    if (source.length > REGEXP_SOURCE_CAP) {
      throw new RangeErrorConstructor('regular expressions built at run time accept at most ' + REGEXP_SOURCE_CAP + ' characters of source in the Beddel sandbox (got ' + source.length + ')');
    }
    return source;
  }
  /** RegExp constructor arguments with the pattern replaced by its checked source text. */
  /** @param {any} pattern a tenant value @param {unknown} flags @returns {[unknown, unknown]} */
  function boundedRegExpArguments(pattern, flags) {
    if (pattern !== null && (typeof pattern === 'object' || typeof pattern === 'function')) {
      if (isRegExpObject(pattern)) return [pattern, flags];
      const matcher = pattern[symbolMatch];
      if (matcher !== undefined && matcher) {
        const source = pattern.source;
        return [boundedSource(source), flags === undefined ? pattern.flags : flags];
      }
    }
    return [boundedSource(pattern), flags];
  }
  /** @type {RegExpConstructor} */
  const SafeRegExp = new NativeProxy(NativeRegExp, /** @type {ProxyHandler<RegExpConstructor>} */ ({
    __proto__: null,
    apply(target, thisArg, args) {
      return applyFunction(target, thisArg, boundedRegExpArguments(args.length > 0 ? args[0] : undefined, args.length > 1 ? args[1] : undefined));
    },
    /** @returns {object} */
    construct(target, args, newTarget) {
      const bounded = boundedRegExpArguments(args.length > 0 ? args[0] : undefined, args.length > 1 ? args[1] : undefined);
      return construct(target, bounded, newTarget === SafeRegExp ? target : newTarget);
    },
  }));
  defineProperty(g, 'RegExp', hidden(SafeRegExp));
  defineProperty(RegExpPrototype, 'constructor', hidden(SafeRegExp));
  /** What a String method taking a pattern hands to the RegExp machinery: a custom matcher object as is, else a checked RegExp. */
  /** @param {any} regexp a tenant value @param {symbol} method @param {string | undefined} flags @returns {unknown} */
  function patternFor(regexp, method, flags) {
    if (regexp !== undefined && regexp !== null && (typeof regexp === 'object' || typeof regexp === 'function')) {
      const custom = regexp[method];
      if (custom !== undefined && custom !== null) return regexp;
    }
    return construct(NativeRegExp, [boundedSource(regexp), flags]);
  }
  const patternMethods = {
    /** @this {RegExp} @param {unknown} pattern @param {unknown} flags */
    compile(pattern, flags) {
      const bounded = boundedRegExpArguments(pattern, flags);
      return nativeRegExpCompile(this, bounded[0], bounded[1]);
    },
    /** @this {unknown} @param {unknown} regexp */
    match(regexp) {
      return this === undefined || this === null ? nativeMatch(this, regexp) : nativeMatch(this, patternFor(regexp, symbolMatch, undefined));
    },
    /** @this {unknown} @param {unknown} regexp */
    matchAll(regexp) {
      return this === undefined || this === null ? nativeMatchAll(this, regexp) : nativeMatchAll(this, patternFor(regexp, symbolMatchAll, 'g'));
    },
    /** @this {unknown} @param {unknown} regexp */
    search(regexp) {
      return this === undefined || this === null ? nativeSearch(this, regexp) : nativeSearch(this, patternFor(regexp, symbolSearch, undefined));
    },
  };
  defineProperty(RegExpPrototype, 'compile', hidden(patternMethods.compile));
  defineProperty(StringPrototype, 'match', hidden(patternMethods.match));
  defineProperty(StringPrototype, 'matchAll', hidden(patternMethods.matchAll));
  defineProperty(StringPrototype, 'search', hidden(patternMethods.search));

  // ---- A Symbol.for registry per execution ----
  // The built-in registry belongs to the isolate, not the context: what one execution registers
  // would stay (and be measurable) in the next. Maps with a null prototype, used only through
  // the captured methods. Reset per run (the frozen realm reuses the context).
  function newRegistry() {
    const registry = new NativeMap();
    setPrototypeOf(registry, null);
    return registry;
  }
  let symbolsByKey = newRegistry();
  let keysBySymbol = newRegistry();
  const symbolRegistry = {
    __proto__: null,
    /** @param {unknown} key */
    for(key) {
      const name = stringOf(key);
      const existing = mapGet(symbolsByKey, name);
      if (existing !== undefined) return existing;
      const symbol = NativeSymbol(name);
      mapSet(symbolsByKey, name, symbol);
      mapSet(keysBySymbol, symbol, name);
      return symbol;
    },
    /** @param {unknown} symbol */
    keyFor(symbol) {
      if (typeof symbol !== 'symbol') throw new TypeErrorConstructor('Symbol.keyFor expects a symbol');
      return mapGet(keysBySymbol, symbol);
    },
  };
  defineProperty(NativeSymbol, 'for', hidden(symbolRegistry.for));
  defineProperty(NativeSymbol, 'keyFor', hidden(symbolRegistry.keyFor));

  // ---- beddel.log: lines in a null-prototype store, bounded in lines and UTF-8 bytes ----
  let logLines = createObject(null);
  let logCount = 0;
  let logBytes = 0;
  let logTruncated = false;

  /** UTF-8 length of text (a lone surrogate is written as U+FFFD, 3 bytes); stops counting past limit. */
  /** @param {string} text @param {number} limit */
  function utf8Length(text, limit) {
    const length = text.length;
    let bytes = 0;
    for (let index = 0; index < length && bytes <= limit; index++) {
      const unit = charCodeAt(text, index);
      if (unit < 0x80) bytes += 1;
      else if (unit < 0x800) bytes += 2;
      else if (unit >= 0xd800 && unit <= 0xdbff && index + 1 < length && charCodeAt(text, index + 1) >= 0xdc00 && charCodeAt(text, index + 1) <= 0xdfff) {
        bytes += 4;
        index++;
      } else bytes += 3;
    }
    return bytes;
  }
  /** @param {unknown} value */
  function formatLogArgument(value) {
    if (typeof value === 'string') return value;
    // The tenant's own value, formatted with its own toJSON / toString: the result is only text.
    try {
      const json = stringify(value);
      return typeof json === 'string' ? json : toText(value);
    } catch {
      try { return toText(value); } catch { return '[unprintable]'; }
    }
  }
  /** @param {...unknown} parts */
  function log(...parts) {
    if (grants === null || !grants.log) return deny('log', 'beddel.log() needs it');
    if (logTruncated) return;
    let line = '';
    for (let index = 0; index < parts.length; index++) line += (index === 0 ? '' : ' ') + formatLogArgument(parts[index]);
    const maxLines = grants.log.maxLines;
    const maxBytes = grants.log.maxBytes;
    const bytes = utf8Length(line, maxBytes - logBytes);
    if (logCount >= maxLines || logBytes + bytes > maxBytes) {
      logTruncated = true;
      logLines[logCount] = '[beddel: log truncated at ' + maxLines + ' lines / ' + maxBytes + ' bytes]';
      logCount += 1;
      return;
    }
    logBytes += bytes;
    logLines[logCount] = line;
    logCount += 1;
  }
  /** @param {unknown} key */
  function secret(key) {
    if (grants === null || !grants.secrets) return deny('secrets', 'beddel.secret() needs it');
    const name = toText(key);
    if (!hasOwn(grants.secrets, name)) return deny('secrets', 'the key "' + sliceText(name, 0, 100) + '" is not allow-listed for this tenant');
    return grants.secrets[name];
  }

  // SHA-256 (FIPS 180-4) over the UTF-8 bytes of a string, in the guest. Sizes are kept in locals:
  // a typed array's length is a getter on %TypedArray%.prototype, which a tenant can redefine.
  const K = new Int32ArrayConstructor([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);
  /** @param {number} word */
  function hexWord(word) {
    return sliceText('00000000' + numberToString(word >>> 0, 16), -8);
  }
  /** @param {unknown} text */
  function sha256(text) {
    if (grants === null || grants.hash !== true) return deny('hash', 'beddel.sha256() needs it');
    const bytes = unescapeText(encodeUri(toText(text)));
    const length = bytes.length;
    const wordCount = (((length + 8) >> 6) + 1) * 16;
    const words = new Int32ArrayConstructor(wordCount);
    for (let index = 0; index < length; index++) words[index >> 2] |= charCodeAt(bytes, index) << (24 - (index % 4) * 8);
    words[length >> 2] |= 0x80 << (24 - (length % 4) * 8);
    words[wordCount - 1] = length * 8;
    let h0 = 0x6a09e667, h1 = 0xbb67ae85, h2 = 0x3c6ef372, h3 = 0xa54ff53a, h4 = 0x510e527f, h5 = 0x9b05688c, h6 = 0x1f83d9ab, h7 = 0x5be0cd19;
    const w = new Int32ArrayConstructor(64);
    for (let block = 0; block < wordCount; block += 16) {
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
    return hexWord(h0) + hexWord(h1) + hexWord(h2) + hexWord(h3) + hexWord(h4) + hexWord(h5) + hexWord(h6) + hexWord(h7);
  }

  defineProperty(g, 'beddel', /** @type {PropertyDescriptor} */ ({
    __proto__: null,
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
  }));

  function takeLogs() {
    const lines = logLines;
    const count = logCount;
    logLines = createObject(null);
    logCount = 0;
    // Built by hand from strings: stringify of a string primitive consults no toJSON.
    let json = '[';
    for (let index = 0; index < count; index++) json += (index === 0 ? '' : ',') + stringify(lines[index]);
    return json + ']';
  }

  /** @param {any} error whatever the step threw */
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
    } catch {
      return 'a value was thrown that cannot be described';
    }
  }
  /** Grants are parsed without prototypes, so nothing added to Object.prototype reads as a grant. */
  /** @param {string} _key @param {unknown} value */
  function withoutPrototype(_key, value) {
    return value !== null && typeof value === 'object' && !isArray(value) ? assignObject(createObject(null), value) : value;
  }
  /** @param {string} kind @param {number} index @param {string} field @param {string} text */
  function failureRecord(kind, index, field, text) {
    return kind + '{"i":' + index + ',"' + field + '":' + stringify(text) + '}';
  }

  /**
   * @param {unknown} stepFunctions what the steps script evaluated to: one function per step
   * @param {string} stepNamesJson @param {string} inputJson @param {number} maxOutputUnits
   * @param {string} capabilitiesJson the grants (GuestCapabilities) as JSON
   * @returns {string} the envelope
   */
  function run(stepFunctions, stepNamesJson, inputJson, maxOutputUnits, capabilitiesJson) {
    // Reset per run: in the frozen-realm mode one context serves many executions.
    grants = freeze(parse(capabilitiesJson, withoutPrototype));
    logLines = createObject(null);
    logCount = 0;
    logBytes = 0;
    logTruncated = false;
    symbolsByKey = newRegistry();
    keysBySymbol = newRegistry();
    jsonTextCap = inputJson.length > JSON_TEXT_FLOOR ? inputJson.length : JSON_TEXT_FLOOR;
    try {
      return runSteps(stepFunctions, parse(stepNamesJson), parse(inputJson), maxOutputUnits);
    } finally {
      symbolsByKey = newRegistry();
      keysBySymbol = newRegistry();
    }
  }
  /** @param {unknown} stepFunctions @param {string[]} stepNames @param {unknown} input @param {number} maxOutputUnits @returns {string} */
  function runSteps(stepFunctions, stepNames, input, maxOutputUnits) {
    const stepCount = stepNames.length;
    if (!isArray(stepFunctions) || stepFunctions.length !== stepCount) {
      return NOT_SERIALISABLE + '{"m":' + stringify('the steps did not compile to one function each') + '}';
    }
    const results = createObject(null);
    let value = null;
    let index = 0;
    try {
      for (; index < stepCount; index++) {
        const step = stepFunctions[index];
        if (typeof step !== 'function') return NOT_SERIALISABLE + '{"m":' + stringify('step ' + index + ' is not a function') + '}';
        value = step(input, results);
        if (value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function') {
          return PROMISE + '{"i":' + index + '}';
        }
        results[stepNames[index]] = value;
      }
    } catch (error) {
      const capability = error !== null && typeof error === 'object' ? denialOf(denials, error) : undefined;
      if (capability !== undefined) return failureRecord(DENIED, index, 'c', capability);
      return failureRecord(ERROR, index, 'm', describe(error));
    }
    let json;
    try {
      // The tenant's own output, serialised with its own toJSON / getters: the result is only text.
      json = stringify(value === undefined ? null : value);
    } catch (error) {
      return NOT_SERIALISABLE + '{"m":' + stringify(describe(error)) + '}';
    }
    if (typeof json !== 'string') json = 'null';
    if (json.length > maxOutputUnits) return TOO_LARGE + json.length;
    return OUTPUT + json;
  }

  return [run, takeLogs];
})
