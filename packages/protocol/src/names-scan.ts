import { TOPIC } from './actions.ts';
import type { Message } from './message.ts';

// Counting a bulk message's names before decoding it. Decoding a frame of
// 50,000 names builds 50,000 strings (tens of milliseconds of one core) only
// for the message to be refused by the names cap; walking the protobuf wire
// format and counting the `names` field's tags costs a fraction of that and
// allocates nothing but the few fields a refusal names. The walk stops at
// the first name over the cap, so refusing a message costs what the cap
// allows, however large the message: what follows that name is never read
// (nor checked; the message is refused whole either way). Encoders write
// fields in field-number order, so a correlation id comes before the names.

/** Field numbers of `action`, `correlationId` and `names` per topic (deepstream's .proto). */
const FIELDS: Readonly<Record<number, { action: number; correlationId: number; names: number }>> = {
  [TOPIC.EVENT]: { action: 1, correlationId: 3, names: 7 },
  [TOPIC.RECORD]: { action: 1, correlationId: 3, names: 7 },
  [TOPIC.RPC]: { action: 1, correlationId: 3, names: 6 },
  [TOPIC.PRESENCE]: { action: 1, correlationId: 5, names: 9 },
};

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextDecoder();

/** Where `varint` reads next: the scan is synchronous, so one cursor serves every call. */
let cursor = 0;

/** The varint at `cursor` (advanced past it); throws when it is cut short or too long. */
function varint(bytes: Uint8Array): number {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (cursor >= bytes.length || shift > 35) throw new RangeError('truncated varint');
    const byte = bytes[cursor++] as number;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return value;
    shift += 7;
  }
}

/**
 * What a refusal needs of a message with too many names: its action,
 * correlation id (when it came before the names over the cap) and first
 * name; `count` is how many names were counted, at least `max + 1` (this
 * walk stops there; the text protocol's decoder counts them all).
 */
export type NamesOverCap = { count: number; message: Message };

/**
 * The topic message `inner` (the envelope's payload) when it carries more
 * than `max` names, with the fields a refusal names; `null` when it does not
 * (or when the bytes before name `max + 1` are not well formed: the real
 * decoder reports that).
 */
export function namesOverCap(topic: number, inner: Uint8Array, max: number): NamesOverCap | null {
  const fields = FIELDS[topic];
  if (!fields) return null;
  // Every name takes at least two bytes (its tag and its length), so a
  // message shorter than max + 1 of them cannot be over the cap: most
  // messages are, and are not walked at all.
  if (inner.length < 2 * (max + 1)) return null;
  let count = 0;
  let action = 0;
  let correlationId: string | undefined;
  let firstName: string | undefined;
  const length = inner.length;
  cursor = 0;
  try {
    while (cursor < length) {
      // One-byte tags and lengths (every name under 128 bytes) inline: this
      // loop runs once per name of a hostile message.
      let tag = inner[cursor] as number;
      if (tag < 0x80) cursor++;
      else tag = varint(inner);
      const wire = tag & 7;
      const field = (tag - wire) / 8;
      if (wire === WIRE_LENGTH) {
        if (cursor >= length) return null;
        let size = inner[cursor] as number;
        if (size < 0x80) cursor++;
        else size = varint(inner);
        const end = cursor + size;
        if (end > length) return null;
        if (field === fields.names) {
          count++;
          if (firstName === undefined) firstName = utf8.decode(inner.subarray(cursor, end));
          if (count > max) break;
        } else if (field === fields.correlationId) {
          correlationId = utf8.decode(inner.subarray(cursor, end));
        }
        cursor = end;
      } else if (wire === WIRE_VARINT) {
        const value = varint(inner);
        if (field === fields.action) action = value;
      } else if (wire === WIRE_FIXED64) {
        cursor += 8;
      } else if (wire === WIRE_FIXED32) {
        cursor += 4;
      } else {
        return null;
      }
    }
  } catch {
    return null;
  }
  if (count <= max || firstName === undefined) return null;
  const message: Message = { topic: topic as TOPIC, action, names: [firstName] };
  if (correlationId !== undefined) message.correlationId = correlationId;
  return { count, message };
}
