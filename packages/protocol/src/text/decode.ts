import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  EVENT_ACTION,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
} from '../actions.ts';
import type { Message } from '../message.ts';
import type { NamesOverCap } from '../names-scan.ts';
import { RS, TEXT_TOPIC, US } from './constants.ts';
import type { TextConnectionState } from './state.ts';
import { typedToJson } from './typed.ts';

// Text frames from a deepstream.io-client-js 2.x client into the internal
// messages the protobuf codec produces (codec.ts), so every topic handler
// serves both clients unchanged. Where the text protocol has no field the
// handlers' replies need, the decoder puts it where the reply echoes it:
//  - a single-name subscription (E|S|name, R|CR|name, P|S|name...) becomes the
//    bulk form with that name as its correlation id: the ack the handlers send
//    ({action, correlationId, isAck}) then names it, as the 2.x client expects
//    (E|A|S|name);
//  - a write asking for an acknowledgement ({"writeSuccess":true}) carries its
//    version as its correlation id: the 2.x client matches the acknowledgement
//    by version (R|WA|name|[version]|L).

export type TextDecodeFailureReason =
  /** Not a message: too few or too many parts, or a part that must be a number is not. */
  | 'MESSAGE_PARSE_ERROR'
  /** A topic the 2.x client does not send. */
  | 'UNKNOWN_TOPIC'
  /** An action the 2.x client does not send on that topic. */
  | 'UNKNOWN_ACTION'
  /** A typed value, version, write config or list of names that is malformed. */
  | 'INVALID_MESSAGE_DATA'
  /** A list of names longer than `maxNames`. */
  | 'TOO_MANY_NAMES'
  /** More messages in the frame than `maxMessages`: the whole frame is refused. */
  | 'TOO_MANY_MESSAGES';

export type TextDecodeFailure = {
  ok: false;
  reason: TextDecodeFailureReason;
  /** The internal topic, when the message named a known one. */
  topic?: number;
  /**
   * What was understood of the message (topic, action and, when read, name
   * and correlation id), for a reply naming it.
   */
  message?: Message;
  /** With TOO_MANY_NAMES, as the protobuf codec reports it. */
  overCap?: NamesOverCap;
  /** With TOO_MANY_MESSAGES: how many the frame holds (at least). */
  count?: number;
};

export type TextDecodeResult = { ok: true; message: Message } | TextDecodeFailure;

export type TextDecodeOptions = {
  /** Names one message may list (presence bulk subscriptions and queries). */
  maxNames?: number;
  /** Messages one frame may hold; the 2.x client sends at most 100 (maxMessagesPerPacket). */
  maxMessages?: number;
  /**
   * The connection's memory of has/head requests, for answers that do not
   * echo the request's correlation id (state.ts).
   */
  state?: TextConnectionState;
};

/** Messages per frame when the caller sets no limit: the 2.x client's default packet size. */
export const DEFAULT_MAX_TEXT_MESSAGES = 100;

type Parsed = Message | TextDecodeFailure;

/**
 * Decodes one text frame into one result per message, in order. Empty
 * messages (the separator that ends the last one) are skipped. Never throws;
 * a frame of more than `maxMessages` messages gives one TOO_MANY_MESSAGES
 * failure and nothing else, counted before anything is split.
 */
export function decodeTextFrame(
  frame: string,
  options: TextDecodeOptions = {},
): TextDecodeResult[] {
  const maxMessages = options.maxMessages ?? DEFAULT_MAX_TEXT_MESSAGES;
  let separators = 0;
  for (let at = frame.indexOf(RS); at !== -1 && separators <= maxMessages; ) {
    separators++;
    at = frame.indexOf(RS, at + 1);
  }
  // The last message may end without a separator.
  const count = separators + (frame.length > 0 && !frame.endsWith(RS) ? 1 : 0);
  if (count > maxMessages) return [{ ok: false, reason: 'TOO_MANY_MESSAGES', count }];
  const results: TextDecodeResult[] = [];
  let start = 0;
  while (start < frame.length) {
    let end = frame.indexOf(RS, start);
    if (end === -1) end = frame.length;
    if (end > start) {
      const parsed = decodeOne(frame.slice(start, end), options);
      results.push('ok' in parsed ? parsed : { ok: true, message: parsed });
    }
    start = end + 1;
  }
  return results;
}

