// @ts-expect-error: the generated module ships without type declarations
import * as generated from '@deepstream/protobuf/dist/generated/protobuf.js';
import { getMessage } from '@deepstream/protobuf/dist/src/message-builder.js';
import { TopicMessage } from '@deepstream/protobuf/dist/src/protobuf-map.js';
import { TOPIC } from './actions.ts';
import type { Message } from './message.ts';

// Frames are one varint-delimited protobuf `Message` each. Encoding goes
// through @deepstream/protobuf itself (protobufjs static code), which writes
// every field that is set, including `version: 0` and `isAck: false`: the
// client depends on that field presence.

type Envelope = { topic: number; message: Uint8Array };
type Decoder = { decode(bytes: Uint8Array, length: number): Record<string, unknown> };
type Generated = { Message: { decodeDelimited(data: Uint8Array): Envelope } };
// The generated file is CommonJS whose exports Node's ESM loader cannot
// name: under plain Node (tsx, the real processes) they sit on `default`;
// Vitest's interop also copies them onto the namespace.
const envelope = ((generated as { default?: Generated }).default ?? (generated as Generated))
  .Message;
const decoders = TopicMessage as unknown as Record<number, Decoder | undefined>;

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
  | { ok: true; message: Message }
  | { ok: false; reason: 'MESSAGE_PARSE_ERROR' | 'UNKNOWN_TOPIC'; topic?: number };

/**
 * Decodes one frame. By default only the topics a client may send are
 * accepted; a client-side tool passes `anyTopic` to read server replies
 * (PARSER errors included).
 */
export function decodeFrame(frame: Uint8Array, options: { anyTopic?: boolean } = {}): DecodeResult {
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
  try {
    const inner = decoder.decode(outer.message, outer.message.length);
    // Own enumerable fields only: what was on the wire.
    return { ok: true, message: { ...inner, topic: outer.topic } as unknown as Message };
  } catch {
    return { ok: false, reason: 'MESSAGE_PARSE_ERROR', topic: outer.topic };
  }
}

/** Encodes one message into one frame. Encode once, send to many. */
export function encodeMessage(message: Message): Uint8Array {
  return getMessage(message, false);
}
