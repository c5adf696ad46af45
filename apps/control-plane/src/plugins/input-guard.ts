import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { ApiError } from '../errors.ts';

// Input the schemas let through but Postgres cannot take, refused with 400
// for every route at once instead of field by field:
// - NUL characters, which no Postgres text or jsonb value may hold, in any
//   string or key of the path, the query or the body;
// - JSON nested deeper than MAX_JSON_DEPTH (clientData, serverData...);
// - integers beyond a 4-byte column: every integer in a request schema
//   without a maximum of its own gets INT32_MAX (and INT32_MIN) as bounds.

/** Deepest nesting of objects and arrays a request may carry. */
export const MAX_JSON_DEPTH = 32;
const INT32_MAX = 2_147_483_647;
const INT32_MIN = -2_147_483_648;

type Problem = { path: string; message: string };

/** The first NUL or over-deep nesting in a parsed value, walked without recursion. */
export function inputProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): Problem | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value: current, path, depth } = stack.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\u0000'))
        return { path: path || '/', message: 'contains a NUL character' };
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= maxDepth) {
      return { path: path || '/', message: `is nested deeper than ${maxDepth} levels` };
    }
    const entries = Array.isArray(current)
      ? current.map((item, index) => [String(index), item] as const)
      : Object.entries(current);
    for (const [key, item] of entries) {
      const at = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      if (key.includes('\u0000')) return { path: at, message: 'has a key with a NUL character' };
      stack.push({ value: item, path: at, depth: depth + 1 });
    }
  }
  return null;
}

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when JSON text nests objects and arrays deeper than `maxDepth`,
 * counted on the text before it is parsed (brackets inside strings do not
 * count). A refused body then costs one pass over its characters: parsed, a
 * 200 KB body of 100,000 nested arrays was 100,000 arrays for the GC, ~8 ms
 * a request with the event loop stopped for every app of a standalone
 * process (bench:attacks, malformed control-plane input).
 */
export function nestedDeeperThan(text: string, maxDepth = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) depth--;
  }
  return false;
}

function boundIntegers(schema: unknown, seen = new Set<object>()): void {
  if (typeof schema !== 'object' || schema === null || seen.has(schema)) return;
  seen.add(schema);
  const node = schema as Record<string, unknown>;
  if (node.type === 'integer') {
    node.maximum ??= INT32_MAX;
    node.minimum ??= INT32_MIN;
  }
  for (const child of Object.values(node)) {
    if (Array.isArray(child)) for (const item of child) boundIntegers(item, seen);
    else boundIntegers(child, seen);
  }
}

const PARTS = [
  ['params', 'path'],
  ['query', 'querystring'],
  ['body', 'body'],
] as const;

/** Registers the guards; call before any route is added. */
export function registerInputGuards(app: FastifyInstance): void {
  // JSON bodies: too deep is refused before parsing (nestedDeeperThan), the
  // rest parsed as fastify does (__proto__ and constructor keys refused).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (!nestedDeeperThan(text)) return parseJson(request, text, done);
    const message = `is nested deeper than ${MAX_JSON_DEPTH} levels`;
    done(
      new ApiError('VALIDATION_FAILED', `The request body is invalid: it ${message}.`, [
        { in: 'body', path: '/', message },
      ]),
      undefined,
    );
  });
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as Record<string, unknown> | undefined;
    if (!schema) return;
    for (const part of ['params', 'querystring', 'body', 'headers']) boundIntegers(schema[part]);
  });
  app.addHook('preValidation', async (request: FastifyRequest) => {
    for (const [property, where] of PARTS) {
      const problem = inputProblem(request[property]);
      if (problem) {
        throw new ApiError(
          'VALIDATION_FAILED',
          `The request ${where} is invalid: ${problem.path} ${problem.message}.`,
          [{ in: where, path: problem.path, message: problem.message }],
        );
      }
    }
  });
}
