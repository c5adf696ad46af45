import {
  EVENT_ACTION,
  type Message,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
} from '@hubstream/protocol';
import type { Section } from '@hubstream/valve';

// Every action passes Valve before it has any effect. The reply to a refusal
// names the original action, the name and the correlation id, on the topic
// of the message (VALVE.md "Verdict", PROTOCOL.md 3.2).

const DENIAL_ACTIONS: Record<number, { denied: number; error: number; section: Section }> = {
  [TOPIC.EVENT]: {
    denied: EVENT_ACTION.MESSAGE_DENIED,
    error: EVENT_ACTION.MESSAGE_PERMISSION_ERROR,
    section: 'event',
  },
  [TOPIC.RECORD]: {
    denied: RECORD_ACTION.MESSAGE_DENIED,
    error: RECORD_ACTION.MESSAGE_PERMISSION_ERROR,
    section: 'record',
  },
  [TOPIC.RPC]: {
    denied: RPC_ACTION.MESSAGE_DENIED,
    error: RPC_ACTION.MESSAGE_PERMISSION_ERROR,
    section: 'rpc',
  },
  [TOPIC.PRESENCE]: {
    denied: PRESENCE_ACTION.MESSAGE_DENIED,
    error: PRESENCE_ACTION.MESSAGE_PERMISSION_ERROR,
    section: 'presence',
  },
};

/**
 * The refusal of `message` on its own topic (MESSAGE_DENIED, or
 * MESSAGE_PERMISSION_ERROR when a rule failed), naming the original action,
 * `name` and the correlation id; null for a topic without permissions.
 */
export function denialReply(
  message: Message,
  name: string | undefined,
  verdict: 'denied' | 'error',
): Message | null {
  const actions = DENIAL_ACTIONS[message.topic];
  if (actions === undefined) return null;
  return {
    topic: message.topic,
    action: verdict === 'denied' ? actions.denied : actions.error,
    originalAction: message.action,
    ...(name === undefined ? {} : { name }),
    isError: true,
    ...(message.correlationId === undefined ? {} : { correlationId: message.correlationId }),
    ...(message.isWriteAck ? { isWriteAck: true } : {}),
  };
}

/**
 * A refused message's names are answered one by one up to this many; a
 * longer message gets one denial. Encoding a denial costs the node several
 * times what decoding the name cost it, so answering 50,000 names would let
 * one message hold the event loop for seconds.
 */
export const MAX_NAMED_DENIALS = 100;

/**
 * The refusal of a whole message. A bulk message gets one denial per name
 * (the official client undoes each by name, and an event denial without a
 * name would drop every event callback it has), or, past
 * MAX_NAMED_DENIALS names, one naming its first name; any other message one
 * naming `message.name`.
 */
export function denialReplies(message: Message, verdict: 'denied' | 'error'): Message[] {
  const all = message.names && message.names.length > 0 ? message.names : [message.name];
  const names = all.length > MAX_NAMED_DENIALS ? all.slice(0, 1) : all;
  const replies: Message[] = [];
  for (const name of names) {
    const reply = denialReply(message, name, verdict);
    if (reply) replies.push(reply);
  }
  return replies;
}

export const sectionOf = (topic: number): Section => DENIAL_ACTIONS[topic]!.section;

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
