import type { Message } from '@hubstream/protocol';
import { denialReplies } from '../permissions/authorize.ts';

// The reply to a message refused by a rate limit. The protocol has no
// "slow down" action; MESSAGE_DENIED is the one every topic has and the
// official client surfaces everywhere: an `error` event (MESSAGE_DENIED),
// a failed write acknowledgement, a rejected RPC, a dropped subscription.
// It carries the original action, name and correlation id like a denial by
// the rules, so the client can tell which message it was; a bulk message
// gets one per name.

/** The replies; none for a topic without them. */
export function rateLimitedReplies(message: Message): Message[] {
  return denialReplies(message, 'denied');
}
