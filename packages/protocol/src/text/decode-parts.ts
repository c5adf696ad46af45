import type { TOPIC } from '../actions.ts';
import type { ClientMessage } from '../client-message.ts';
import type { Message } from '../message.ts';
import type { NamesOverCap } from '../names-scan.ts';
import type { TextConnectionState } from './state.ts';
import { typedToJson } from './typed.ts';

// What every topic's text decoder shares (decode.ts has the frame and the
// topics' overview): the result types, the failure and arity helpers, and
// the single-name subscription and typed-data forms.

export type TextDecodeFailureReason =
  /** Not a message: too few or too many parts, or a part that must be a number is not. */
  | 'MESSAGE_PARSE_ERROR'
  /** A topic the 2.x client does not send. */
  | 'UNKNOWN_TOPIC'
  /** An action the 2.x client does not send on that topic. */
  | 'UNKNOWN_ACTION'
  /** A typed value, version, write config or list of names that is malformed. */
  | 'INVALID_MESSAGE_DATA'
  /** A message missing a field its action requires (client-message.ts); `reply` refuses it. */
  | 'INVALID_MESSAGE'
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
  /** With INVALID_MESSAGE: the reply refusing `message`. */
  reply?: Message;
};

export type TextDecodeResult = { ok: true; message: ClientMessage } | TextDecodeFailure;

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

/** A decoded message, or why it was refused. */
export type Parsed = Message | TextDecodeFailure;

export function failure(
  reason: TextDecodeFailureReason,
  topic?: number,
  message?: Message,
): TextDecodeFailure {
  const result: TextDecodeFailure = { ok: false, reason };
  if (topic !== undefined) result.topic = topic;
  if (message !== undefined) result.message = message;
  return result;
}

/** The parts after TOPIC and ACTION must number between `min` and `max`. */
export function arity(parts: string[], min: number, max = min): boolean {
  const fields = parts.length - 2;
  return fields >= min && fields <= max;
}

/** A single-name subscription as the bulk message the handlers take (see the top of decode.ts). */
export function single(topic: TOPIC, action: number, name: string): Message {
  return { topic, action, names: [name], correlationId: name };
}

/** Sets `data` from a typed part (absent part or `U`: no data). */
export function withTypedData(message: Message, part: string | undefined): Parsed {
  if (part === undefined) return message;
  const value = typedToJson(part);
  if (!value.ok) return failure('INVALID_MESSAGE_DATA', message.topic, message);
  if (value.json !== undefined) message.data = value.json;
  return message;
}
