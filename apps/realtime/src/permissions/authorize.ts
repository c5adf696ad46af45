import {
  EVENT_ACTION,
  type Message,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
} from '@hubstream/protocol';
import type { Section, ValveLoaders } from '@hubstream/valve';
import type { Connection } from '../core/connection.ts';

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

export type PermissionQuestion = {
  /** Protocol action (number) or rule type. Defaults to the message's action. */
  action?: string | number;
  name?: string | undefined;
  data?: unknown;
  oldData?: unknown;
  path?: string | undefined;
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

export function sendDenial(
  connection: Connection,
  message: Message,
  name: string | undefined,
  verdict: 'denied' | 'error',
): void {
  // Only the four topics with rules are ever asked about.
  const reply = denialReply(message, name, verdict)!;
  connection.app.usage.denied++;
  const counters = connection.app.node.counters;
  (verdict === 'denied' ? counters.denied : counters.permissionErrors).add(message.topic);
  connection.send(reply);
}

/**
 * Asks the app's rules; on refusal sends the denial and returns false. An
 * app without rules denies everything. Synchronous when no record must be
 * loaded, so the hot path allocates no promise.
 */
export function authorize(
  connection: Connection,
  message: Message,
  question: PermissionQuestion,
  loaders?: ValveLoaders,
): boolean | Promise<boolean> {
  const verdict = connection.app.check(connection, message.topic, question, loaders);
  if (verdict === 'allowed') return true;
  if (verdict === 'denied' || verdict === 'error') {
    sendDenial(connection, message, question.name, verdict);
    return false;
  }
  return verdict.then((v) => {
    if (v === 'allowed') return true;
    sendDenial(connection, message, question.name, v);
    return false;
  });
}

/**
 * Names a bulk message has checked per turn of the event loop. A rule costs
 * tens of microseconds per name: a 1,000-name SUBSCRIBE checked in one go
 * would hold every other connection of the node for tens of milliseconds.
 */
export const NAMES_CHECKED_PER_TURN = 100;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Bulk messages are checked name by name; the allowed names are returned.
 * Past NAMES_CHECKED_PER_TURN names the event loop turns between groups:
 * callers look at `connection.isOpen` afterwards, as after a record load.
 */
export async function authorizeNames(
  connection: Connection,
  message: Message,
  names: readonly string[],
  question: Omit<PermissionQuestion, 'name'> = {},
): Promise<string[]> {
  const allowed: string[] = [];
  for (let i = 0; i < names.length; i++) {
    if (i > 0 && i % NAMES_CHECKED_PER_TURN === 0) {
      await nextTurn();
      if (!connection.isOpen) return allowed;
    }
    const name = names[i]!;
    const verdict = authorize(connection, message, { ...question, name });
    if (verdict === true || (verdict !== false && (await verdict))) allowed.push(name);
  }
  return allowed;
}

export const sectionOf = (topic: number): Section => DENIAL_ACTIONS[topic]!.section;
