import type { AuthFailureReason } from '@hubstream/auth';
import { TOPIC } from '@hubstream/protocol';

// What this node counted since it started, for its Prometheus metrics. Plain
// numbers on the hot path (one array slot per topic): the metrics read them
// at scrape time. Unlike AppRuntime.usage (per app, reset by every usage
// report), these are per node and only ever grow, and carry the topic. No
// label here grows with the number of apps or users.

const TOPIC_NAMES: Record<number, string> = {
  [TOPIC.CONNECTION]: 'connection',
  [TOPIC.AUTH]: 'auth',
  [TOPIC.EVENT]: 'event',
  [TOPIC.RECORD]: 'record',
  [TOPIC.RPC]: 'rpc',
  [TOPIC.PRESENCE]: 'presence',
  [TOPIC.PARSER]: 'parser',
};

export const topicName = (topic: number): string => TOPIC_NAMES[topic] ?? 'other';

/**
 * Why a login failed, or a connection never logged in: what the strategies
 * say (@hubstream/auth's reasons) and the node's own two.
 */
export type NodeAuthFailureReason =
  | AuthFailureReason
  /** The auth message itself was malformed. */
  | 'invalid_message'
  /** The client gave up no login within the app's unauthenticated timeout. */
  | 'timeout';

/** Which of an app's limits refused something. */
export type LimitName =
  | 'connections'
  | 'messages'
  | 'cross_references'
  /** A bulk message with more names than MESSAGE_MAX_NAMES (connection-caps.ts). */
  | 'names_per_message'
  /** A SUBSCRIBE past CONNECTION_MAX_SUBSCRIPTIONS. */
  | 'subscriptions'
  /** A LISTEN past CONNECTION_MAX_LISTENS. */
  | 'listens'
  /** A PROVIDE past CONNECTION_MAX_PROVIDES. */
  | 'provides'
  /** A REQUEST past CONNECTION_MAX_PENDING_RPCS. */
  | 'pending_rpcs';

/** Why the node closed a connection to protect itself (not a protocol or login failure). */
export type GuardClose =
  /** Its outbound buffer went over CONNECTION_MAX_BUFFERED_BYTES. */
  | 'slow_consumer'
  /** More frames before login than PRE_LOGIN_MAX_QUEUED_MESSAGES. */
  | 'pre_login_queue'
  /** A frame before login larger than PRE_LOGIN_MAX_MESSAGE_BYTES. */
  | 'pre_login_message_size'
  /** Over APP_MAX_UNAUTHENTICATED_CONNECTIONS. */
  | 'unauthenticated_per_app'
  /** Over MAX_UNAUTHENTICATED_CONNECTIONS_PER_ADDRESS. */
  | 'unauthenticated_per_address';

export type ProtocolError = 'message_too_large' | 'parse_error' | 'unknown_topic' | 'text_frame';

class Tally<K extends string> {
  readonly #counts = new Map<K, number>();
  add(key: K): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }
  entries(): [K, number][] {
    return [...this.#counts];
  }
}

class ByTopic {
  readonly #counts: number[] = [];
  add(topic: number): void {
    this.#counts[topic] = (this.#counts[topic] ?? 0) + 1;
  }
  entries(): [string, number][] {
    const out = new Map<string, number>();
    this.#counts.forEach((count, topic) => {
      if (count === undefined) return;
      const name = topicName(topic);
      out.set(name, (out.get(name) ?? 0) + count);
    });
    return [...out];
  }
}

export class NodeCounters {
  /** Messages from logged-in clients, by topic (also those then refused). */
  readonly messagesIn = new ByTopic();
  /** Messages to clients by topic; each copy of a fan-out counts. */
  readonly messagesOut = new ByTopic();
  /** Refused by the app's permission rules, by topic. */
  readonly denied = new ByTopic();
  /** Rules that failed to evaluate (a verdict of 'error'), by topic. */
  readonly permissionErrors = new ByTopic();
  readonly authFailures = new Tally<NodeAuthFailureReason>();
  readonly rateLimited = new Tally<LimitName>();
  readonly protocolErrors = new Tally<ProtocolError>();
  /** Connections the node closed to bound its memory or its unauthenticated sockets. */
  readonly guardCloses = new Tally<GuardClose>();
  /** A handler threw while handling a message (a bug or a failing dependency). */
  handlerErrors = 0;
}
