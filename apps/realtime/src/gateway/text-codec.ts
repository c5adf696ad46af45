import {
  CONNECTION_ACTION,
  DEFAULT_MAX_TEXT_MESSAGES,
  decodeFrame,
  decodeTextFrame,
  EVENT_ACTION,
  encodeTextMessage,
  type Message,
  RECORD_ACTION,
  TEXT_MESSAGE_SEPARATOR,
  TEXT_PART_SEPARATOR,
  TextConnectionState,
  TOPIC,
} from '@hubstream/protocol';
import type { FrameCodec, ReceivedMessage } from '../core/client-socket.ts';
import type { Connection } from '../core/connection.ts';

// The deepstream.io-client-js 2.x client (deepstreamHub's) on the same URL
// as the v7 client (PROTOCOL.md 10.4). Every socket is greeted with the text
// challenge (C|CH), which a v7 client ignores; a first frame of text that
// starts with the CONNECTION topic makes the connection a text one. From
// then on its frames are decoded here into the messages the protobuf codec
// produces, and everything the core sends it is written back as text: the
// topic handlers never know which client they serve.

const RS_BYTE = TEXT_MESSAGE_SEPARATOR.charCodeAt(0);

/** The server's text challenge, sent to every new socket before its first frame. */
export const TEXT_CHALLENGE = Buffer.from(`C${TEXT_PART_SEPARATOR}CH${TEXT_MESSAGE_SEPARATOR}`);

/** The text refusal of a challenge (the 2.x client stops for good, no reconnect). */
export const TEXT_REJECT = Buffer.from(`C${TEXT_PART_SEPARATOR}REJ${TEXT_MESSAGE_SEPARATOR}`);

const TEXT_PREFIX = `C${TEXT_PART_SEPARATOR}`;

/** Whether a first text frame is the 2.x client's (its challenge response or a bare pong). */
export function isTextClientFrame(frame: Buffer): boolean {
  return (
    frame.length >= 2 &&
    frame[0] === TEXT_PREFIX.charCodeAt(0) &&
    frame[1] === TEXT_PREFIX.charCodeAt(1)
  );
}

/**
 * Fan-out frames already written as text, by the protobuf frame they came
 * from: an event to a thousand 2.x subscribers is decoded and encoded once.
 * A WeakMap: an entry lives as long as the fan-out holds its frame.
 */
const translated = new WeakMap<Uint8Array, Buffer | null>();

/** A message whose text form depends on what the connection asked (has or head; state.ts). */
function needsState(message: Message): boolean {
  return (
    message.topic === TOPIC.RECORD &&
    (message.action === RECORD_ACTION.HEAD_RESPONSE ||
      message.originalAction === RECORD_ACTION.HEAD)
  );
}

const U = 'U'.charCodeAt(0);
const P = 'P'.charCodeAt(0);
const N = 'N'.charCodeAt(0);
const US_BYTE = TEXT_PART_SEPARATOR.charCodeAt(0);

/** U|PNJ|user or U|PNL|user (byte by byte: this runs for every fan-out delivery). */
function isAnnouncement(text: Buffer): boolean {
  return text[0] === U && text[1] === US_BYTE && text[2] === P && text[3] === N;
}

const PING: Message = { topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING };

/** A varint of at most four bytes at `at` (frames stay far below 256 MB); -1 past the end. */
function readVarint(frame: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    const byte = frame[at++];
    if (byte === undefined) return [-1, at];
    value |= (byte & 0x7f) << shift;
    if (byte < 0x80) return [value, at];
  }
  return [-1, at];
}

/**
 * The EMIT frame of a fan-out, read by hand when laid out exactly as
 * events/emit-frame.ts writes it (topic, action, data if any, name, nothing
 * else); undefined for any other frame, which goes through decodeFrame. A
 * one-to-one event is translated for one 2.x subscriber, so nothing is
 * shared, and protobufjs's decode was the largest part of the translation.
 */