function failure(
  reason: TextDecodeFailureReason,
  topic?: number,
  message?: Message,
): TextDecodeFailure {
  const result: TextDecodeFailure = { ok: false, reason };
  if (topic !== undefined) result.topic = topic;
  if (message !== undefined) result.message = message;
  return result;
}

function decodeOne(text: string, options: TextDecodeOptions): Parsed {
  const parts = text.split(US);
  const topic = parts.length >= 2 ? TEXT_TOPIC.get(parts[0] as string) : undefined;
  if (topic === undefined) {
    return failure(parts.length >= 2 ? 'UNKNOWN_TOPIC' : 'MESSAGE_PARSE_ERROR');
  }
  switch (topic) {
    case TOPIC.CONNECTION:
      return connection(parts);
    case TOPIC.AUTH:
      return auth(parts);
    case TOPIC.EVENT:
      return event(parts);
    case TOPIC.RECORD:
      return record(parts, options);
    case TOPIC.RPC:
      return rpc(parts);
    default:
      return presence(parts, options);
  }
}

/** The parts after TOPIC and ACTION must number between `min` and `max`. */
function arity(parts: string[], min: number, max = min): boolean {
  const fields = parts.length - 2;
  return fields >= min && fields <= max;
}

function connection(parts: string[]): Parsed {
  const topic = TOPIC.CONNECTION;
  switch (parts[1]) {
    case 'CHR': {
      if (!arity(parts, 0, 1)) return failure('MESSAGE_PARSE_ERROR', topic);
      const message: Message = { topic, action: CONNECTION_ACTION.CHALLENGE };
      if (parts[2] !== undefined) message.url = parts[2];
      return message;
    }
    case 'PO':
      return arity(parts, 0)
        ? { topic, action: CONNECTION_ACTION.PONG }
        : failure('MESSAGE_PARSE_ERROR', topic);
    case 'PI':
      return arity(parts, 0)
        ? { topic, action: CONNECTION_ACTION.PING }
        : failure('MESSAGE_PARSE_ERROR', topic);
    default:
      return failure('UNKNOWN_ACTION', topic);
  }
}

function auth(parts: string[]): Parsed {
  const topic = TOPIC.AUTH;
  if (parts[1] !== 'REQ') return failure('UNKNOWN_ACTION', topic);
  const message: Message = { topic, action: AUTH_ACTION.REQUEST };
  // The credentials are plain JSON (not typed); the login checks them as for protobuf.
  if (!arity(parts, 1)) return failure('INVALID_MESSAGE_DATA', topic, message);
  message.data = parts[2] as string;
  return message;
}

/** A single-name subscription as the bulk message the handlers take (see the top of the file). */
function single(topic: TOPIC, action: number, name: string): Message {
  return { topic, action, names: [name], correlationId: name };
}

function event(parts: string[]): Parsed {
  const topic = TOPIC.EVENT;
  const name = parts[2];
  switch (parts[1]) {
    case 'S':
    case 'US':
      if (!arity(parts, 1)) return failure('MESSAGE_PARSE_ERROR', topic);
      return single(
        topic,
        parts[1] === 'S' ? EVENT_ACTION.SUBSCRIBE : EVENT_ACTION.UNSUBSCRIBE,
        name as string,
      );
    case 'EVT': {
      if (!arity(parts, 1, 2)) return failure('MESSAGE_PARSE_ERROR', topic);
      const message: Message = { topic, action: EVENT_ACTION.EMIT, name: name as string };
      return withTypedData(message, parts[3]);
    }
    case 'L':
    case 'UL':
      if (!arity(parts, 1)) return failure('MESSAGE_PARSE_ERROR', topic);
      return {
        topic,
        action: parts[1] === 'L' ? EVENT_ACTION.LISTEN : EVENT_ACTION.UNLISTEN,
        name: name as string,
      };
    case 'LA':
    case 'LR':
      if (!arity(parts, 2)) return failure('MESSAGE_PARSE_ERROR', topic);
      return {
        topic,
        action: parts[1] === 'LA' ? EVENT_ACTION.LISTEN_ACCEPT : EVENT_ACTION.LISTEN_REJECT,
        name: name as string,
        subscription: parts[3] as string,
      };
    default:
      return failure('UNKNOWN_ACTION', topic);
  }
}

