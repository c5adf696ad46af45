import { TOPIC } from './actions.ts';
import { type ClientMessage, invalidClientMessage } from './client-message.ts';
import { type Envelope, generated, messageBuilder, protobufMap } from './deepstream-protobuf.ts';
import type { Message } from './message.ts';
import { type NamesOverCap, namesOverCap } from './names-scan.ts';

// Frames are one varint-delimited protobuf `Message` each. Encoding goes
// through @deepstream/protobuf itself (protobufjs static code), which writes
// every field that is set, including `version: 0` and `isAck: false`: the
// client depends on that field presence.

type Decoder = { decode(bytes: Uint8Array, length: number): Record<string, unknown> };
const envelope = generated.Message;
const decoders = protobufMap.TopicMessage as unknown as Record<number, Decoder | undefined>;

/** Topics a client may send; the rest are server-to-server or unused. */
const CLIENT_TOPICS: ReadonlySet<number> = new Set([
  TOPIC.CONNECTION,
  TOPIC.AUTH,
  TOPIC.EVENT,
  TOPIC.RECORD,
  TOPIC.RPC,
  TOPIC.PRESENCE,
]);

export type DecodeResult =
  | { ok: true; message: ClientMessage }
  /**
   * A client message missing a required field or with one of the wrong type
   * (client-message.ts): `reply` refuses it. The message goes through what
   * every message goes through (login, rate limits) and is answered instead
   * of handled.
   */
  | { ok: false; reason: 'INVALID_MESSAGE'; topic: number; message: Message; reply: Message }
  | { ok: false; reason: 'MESSAGE_PARSE_ERROR' | 'UNKNOWN_TOPIC'; topic?: number }
  | { ok: false; reason: 'TOO_MANY_NAMES'; topic: number; overCap: NamesOverCap };

/** What `anyTopic` decodes: any message, server replies included, unchecked. */
export type AnyDecodeResult =
  | { ok: true; message: Message }
  | Exclude<DecodeResult, { ok: true } | { reason: 'INVALID_MESSAGE' }>;

/**
 * Decodes one frame. By default only the topics a client may send are
 * accepted, each message checked as a ClientMessage; a client-side tool
 * passes `anyTopic` to read server replies (PARSER errors included), which
 * are not checked. With `maxNames`, a bulk message of more names
 * is not decoded: its name count is taken from the wire (names-scan.ts).
 */
export function decodeFrame(
  frame: Uint8Array,
  options: { anyTopic: true; maxNames?: number },
): AnyDecodeResult;
export function decodeFrame(
  frame: Uint8Array,
  options?: { anyTopic?: false; maxNames?: number },
): DecodeResult;
export function decodeFrame(
  frame: Uint8Array,
  options: { anyTopic?: boolean; maxNames?: number } = {},
): DecodeResult | AnyDecodeResult {
  let outer: Envelope;
  try {
    outer = envelope.decodeDelimited(frame);
  } catch {
    return { ok: false, reason: 'MESSAGE_PARSE_ERROR' };
  }
  const decoder = decoders[outer.topic];
  if (!decoder || (!options.anyTopic && !CLIENT_TOPICS.has(outer.topic))) {
    return { ok: false, reason: 'UNKNOWN_TOPIC', topic: outer.topic };
  }
  if (options.maxNames !== undefined) {
    const overCap = namesOverCap(outer.topic, outer.message, options.maxNames);
    if (overCap) return { ok: false, reason: 'TOO_MANY_NAMES', topic: outer.topic, overCap };
  }
  let message: Message;
  try {
    const inner = decoder.decode(outer.message, outer.message.length);
    // Own enumerable fields only: what was on the wire.
    message = { ...inner, topic: outer.topic } as unknown as Message;
  } catch {
    return { ok: false, reason: 'MESSAGE_PARSE_ERROR', topic: outer.topic };
  }
  if (options.anyTopic) return { ok: true, message };
  const reply = invalidClientMessage(message);
  if (reply !== null)
    return { ok: false, reason: 'INVALID_MESSAGE', topic: outer.topic, message, reply };
  return { ok: true, message: message as ClientMessage };
}

/** Encodes one message into one frame. Encode once, send to many. */
export function encodeMessage(message: Message): Uint8Array {
  return messageBuilder.getMessage(message, false);
}