export function readEmitFrame(frame: Uint8Array): Message | undefined {
  const [body, at] = readVarint(frame, 0);
  if (body < 0 || at + body !== frame.length) return undefined;
  if (frame[at] !== 0x10 || frame[at + 1] !== TOPIC.EVENT || frame[at + 2] !== 0x1a) {
    return undefined;
  }
  const [inner, start] = readVarint(frame, at + 3);
  if (inner < 0 || start + inner !== frame.length) return undefined;
  if (frame[start] !== 0x08 || frame[start + 1] !== EVENT_ACTION.EMIT) return undefined;
  const bytes = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  let pos = start + 2;
  let data: string | undefined;
  if (frame[pos] === 0x12) {
    const [length, from] = readVarint(frame, pos + 1);
    if (length < 0 || from + length > frame.length) return undefined;
    data = bytes.toString('utf8', from, from + length);
    pos = from + length;
  }
  if (frame[pos] !== 0x32) return undefined;
  const [length, from] = readVarint(frame, pos + 1);
  if (length < 0 || from + length !== frame.length) return undefined;
  const message: Message = {
    topic: TOPIC.EVENT,
    action: EVENT_ACTION.EMIT,
    name: bytes.toString('utf8', from, from + length),
  };
  if (data !== undefined) message.data = data;
  return message;
}

/** One text connection's codec: frames in, messages out, and the reverse. */
export class TextCodec implements FrameCodec {
  readonly #state = new TextConnectionState();

  encode(message: Message): Buffer | null {
    const text = encodeTextMessage(message, this.#state);
    return text === null ? null : Buffer.from(text);
  }

  translate(frame: Uint8Array): Buffer | null {
    let text = translated.get(frame);
    if (text === undefined) {
      let message = readEmitFrame(frame);
      if (message === undefined) {
        const decoded = decodeFrame(frame, { anyTopic: true });
        if (!decoded.ok) return null;
        message = decoded.message;
        if (needsState(message)) return this.encode(message);
      }
      text = this.encode(message);
      translated.set(frame, text);
    }
    return text !== null && this.#repeatsAnnouncement(text) ? null : text;
  }

  /**
   * A user's join or leave reaches a connection subscribed to that user and
   * to everyone twice (PRESENCE_JOIN and PRESENCE_JOIN_ALL, one after the
   * other); both are U|PNJ|user in text, and the 2.x client fires its
   * callbacks for each. The second is dropped.
   */
  #repeatsAnnouncement(text: Buffer): boolean {
    if (!isAnnouncement(text)) return false;
    const previous = this.#announced;
    if (previous === null) queueMicrotask(() => (this.#announced = null));
    this.#announced = text;
    return previous?.equals(text) === true;
  }

  #announced: Buffer | null = null;

  /** The server's heartbeat: the 2.x client answers C|PO, and closes after two it did not get. */
  ping(connection: Connection): void {
    connection.send(PING);
  }

  /**
   * One text frame: each message is checked and handled in order as if it
   * had come alone. A frame of more messages than the 2.x client puts in one
   * (maxMessagesPerPacket, 100) is refused whole, before any is split off.
   */
  receive(frame: Buffer, connection: Connection): void {
    let count = 0;
    for (let at = frame.indexOf(RS_BYTE); at !== -1; at = frame.indexOf(RS_BYTE, at + 1)) {
      if (++count > DEFAULT_MAX_TEXT_MESSAGES) break;
    }
    if (frame.length > 0 && frame[frame.length - 1] !== RS_BYTE) count++;
    if (count > DEFAULT_MAX_TEXT_MESSAGES) {
      connection.receiveMessage({ ok: false, reason: 'TOO_MANY_MESSAGES' }, frame.length);
      return;
    }
    let start = 0;
    while (start < frame.length && connection.state !== 'closed') {
      let end = frame.indexOf(RS_BYTE, start);
      if (end === -1) end = frame.length;
      if (end > start) this.#one(frame, start, end, connection);
      start = end + 1;
    }
  }

  #one(frame: Buffer, start: number, end: number, connection: Connection): void {
    const bytes = end - start;
    // Oversized: refused by its size alone (receiveMessage), before it is turned into a string.
    const max = connection.isOpen
      ? connection.app.maxMessageBytes
      : Math.min(connection.app.settings.preLoginMaxMessageBytes, connection.app.maxMessageBytes);
    if (bytes > max) {
      connection.receiveMessage({ ok: false, reason: 'MESSAGE_TOO_LARGE' }, bytes);
      return;
    }
    const maxNames = connection.decodeMaxNames;
    const [result] = decodeTextFrame(frame.toString('utf8', start, end), {
      maxMessages: 1,
      state: this.#state,
      ...(maxNames === undefined ? {} : { maxNames }),
    });
    if (result === undefined) return;
    const received: ReceivedMessage = result.ok
      ? result
      : {
          ok: false,
          reason: result.reason,
          overCap: result.overCap,
          message: result.message,
          reply: result.reply,
        };
    connection.receiveMessage(received, bytes);
  }
}
