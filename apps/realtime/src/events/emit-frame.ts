import { EVENT_ACTION, TOPIC } from '@hubstream/protocol';

// The EMIT frame every subscriber of an event gets, written by hand: the
// generic encoder (@deepstream/protobuf) builds the topic's message, then
// copies it into the outer message, through two protobufjs writers and a
// few objects, and was 8% of a node's CPU relaying one-to-one events. The
// bytes are the same as the generic encoder's (emit-frame.test.ts compares
// them): a varint length, then `Message {topic = 2; message = 3}` whose
// `message` is `EventMessage {action = 1; data = 2; name = 6}`, fields in
// ascending order (PROTOCOL.md 1.3, 1.4). Text-protocol clients get it
// translated like any binary frame.

const TOPIC_TAG = 0x10; // field 2, varint
const MESSAGE_TAG = 0x1a; // field 3, bytes
const ACTION_TAG = 0x08; // field 1, varint
const DATA_TAG = 0x12; // field 2, bytes
const NAME_TAG = 0x32; // field 6, bytes

// The fixed bytes below assume one-byte varints for both.
if (TOPIC.EVENT >= 0x80 || EVENT_ACTION.EMIT >= 0x80) {
  throw new Error('emit-frame: the event topic and EMIT action must be below 128');
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value >>>= 7;
    size++;
  }
  return size;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[at++] = value;
  return at;
}

/** The binary EMIT frame of `name` with `data` (a JSON text, or none). */
export function encodeEmit(name: string, data: string | undefined): Uint8Array {
  const nameBytes = Buffer.byteLength(name, 'utf8');
  const dataBytes = data === undefined ? 0 : Buffer.byteLength(data, 'utf8');
  const dataField = data === undefined ? 0 : 1 + varintSize(dataBytes) + dataBytes;
  const inner = 2 + dataField + 1 + varintSize(nameBytes) + nameBytes;
  const body = 2 + 1 + varintSize(inner) + inner;
  const out = Buffer.allocUnsafe(varintSize(body) + body);
  let at = writeVarint(out, 0, body);
  out[at++] = TOPIC_TAG;
  out[at++] = TOPIC.EVENT;
  out[at++] = MESSAGE_TAG;
  at = writeVarint(out, at, inner);
  out[at++] = ACTION_TAG;
  out[at++] = EVENT_ACTION.EMIT;
  if (data !== undefined) {
    out[at++] = DATA_TAG;
    at = writeVarint(out, at, dataBytes);
    at += out.write(data, at, dataBytes, 'utf8');
  }
  out[at++] = NAME_TAG;
  at = writeVarint(out, at, nameBytes);
  out.write(name, at, nameBytes, 'utf8');
  return out;
}
