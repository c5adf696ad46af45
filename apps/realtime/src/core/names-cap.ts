import type { Message } from '@hubstream/protocol';

/** Stand-ins for bulk messages the connection refused to decode (names-scan.ts): first name only. */
const OVER_NAMES_CAP = new WeakSet<Message>();

/** Marks `message` as the stand-in of a bulk message over the names cap, refused in its turn. */
export function markOverNamesCap(message: Message): void {
  OVER_NAMES_CAP.add(message);
}

/** Whether `message` is such a stand-in. */
export function markedOverNamesCap(message: Message): boolean {
  return OVER_NAMES_CAP.has(message);
}
