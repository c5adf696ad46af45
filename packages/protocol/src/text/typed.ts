import { hasSeparator } from './constants.ts';

// Typed values (event data, patch values, RPC data, clientData): the first
// character names the type, the rest is the value. `S` string, `O` JSON,
// `N` number, `T` true, `F` false, `L` null, `U` undefined. Internally data
// is JSON text (Message.data), absent for undefined.

/** What a typed value holds as JSON text: `undefined` for `U`, `null` when malformed. */
export type TypedJson = { ok: true; json: string | undefined } | { ok: false };

const MALFORMED: TypedJson = { ok: false };
const UNDEFINED: TypedJson = { ok: true, json: undefined };
const TRUE: TypedJson = { ok: true, json: 'true' };
const FALSE: TypedJson = { ok: true, json: 'false' };
const NULL: TypedJson = { ok: true, json: 'null' };

/** Number text as the 2.x client writes it (`value.toString()`). */
const NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);

/**
 * The JSON text of a typed value. `O` is passed on as it came (the handlers
 * parse data where they use it, as for the protobuf client); numbers must be
 * numbers, and NaN and the infinities become null as JSON.stringify makes them.
 */
export function typedToJson(part: string): TypedJson {
  const type = part.charCodeAt(0);
  switch (type) {
    case 83: // S
      return { ok: true, json: JSON.stringify(part.slice(1)) };
    case 79: // O
      return part.length > 1 ? { ok: true, json: part.slice(1) } : MALFORMED;
    case 78: {
      // N
      const text = part.slice(1);
      if (NUMBER.test(text)) return { ok: true, json: JSON.stringify(Number(text)) };
      return NON_FINITE.has(text) ? NULL : MALFORMED;
    }
    case 84: // T
      return part.length === 1 ? TRUE : MALFORMED;
    case 70: // F
      return part.length === 1 ? FALSE : MALFORMED;
    case 76: // L
      return part.length === 1 ? NULL : MALFORMED;
    case 85: // U
      return part.length === 1 ? UNDEFINED : MALFORMED;
    default:
      return MALFORMED;
  }
}

/** The typed form of a value. */
export function typedValue(value: unknown): string | null {
  switch (typeof value) {
    case 'string':
      // A string holding a separator travels as JSON, which escapes it.
      return hasSeparator(value) ? `O${JSON.stringify(value)}` : `S${value}`;
    case 'number':
      return Number.isFinite(value) ? `N${value}` : 'L';
    case 'boolean':
      return value ? 'T' : 'F';
    case 'undefined':
      return 'U';
    case 'object': {
      if (value === null) return 'L';
      const json = JSON.stringify(value);
      return json === undefined || hasSeparator(json) ? null : `O${json}`;
    }
    default:
      return null;
  }
}

/**
 * The typed form of JSON text (`undefined`: no data, `U`); null when the text
 * is not JSON. Objects, arrays and numbers are passed on without parsing.
 */
export function jsonToTyped(json: string | undefined): string | null {
  if (json === undefined) return 'U';
  // JSON holds no raw control characters: one here is not JSON, and would break the frame.
  if (hasSeparator(json)) return null;
  const first = json.charCodeAt(0);
  if (first === 123 || first === 91) return `O${json}`; // { [
  if (json === 'true') return 'T';
  if (json === 'false') return 'F';
  if (json === 'null') return 'L';
  if (first === 45 || (first >= 48 && first <= 57)) {
    // - or a digit: JSON number text reads back the same with parseFloat.
    return NUMBER.test(json) ? `N${json}` : null;
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  return typedValue(value);
}
