import { RuleError } from './errors.js';
import { FORBIDDEN_MEMBERS } from './expression/checker.js';
import { MAX_PATCH_PATH_SEGMENTS } from './limits.js';

// `data` for a PATCH is the whole record with the patch applied (VALVE.md B.6),
// so a rule need not tell patches and updates apart.

type Segment = string | number;

function invalidPath(path: string, why: string): RuleError {
  return new RuleError('RUNTIME_PATCH_INVALID_PATH', `invalid patch path '${path}': ${why}`);
}

/** Splits `a.b[2].c` into ['a', 'b', 2, 'c']. */
export function parsePatchPath(path: string): Segment[] {
  const segments: Segment[] = [];
  for (const part of path.split('.')) {
    const open = part.indexOf('[');
    const head = open < 0 ? part : part.slice(0, open);
    if (head.length === 0 && open < 0) throw invalidPath(path, 'empty segment');
    if (head.length > 0) segments.push(head);
    let rest = open < 0 ? '' : part.slice(open);
    while (rest.length > 0) {
      const found = /^\[(\d+)\]/.exec(rest);
      if (found === null) throw invalidPath(path, 'indexes are written [0]');
      segments.push(Number(found[1]));
      rest = rest.slice(found[0].length);
    }
  }
  for (const segment of segments) {
    if (typeof segment === 'string' && FORBIDDEN_MEMBERS.has(segment)) {
      throw invalidPath(path, `'${segment}' cannot be written`);
    }
  }
  if (segments.length > MAX_PATCH_PATH_SEGMENTS) {
    throw invalidPath(path, `at most ${MAX_PATCH_PATH_SEGMENTS} segments`);
  }
  return segments;
}

type Container = Record<string, unknown> | unknown[];

const isContainer = (value: unknown): value is Container =>
  typeof value === 'object' && value !== null;

/** A copy of `base` with `value` set at `path`; undefined removes the key. */
export function applyPatch(base: unknown, path: string, value: unknown): unknown {
  const segments = parsePatchPath(path);
  const root: unknown = structuredClone(base);
  if (segments.length === 0) return value;
  if (!isContainer(root)) throw invalidPath(path, 'the record is not an object');
  let node: Container = root;
  for (let i = 0; i < segments.length - 1; i++) {
    const key = segments[i]!;
    const existing = (node as Record<string, unknown>)[key];
    const child: Container = isContainer(existing)
      ? existing
      : typeof segments[i + 1] === 'number'
        ? []
        : {};
    (node as Record<string, unknown>)[key] = child;
    node = child;
  }
  const last = segments[segments.length - 1]!;
  if (value === undefined && !Array.isArray(node)) delete node[last];
  else (node as Record<string, unknown>)[last] = value;
  return root;
}
