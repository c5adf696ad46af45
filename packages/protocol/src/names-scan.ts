import { TOPIC } from './actions.ts';
import type { Message } from './message.ts';

// Counting a bulk message's names before decoding it. Decoding a frame of
// 50,000 names builds 50,000 strings (tens of milliseconds of one core) only
// for the message to be refused by the names cap; walking the protobuf wire
// format and counting the `names` field's tags costs a fraction of that and
// allocates nothing but the few fields a refusal names.

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

/** What a refusal needs of a message with too many names: its action, correlation id and first name. */
export type NamesOverCap = { count: number; message: Message };

/**
 * The topic message `inner` (the envelope's payload) when it carries more
 * than `max` names, with the fields a refusal names; `null` when it does not
 * (or when the bytes are not well formed: the real decoder reports that).
 */
export function namesOverCap(topic: number, inner: Uint8Array, max: number): NamesOverCap | null {
  const fields = FIELDS[topic];
  if (!fields) return null;
  // Every name takes at least two bytes (its tag and its length), so a
  // message shorter than max + 1 of them cannot be over the cap: most
  // messages are, and are not walked at all.
  if (inner.length < 2 * (max + 1)) return null;
  let pos = 0;
  let count = 0;
  let action = 0;
  let correlationId: string | undefined;
  let firstName: string | undefined;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (pos >= inner.length || shift > 35) throw new RangeError('truncated varint');
      const byte = inner[pos++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
      shift += 7;
    }
  };
  try {
    while (pos < inner.length) {
      const tag = varint();
      const field = Math.floor(tag / 8);
      const wire = tag % 8;
      if (wire === WIRE_VARINT) {
        const value = varint();
        if (field === fields.action) action = value;
      } else if (wire === WIRE_LENGTH) {
        const length = varint();
        const end = pos + length;
        if (end > inner.length) return null;
        if (field === fields.names) {
          count++;
          if (firstName === undefined) firstName = utf8.decode(inner.subarray(pos, end));
        } else if (field === fields.correlationId) {
          correlationId = utf8.decode(inner.subarray(pos, end));
        }
        pos = end;
      } else if (wire === WIRE_FIXED64) {
        pos += 8;
      } else if (wire === WIRE_FIXED32) {
        pos += 4;
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
