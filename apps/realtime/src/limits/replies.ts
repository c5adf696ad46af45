import {
  EVENT_ACTION,
  type Message,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
} from '@hubstream/protocol';

// The reply to a message refused by a rate limit. The protocol has no
// "slow down" action; MESSAGE_DENIED is the one every topic has and the
// official client surfaces everywhere: an `error` event (MESSAGE_DENIED),
// a failed write acknowledgement, a rejected RPC, a dropped subscription.
// It carries the original action, name and correlation id like a denial by
// the rules, so the client can tell which message it was.

const DENIED: Partial<Record<number, number>> = {
  [TOPIC.EVENT]: EVENT_ACTION.MESSAGE_DENIED,
  [TOPIC.RECORD]: RECORD_ACTION.MESSAGE_DENIED,
  [TOPIC.RPC]: RPC_ACTION.MESSAGE_DENIED,
  [TOPIC.PRESENCE]: PRESENCE_ACTION.MESSAGE_DENIED,
};

/** The reply, or null for a topic without one (nothing is sent then). */
export function rateLimitedReply(message: Message): Message | null {
  const action = DENIED[message.topic];
  if (action === undefined) return null;
  return {
    topic: message.topic,
    action,
    originalAction: message.action,
    ...(message.name === undefined ? {} : { name: message.name }),
    isError: true,
    ...(message.correlationId === undefined ? {} : { correlationId: message.correlationId }),
    ...(message.isWriteAck ? { isWriteAck: true } : {}),
  };
}
