import { limits } from '@hubstream/valve';

// Record paths (PROTOCOL.md 4.4): `a.b[2].c`, tokenised as the client does
// (parts trimmed, empty parts skipped), so a path means the same on both
// sides. Writes never mutate: they copy the nodes along the path and share
// the rest, so a record's data can be handed out without defensive copies.

export type PathToken = string | number;

/** Keys a path may never name: writing them would reach the prototype. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * How far past an array's end a path may write (the gap is filled with
 * null, as the client does). Without it `a[999999999]` would allocate a
 * billion slots.
 */
export const MAX_ARRAY_PADDING = 1024;

const INDEX = /^\[(\d+)\]/;
const CANONICAL_INDEX = /^(0|[1-9]\d*)$/;

/** A path that cannot be applied to the record it is written to. */
export class PathError extends Error {}

/**
 * The tokens of a path, or null when it is empty, malformed, too long, or
 * names `__proto__`, `constructor` or `prototype`. Stricter than the client
 * only for paths it would turn into nonsense keys (`a[x]`, `a]b`, `[0]`).
 */
export function parsePath(path: string): PathToken[] | null {
  const tokens: PathToken[] = [];
  for (const raw of path.split('.')) {
    const part = raw.trim();
    if (part.length === 0) continue;
    const open = part.indexOf('[');
    const head = open < 0 ? part : part.slice(0, open);
    if (head.length === 0 || head.includes(']') || FORBIDDEN_KEYS.has(head)) return null;
    tokens.push(head);
    let rest = open < 0 ? '' : part.slice(open);
    while (rest.length > 0) {
      const found = INDEX.exec(rest);
      if (found === null) return null;
      const index = Number(found[1]);
      if (!Number.isSafeInteger(index)) return null;
      tokens.push(index);
      rest = rest.slice(found[0].length);
    }
  }
  if (tokens.length === 0 || tokens.length > limits.MAX_PATCH_PATH_SEGMENTS) return null;
  return tokens;
}

/** The path written canonically (`a.b[2].c`), for the rules' own patching. */
export function formatPath(tokens: readonly PathToken[]): string {
  let path = '';
  for (const token of tokens) {
    if (typeof token === 'number') path += `[${token}]`;
    else path += path.length === 0 ? token : `.${token}`;
  }
  return path;
}

const isContainer = (value: unknown): value is object =>
  typeof value === 'object' && value !== null;

function arrayIndex(token: PathToken): number | null {
  if (typeof token === 'number') return token;
  return CANONICAL_INDEX.test(token) ? Number(token) : null;
}

function child(node: object, token: PathToken): unknown {
  if (Array.isArray(node)) return node[token as number];
  const key = String(token);
  return Object.hasOwn(node, key) ? (node as Record<string, unknown>)[key] : undefined;
}

/**
 * A copy of `root` with `value` at the path; `undefined` erases. Missing or
 * scalar parents become objects, or arrays when the next token is an index.
 * Throws PathError when the path names a key of an array or pads too far.
 */
export function setPath(root: unknown, tokens: readonly PathToken[], value: unknown): unknown {
  return write(root, tokens, 0, value);
}

function write(node: unknown, tokens: readonly PathToken[], at: number, value: unknown): unknown {
  const token = tokens[at]!;
  const last = at === tokens.length - 1;
  const next = (existing: unknown): unknown => {
    if (last) return value;
    const base = isContainer(existing) ? existing : typeof tokens[at + 1] === 'number' ? [] : {};
    return write(base, tokens, at + 1, value);
  };
  if (Array.isArray(node)) {
    const index = arrayIndex(token);
    if (index === null) throw new PathError(`'${String(token)}' is not an index of an array`);
    if (index > node.length + MAX_ARRAY_PADDING) {
      throw new PathError(`index ${index} is too far past the end of the array`);
    }
    const copy: unknown[] = node.slice();
    if (last && value === undefined) {
      // The client deletes the slot, which JSON carries as null.
      if (index < copy.length) copy[index] = null;
      return copy;
    }
    while (copy.length < index) copy.push(null);
    copy[index] = next(copy[index]);
    return copy;
  }
  const copy: Record<string, unknown> = isContainer(node) ? { ...node } : {};
  const key = String(token);
  if (last && value === undefined) {
    delete copy[key];
    return copy;
  }
  copy[key] = next(isContainer(node) ? child(node, token) : undefined);
  return copy;
}

/**
 * True when JSON text holds a NUL character (`\u0000` not preceded by an
 * escaping backslash). Postgres jsonb refuses it, so such data could never
 * be stored.
 */
export function hasNulCharacter(json: string): boolean {
  return json.includes('\\u0000') && /(^|[^\\])(\\\\)*\\u0000/.test(json);
}
