/**
 * The one rule for inputs and outputs: a run value is JSON. The caller's input is turned into
 * JSON text once, here (`JSON.stringify` rules: `toJSON` and `Date` give their JSON form,
 * undefined members are dropped, undefined array items and non-finite numbers become null), and
 * that text is parsed back once. The parsed value is the only one used afterwards: the guest
 * parses the same text, the schema validates the parsed value, the audit hashes it. So the input
 * that ran, the input that was checked and the input that was recorded cannot differ.
 *
 * Values JSON cannot represent (BigInt, cycles, a bare function or symbol) and values nested
 * deeper than MAX_VALUE_DEPTH are refused, so nothing downstream (canonical JSON, schema
 * validation, the audit record) meets a value it cannot handle, whoever built it.
 */
export const MAX_VALUE_DEPTH = 256;

export type RunValue = { readonly ok: true; readonly value: unknown; readonly json: string } | { readonly ok: false; readonly message: string };

export type RunValueText = { readonly ok: true; readonly json: string; readonly bytes: number } | { readonly ok: false; readonly message: string };

/**
 * The JSON text of a caller's input (or anything not yet JSON text), with its UTF-8 size, so the
 * size can be checked before anything parses it. Never throws: whatever the caller's `toJSON`,
 * getter or Proxy trap throws becomes the message.
 */
export function runValueText(value: unknown): RunValueText {
  let json: string | undefined;
  try {
    json = JSON.stringify(value === undefined ? null : value);
  } catch (error) {
    // BigInt and cycles throw a TypeError; a structure too deep for the serialiser a RangeError.
    const reason = error instanceof RangeError ? `it is nested too deeply (more than ${MAX_VALUE_DEPTH} levels are refused)` : messageOf(error);
    return { ok: false, message: `is not JSON-serialisable: ${reason}` };
  }
  if (json === undefined) return { ok: false, message: `is not JSON-serialisable: a ${typeof value} has no JSON form` };
  return { ok: true, json, bytes: Buffer.byteLength(json, 'utf8') };
}

/** Parses JSON text (the guest's output, or an input already in JSON form) into a run value. */
export function runValueFromJson(json: string): RunValue {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return { ok: false, message: `is not valid JSON: ${messageOf(error)}` };
  }
  const depth = depthBeyond(value, MAX_VALUE_DEPTH);
  if (depth !== undefined) return { ok: false, message: `is nested more than ${MAX_VALUE_DEPTH} levels deep; the limit is ${MAX_VALUE_DEPTH}` };
  return { ok: true, value, json };
}

/**
 * Walks a parsed JSON value without recursion (so a deep value cannot overflow the stack) and
 * returns the first depth past `max`, or undefined. The root is depth 0.
 */
function depthBeyond(root: unknown, max: number): number | undefined {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: root, depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, depth } = next;
    if (value === null || typeof value !== 'object') continue;
    if (depth > max) return depth;
    const children: unknown[] = Array.isArray(value) ? value : Object.values(value);
    for (const child of children) if (child !== null && typeof child === 'object') stack.push({ value: child, depth: depth + 1 });
  }
  return undefined;
}

/** A message for anything thrown, which may itself refuse to become text (`Object.create(null)`). */
function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? String(error.message) : String(error);
  } catch {
    return 'a value without a text form was thrown';
  }
}
