import { invalidClientMessage, type Message } from '@hubstream/protocol';
import type { ReceivedMessage } from './client-socket.ts';
import { markOverNamesCap } from './names-cap.ts';

// Messages the codecs refused but that still take their turn: they pass the
// login's quarantine and the rate limits like any other, and are then
// answered instead of handled. A bulk message over the names cap goes on as a
// stand-in (its first name, names-cap.ts); a client message missing a field
// its action requires (@hubstream/protocol's ClientMessage) with the reply
// that refuses it.

const REFUSALS = new WeakMap<Message, Message>();

/**
 * The message a refused decode still hands on, marked; undefined when the
 * failure is answered at once (a parse error, an unknown topic).
 */
export function markedStandIn(decoded: ReceivedMessage & { ok: false }): Message | undefined {
  if (decoded.reason === 'INVALID_MESSAGE' && decoded.message && decoded.reply) {
    REFUSALS.set(decoded.message, decoded.reply);
    return decoded.message;
  }
  if (decoded.reason !== 'TOO_MANY_NAMES' || !decoded.overCap) return undefined;
  const standIn = decoded.overCap.message;
  markOverNamesCap(standIn);
  // Its first name is checked as the whole message's would have been.
  const reply = invalidClientMessage(standIn);
  if (reply !== null) REFUSALS.set(standIn, reply);
  return standIn;
}

/** The reply refusing a marked message; undefined for a message to handle. */
export const refusalOf = (message: Message): Message | undefined => REFUSALS.get(message);
