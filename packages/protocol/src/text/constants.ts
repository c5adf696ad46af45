import { TOPIC } from '../actions.ts';

// The text protocol of deepstream.io-client-js 2.x (PROTOCOL.md 10.3): a
// frame holds messages ended by the record separator, a message holds parts
// split by the unit separator: TOPIC, ACTION, then the action's fields.

/** Ends a message (ASCII 30). */
export const RS = '\x1e';
/** Separates the parts of a message (ASCII 31). */
export const US = '\x1f';

/** Topics a 2.x client sends, by their text (a Map: a part like `constructor` finds nothing). */
export const TEXT_TOPIC: ReadonlyMap<string, TOPIC> = new Map([
  ['C', TOPIC.CONNECTION],
  ['A', TOPIC.AUTH],
  ['E', TOPIC.EVENT],
  ['R', TOPIC.RECORD],
  ['P', TOPIC.RPC],
  ['U', TOPIC.PRESENCE],
]);

/** True when `text` holds a separator, so it cannot be one part of a message. */
export function hasSeparator(text: string): boolean {
  return text.includes(RS) || text.includes(US);
}