/** Sets `data` from a typed part (absent part or `U`: no data). */
function withTypedData(message: Message, part: string | undefined): Parsed {
  if (part === undefined) return message;
  const value = typedToJson(part);
  if (!value.ok) return failure('INVALID_MESSAGE_DATA', message.topic, message);
  if (value.json !== undefined) message.data = value.json;
  return message;
}

const VERSION = /^-?\d{1,10}$/;
const INT32_MAX = 2 ** 31 - 1;

function record(parts: string[], options: TextDecodeOptions): Parsed {
  const topic = TOPIC.RECORD;
  const name = parts[2] as string;
  const plain = (action: number): Parsed =>
    arity(parts, 1) ? { topic, action, name } : failure('MESSAGE_PARSE_ERROR', topic);
  switch (parts[1]) {
    case 'CR':
    case 'US':
      if (!arity(parts, 1)) return failure('MESSAGE_PARSE_ERROR', topic);
      return single(
        topic,
        parts[1] === 'CR' ? RECORD_ACTION.SUBSCRIBECREATEANDREAD : RECORD_ACTION.UNSUBSCRIBE,
        name,
      );
    case 'SN':
      return plain(RECORD_ACTION.READ);
    case 'D':
      return plain(RECORD_ACTION.DELETE);
    case 'H':
    case 'HD': {
      // Has and head are both HEAD; the correlation id says which form answers (encode.ts).
      if (!arity(parts, 1)) return failure('MESSAGE_PARSE_ERROR', topic);
      options.state?.asked(name, parts[1]);
      return { topic, action: RECORD_ACTION.HEAD, name, correlationId: parts[1] };
    }
    case 'U':
    case 'P':
    case 'CU':
      return write(parts);
    case 'L':
      return plain(RECORD_ACTION.LISTEN);
    case 'UL':
      return plain(RECORD_ACTION.UNLISTEN);
    case 'LA':
    case 'LR':
      if (!arity(parts, 2)) return failure('MESSAGE_PARSE_ERROR', topic);
      return {
        topic,
        action: parts[1] === 'LA' ? RECORD_ACTION.LISTEN_ACCEPT : RECORD_ACTION.LISTEN_REJECT,
        name,
        subscription: parts[3] as string,
      };
    default:
      return failure('UNKNOWN_ACTION', topic);
  }
}

/**
 * R|U|name|version|json[|config], R|P|name|version|path|typed[|config] and
 * setData's R|CU|name|-1|json|config or R|CU|name|-1|path|typed|config. A
 * config is a JSON object (`{"writeSuccess":true}` asks for an
 * acknowledgement), told from a typed value by its `{`. A patch to `U`
 * (undefined) erases the path, as the protobuf client's ERASE.
 */
