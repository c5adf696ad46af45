import { TOPIC } from '../../packages/protocol/src/index.ts';

// The load generator's own view of the wire, for the hot path only: one
// frame is a varint length, then a protobuf `Message {topic = 2; message = 3}`
// whose `message` holds the topic's own message (PROTOCOL.md 1.3, 1.4).
// Building and reading the few fields the bench needs by hand keeps the
// generator cheap, so that the server, not the generator, sets the pace.
// Handshakes and acks go through the real codec; `selfCheck` (run.ts) proves
// these frames are byte for byte what @deepstream/protobuf writes.

/** Field numbers the reader looks for, per topic (PROTOCOL.md 1.4: RPC and presence number theirs their own way). */
type Fields = { name: number; data: number; correlationId: number; isError: number };
const COMMON: Fields = { name: 6, data: 2, correlationId: 3, isError: 4 };
const FIELDS: Record<number, Fields> = {
  [TOPIC.RPC]: { ...COMMON, name: 7 },
  [TOPIC.PRESENCE]: { name: 8, data: 4, correlationId: 5, isError: 6 },
};
const RECORD_VERSION = 13;

const encoder = new TextEncoder();

/** Builds one frame from fields written in ascending field order, as protobufjs does. */
export class FrameWriter {
  #buf = Buffer.allocUnsafe(4096);
  #len = 0;

  begin(action: number): this {
    this.#len = 0;
    return this.varint(1, action);
  }

  varint(field: number, value: number): this {
    if (value < 0 || !Number.isInteger(value)) throw new Error('only non-negative integers');
    this.#ensure(16);
    this.#raw((field << 3) | 0);
    this.#raw(value);
    return this;
  }

  bytes(field: number, value: Uint8Array | string): this {
    const bytes = typeof value === 'string' ? encoder.encode(value) : value;
    this.#ensure(bytes.length + 16);
    this.#raw((field << 3) | 2);
    this.#raw(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
    return this;
  }

  /** The finished frame, in a buffer of its own. */
  finish(topic: number): Buffer {
    const inner = this.#len;
    const body = 3 + varintSize(inner) + inner; // tag, topic (< 128), tag, length, inner
    const out = Buffer.allocUnsafe(varintSize(body) + body);
    let at = writeVarint(out, 0, body);
    out[at++] = 0x10;
    out[at++] = topic;
    out[at++] = 0x1a;
    at = writeVarint(out, at, inner);
    this.#buf.copy(out, at, 0, inner);
    return out;
  }

  #raw(value: number) {
    this.#len = writeVarint(this.#buf, this.#len, value);
  }

  #ensure(extra: number) {
    if (this.#len + extra <= this.#buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + extra));
    this.#buf.copy(bigger, 0, 0, this.#len);
    this.#buf = bigger;
  }
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

/**
 * Reads the fields the bench uses from a frame, without allocating. After
 * `read`, byte ranges are [start, end) in the frame; -1 when absent.
 */
export class FrameReader {
  topic = 0;
  action = 0;
  isError = false;
  version = 0;
  nameStart = -1;
  nameEnd = -1;
  dataStart = -1;
  dataEnd = -1;
  cidStart = -1;
  cidEnd = -1;
  #pos = 0;

  read(frame: Uint8Array): boolean {
    this.topic = 0;
    this.action = 0;
    this.isError = false;
    this.version = 0;
    this.nameStart =
      this.nameEnd =
      this.dataStart =
      this.dataEnd =
      this.cidStart =
      this.cidEnd =
        -1;
    this.#pos = 0;
    const end = Math.min(frame.length, this.#varint(frame) + this.#pos);
    let innerStart = -1;
    let innerEnd = -1;
    while (this.#pos < end) {
      const tag = this.#varint(frame);
      if (tag === 0x10) this.topic = this.#varint(frame);
      else if (tag === 0x1a) {
        const length = this.#varint(frame);
        innerStart = this.#pos;
        innerEnd = this.#pos + length;
        this.#pos = innerEnd;
      } else if (!this.#skip(frame, tag & 7)) return false;
    }
    if (innerStart < 0 || innerEnd > end) return false;
    const fields = FIELDS[this.topic] ?? COMMON;
    this.#pos = innerStart;
    while (this.#pos < innerEnd) {
      const tag = this.#varint(frame);
      const field = tag >>> 3;
      const wire = tag & 7;
      if (wire === 0) {
        const value = this.#varint(frame);
        if (field === 1) this.action = value;
        else if (field === fields.isError) this.isError = value !== 0;
        else if (field === RECORD_VERSION && this.topic === TOPIC.RECORD) this.version = value;
      } else if (wire === 2) {
        const length = this.#varint(frame);
        const start = this.#pos;
        this.#pos += length;
        if (field === fields.data) {
          this.dataStart = start;
          this.dataEnd = this.#pos;
        } else if (field === fields.name) {
          this.nameStart = start;
          this.nameEnd = this.#pos;
        } else if (field === fields.correlationId) {
          this.cidStart = start;
          this.cidEnd = this.#pos;
        }
      } else if (!this.#skip(frame, wire)) return false;
    }
    return this.#pos === innerEnd;
  }

  /** A varint as an int32 (negative int32s are ten bytes on the wire; the low 32 bits are kept). */
  #varint(frame: Uint8Array): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = frame[this.#pos++] ?? 0;
      if (shift < 32) result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80 && this.#pos < frame.length);
    return result;
  }

  #skip(frame: Uint8Array, wire: number): boolean {
    if (wire === 0) this.#varint(frame);
    else if (wire === 1) this.#pos += 8;
    else if (wire === 2) this.#pos += this.#varint(frame);
    else if (wire === 5) this.#pos += 4;
    else return false;
    return true;
  }
}

/** Where `readUint` stopped: the index of the first byte that is not a digit. */
export let uintEnd = 0;

/**
 * A non-negative decimal integer written in ASCII at `at`, read up to `end`
 * at most (a field's end: the next field's tag may well be a digit).
 */
export function readUint(frame: Uint8Array, at: number, end = frame.length): number {
  let value = 0;
  let i = at;
  for (;;) {
    const c = i < end ? frame[i] : undefined;
    if (c === undefined || c < 48 || c > 57) break;
    value = value * 10 + (c - 48);
    i++;
  }
  uintEnd = i;
  return value;
}

/** Microseconds on the load generator's monotonic clock (all its sockets share it). */
export const nowMicros = (): number => Math.round(performance.now() * 1000);

/** ASCII bytes of a string the bench wrote itself (names, ids). */
export const ascii = (text: string): Uint8Array => encoder.encode(text);
