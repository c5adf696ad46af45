import { PRESENCE_ACTION, TOPIC } from '../actions.ts';
import type { Message } from '../message.ts';
import { failure, type Parsed, type TextDecodeOptions } from './decode-parts.ts';

// The presence topic of a 2.x text frame (decode.ts), with its JSON lists of
// user names, refused over the cap before they are parsed.

/**
 * U|Q|Q (everyone online), U|Q|id|["a","b"] (these users), U|S|S and U|US|US
 * (everyone's joins and leaves), U|S|id|["a"] and U|US|id|["a"] (these users').
 */
export function presence(parts: string[], options: TextDecodeOptions): Parsed {
  const topic = TOPIC.PRESENCE;
  const kind = parts[1];
  if (kind !== 'Q' && kind !== 'S' && kind !== 'US') return failure('UNKNOWN_ACTION', topic);
  if (parts.length === 3) {
    // The "all" forms repeat their action: U|Q|Q, U|S|S, U|US|US.
    if (parts[2] !== kind) return failure('MESSAGE_PARSE_ERROR', topic);
    const action =
      kind === 'Q'
        ? PRESENCE_ACTION.QUERY_ALL
        : kind === 'S'
          ? PRESENCE_ACTION.SUBSCRIBE_ALL
          : PRESENCE_ACTION.UNSUBSCRIBE_ALL;
    return { topic, action };
  }
  if (parts.length !== 4) return failure('MESSAGE_PARSE_ERROR', topic);
  const message: Message = {
    topic,
    action:
      kind === 'Q'
        ? PRESENCE_ACTION.QUERY
        : kind === 'S'
          ? PRESENCE_ACTION.SUBSCRIBE
          : PRESENCE_ACTION.UNSUBSCRIBE,
    correlationId: parts[2] as string,
  };
  const names = parseNames(parts[3] as string, options.maxNames);
  if (names.ok) {
    message.names = names.names;
    return message;
  }
  if (names.count === undefined) return failure('INVALID_MESSAGE_DATA', topic, message);
  const overCapMessage: Message = { ...message, names: [names.first] };
  return {
    ok: false,
    reason: 'TOO_MANY_NAMES',
    topic,
    message: overCapMessage,
    overCap: { count: names.count, message: overCapMessage },
  };
}

type Names =
  | { ok: true; names: string[] }
  | { ok: false; count: number; first: string }
  | { ok: false; count?: undefined };

/**
 * A JSON array of strings. Over `max` items it is refused by a count of its
 * top-level commas, before anything is parsed or allocated (a frame of
 * 100,000 names would otherwise become 100,000 strings first).
 */
function parseNames(text: string, max: number | undefined): Names {
  if (max !== undefined) {
    const count = countItems(text);
    if (count > max) {
      return { ok: false, count, first: firstString(text) };
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false };
  }
  if (!Array.isArray(value) || !value.every((name) => typeof name === 'string')) {
    return { ok: false };
  }
  return { ok: true, names: value as string[] };
}

/** The top-level items of what looks like a JSON array (an upper bound for malformed text). */
function countItems(text: string): number {
  let commas = 0;
  let depth = 0;
  let inString = false;
  let empty = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
      empty = false;
    } else if (c === 91 || c === 123) {
      if (depth > 0) empty = false;
      depth++;
    } else if (c === 93 || c === 125) depth--;
    else if (c === 44 && depth === 1) commas++;
    else if (c > 32 && depth > 0) empty = false;
  }
  return empty ? 0 : commas + 1;
}

/** The first string in the text, for a refusal to name (empty when there is none). */
function firstString(text: string): string {
  const start = text.indexOf('"');
  if (start === -1) return '';
  let end = start + 1;
  while (end < text.length) {
    const c = text.charCodeAt(end);
    if (c === 92) end += 2;
    else if (c === 34) break;
    else end++;
  }
  try {
    const value: unknown = JSON.parse(text.slice(start, end + 1));
    return typeof value === 'string' ? value : '';
  } catch {
    return '';
  }
}
