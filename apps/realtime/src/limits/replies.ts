import type { Message } from '@hubstream/protocol';
import { denialReply } from '../permissions/authorize.ts';

// The reply to a message refused by a rate limit. The protocol has no
// "slow down" action; MESSAGE_DENIED is the one every topic has and the
// official client surfaces everywhere: an `error` event (MESSAGE_DENIED),
// a failed write acknowledgement, a rejected RPC, a dropped subscription.
// It carries the original action, name and correlation id like a denial by
// the rules, so the client can tell which message it was.

/** The reply, or null for a topic without one (nothing is sent then). */
export function rateLimitedReply(message: Message): Message | null {
  return denialReply(message, message.name, 'denied');
}
