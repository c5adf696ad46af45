import { AUTH_ACTION, CONNECTION_ACTION, EVENT_ACTION, RPC_ACTION, TOPIC } from '../actions.ts';
import { type ClientMessage, invalidClientMessage } from '../client-message.ts';
import type { Message } from '../message.ts';
import { RS, TEXT_TOPIC, US } from './constants.ts';
import {
  arity,
  failure,
  type Parsed,
  single,
  type TextDecodeOptions,
  type TextDecodeResult,
  withTypedData,
} from './decode-parts.ts';
import { presence } from './decode-presence.ts';
import { record } from './decode-record.ts';

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
//
// The record and presence topics are in decode-record.ts and
// decode-presence.ts; what the topics share in decode-parts.ts.

export type {
  TextDecodeFailure,
  TextDecodeFailureReason,
  TextDecodeOptions,
  TextDecodeResult,
} from './decode-parts.ts';

/** Messages per frame when the caller sets no limit: the 2.x client's default packet size. */
export const DEFAULT_MAX_TEXT_MESSAGES = 100;

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
      results.push(checked(decodeOne(frame.slice(start, end), options)));
    }
    start = end + 1;
  }
  return results;
}

/** A decoded message checked as a client message (client-message.ts), as the binary codec does. */
function checked(parsed: Parsed): TextDecodeResult {
  if ('ok' in parsed) return parsed;
  const reply = invalidClientMessage(parsed);
  if (reply === null) return { ok: true, message: parsed as ClientMessage };
  return { ok: false, reason: 'INVALID_MESSAGE', topic: parsed.topic, message: parsed, reply };
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