function write(parts: string[]): Parsed {
  const topic = TOPIC.RECORD;
  const kind = parts[1];
  if (!arity(parts, 3, 5)) return failure('MESSAGE_PARSE_ERROR', topic);
  const name = parts[2] as string;
  let fields = parts.length - 4; // after the version
  const last = parts[parts.length - 1] as string;
  const hasConfig = fields > 1 && last.charCodeAt(0) === 123; // {
  if (hasConfig) fields--;
  const isPatch = kind === 'P' || (kind === 'CU' && fields === 2);
  if (fields !== (isPatch ? 2 : 1) || (kind === 'U' && isPatch)) {
    return failure('MESSAGE_PARSE_ERROR', topic);
  }
  const upsert = kind === 'CU';
  const message: Message = {
    topic,
    action: isPatch
      ? upsert
        ? RECORD_ACTION.CREATEANDPATCH
        : RECORD_ACTION.PATCH
      : upsert
        ? RECORD_ACTION.CREATEANDUPDATE
        : RECORD_ACTION.UPDATE,
    name,
  };
  const versionText = parts[3] as string;
  const version = VERSION.test(versionText) ? Number(versionText) : Number.NaN;
  if (!(Math.abs(version) <= INT32_MAX)) return failure('INVALID_MESSAGE_DATA', topic, message);
  message.version = version;
  if (hasConfig) {
    let config: unknown;
    try {
      config = JSON.parse(last);
    } catch {
      return failure('INVALID_MESSAGE_DATA', topic, message);
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) {
      return failure('INVALID_MESSAGE_DATA', topic, message);
    }
    if ((config as { writeSuccess?: unknown }).writeSuccess === true) {
      message.isWriteAck = true;
      message.correlationId = String(version);
    }
  }
  if (!isPatch) {
    // Whole record data is plain JSON; the record handler parses and checks it.
    message.data = parts[4] as string;
    return message;
  }
  message.path = parts[4] as string;
  const value = typedToJson(parts[5] as string);
  if (!value.ok) return failure('INVALID_MESSAGE_DATA', topic, message);
  if (value.json === undefined) {
    // set(path, undefined): the path is erased.
    message.action = RECORD_ACTION.ERASE;
  } else {
    message.data = value.json;
  }
  return message;
}

function rpc(parts: string[]): Parsed {
  const topic = TOPIC.RPC;
  const name = parts[2] as string;
  switch (parts[1]) {
    case 'S':
    case 'US':
      if (!arity(parts, 1)) return failure('MESSAGE_PARSE_ERROR', topic);
      return single(topic, parts[1] === 'S' ? RPC_ACTION.PROVIDE : RPC_ACTION.UNPROVIDE, name);
    case 'REQ':
    case 'RES': {
      if (!arity(parts, 2, 3)) return failure('MESSAGE_PARSE_ERROR', topic);
      const message: Message = {
        topic,
        action: parts[1] === 'REQ' ? RPC_ACTION.REQUEST : RPC_ACTION.RESPONSE,
        name,
        correlationId: parts[3] as string,
      };
      return withTypedData(message, parts[4]);
    }
    case 'A':
      // The provider's ack of a request: P|A|REQ|name|correlationId.
      if (parts[2] !== 'REQ') return failure('UNKNOWN_ACTION', topic);
      if (!arity(parts, 3)) return failure('MESSAGE_PARSE_ERROR', topic);
      return {
        topic,
        action: RPC_ACTION.ACCEPT,
        name: parts[3] as string,
        correlationId: parts[4] as string,
      };
    case 'E':
      // response.error(message): P|E|message|name|correlationId, the message as plain text.
      if (!arity(parts, 3)) return failure('MESSAGE_PARSE_ERROR', topic);
      return {
        topic,
        action: RPC_ACTION.REQUEST_ERROR,
        name: parts[3] as string,
        correlationId: parts[4] as string,
        data: JSON.stringify(parts[2]),
      };
    case 'REJ':
      if (!arity(parts, 2)) return failure('MESSAGE_PARSE_ERROR', topic);
      return { topic, action: RPC_ACTION.REJECT, name, correlationId: parts[3] as string };
    default:
      return failure('UNKNOWN_ACTION', topic);
  }
}

/**
 * U|Q|Q (everyone online), U|Q|id|["a","b"] (these users), U|S|S and U|US|US
 * (everyone's joins and leaves), U|S|id|["a"] and U|US|id|["a"] (these users').
 */
function presence(parts: string[], options: TextDecodeOptions): Parsed {
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
