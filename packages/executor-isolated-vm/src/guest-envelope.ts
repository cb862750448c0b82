/**
 * The result envelope between the guest harness (`guest/harness.js`) and the host, defined once:
 * the host decodes with these constants, and the harness receives the same object (as a JSON
 * literal, see `guest-harness.ts`) when its script is evaluated. One string crosses back per run:
 * a kind letter, then its body.
 *
 *   output           + output JSON
 *   error            + {"i":step,"m":message}       step i threw (m capped)
 *   promise          + {"i":step}                   step i returned a promise / thenable
 *   notSerialisable  + {"m":message}                the result is not JSON-serialisable
 *   tooLarge         + output length in UTF-16 units, before the output is copied out
 *   denied           + {"i":step,"c":capability}    step i used a capability the profile does not grant
 *
 * Records are built by hand in the guest (never `JSON.stringify` of an object there, which would
 * honour a tenant's `Object.prototype.toJSON`); the host parses them defensively.
 * No module imports here: the guest type-check (tsconfig.guest.json) reads this file too.
 */
export const ENVELOPE = Object.freeze({
  output: 'O',
  error: 'E',
  promise: 'P',
  notSerialisable: 'S',
  tooLarge: 'T',
  denied: 'D',
  /** The capability a refused eval / Function constructor reports; no profile grants it (ADR 0005). */
  codeGeneration: 'code-generation',
} as const);

export type Envelope = typeof ENVELOPE;
