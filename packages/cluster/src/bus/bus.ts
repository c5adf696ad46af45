// The cluster bus carries messages between the processes of a deployment
// (control plane, realtime nodes, workers). Every message belongs to one app
// and carries the id of the node that sent it. The local implementation
// serves the single-process mode; the Redis one (cluster issue) delivers
// locally the same way and drops its own echoes from Redis, so subscribers
// see each message exactly once on every node.

import type { ConsoleTap, ConsoleWatch } from './console-topics.ts';

/**
 * The app id under which cluster-wide messages travel (they are about nodes,
 * not about one app). Real app ids never start with an underscore.
 */
export const CLUSTER_SCOPE = '_cluster';

/** Every message the bus carries, by topic. */
export type BusTopics = {
  /** A dashboard console watches an app (console-topics.ts); nodes report while its lease holds. */
  'console.watch': ConsoleWatch;
  /** What a realtime node saw in a watched app, for the control plane's consoles. */
  'console.tap': ConsoleTap;
  /**
   * An app's configuration changed: realtime nodes drop their cached copy.
   * `version` is the app's config version after the change (a decimal
   * string; absent for a deleted app): a node that loaded the app at that
   * version or a later one has nothing to reload.
   */
  'app.changed': { what: 'auth' | 'permissions' | 'limits' | 'deleted'; version?: string };
  /** An event emitted on another node, for this node's subscribers. */
  'event.emit': { name: string; data?: string };
  /** A user's first connection on a node opened, or its last one closed. */
  'presence.changed': { user: string; online: boolean };
  /**
   * An RPC (`id`, unique on the requester's node) offered to the node that
   * was sent it: hand it to one of your untried local providers, under the
   * requestor's correlation id `cid` when it is free there.
   */
  'rpc.request': { id: string; cid: string; name: string; data?: string };
  /**
   * The provider's node to the requester's node about RPC `id`: a provider's
   * ACCEPT, RESPONSE or REQUEST_ERROR (RPC_ACTION), relayed; REQUEST when a
   * provider rejected or left and it went to another provider there (the
   * clocks restart); NO_RPC_PROVIDER when none is left to try there.
   */
  'rpc.reply': { id: string; action: number; data?: string };
  /** The requester's node ended RPC `id` without its answer: drop it, and any late reply. */
  'rpc.cancel': { id: string };
  /**
   * From the node running offer `offer` for `name` to the node of listener
   * `connection`: send it SUBSCRIPTION_FOR_PATTERN_FOUND (attempt `attempt`),
   * or with `cancel`, forget that attempt (it timed out).
   */
  'listen.offer': {
    topic: 'event' | 'record';
    name: string;
    pattern: string;
    connection: string;
    offer: string;
    attempt: number;
    cancel?: boolean;
  };
  /** The listener's node back to the offering node: accepted (offer over) or rejected (next). */
  'listen.answer': {
    topic: 'event' | 'record';
    name: string;
    offer: string;
    attempt: number;
    accepted: boolean;
  };
  /** A name got (or lost) its provider: subscribers everywhere learn it (records). */
  'listen.provider': { topic: 'event' | 'record'; name: string; provided: boolean };
  /**
   * A name lost its last subscriber in the cluster: the node holding provider
   * token `provider` tells it SUBSCRIPTION_FOR_PATTERN_REMOVED; the node
   * running offer `offer` stops it.
   */
  'listen.gone': { topic: 'event' | 'record'; name: string; provider?: string; offer?: string };
  /**
   * Published under CLUSTER_SCOPE by the node that found `node` dead and
   * removed its registrations from the shared state: every node drops what
   * it routed there (RPCs in flight, listen offers) and re-offers.
   */
  'node.dead': { node: string };
};

export type BusTopic = keyof BusTopics;

export type BusEnvelope<T extends BusTopic = BusTopic> = {
  appId: string;
  topic: T;
  payload: BusTopics[T];
  origin: string;
  /** Set on a message meant for one node only (`sendTo`); the others drop it. */
  to?: string;
};

export type BusHandler<T extends BusTopic> = (message: BusEnvelope<T>) => void;

export interface ClusterBus {
  readonly nodeId: string;
  /** False when this process is the whole cluster: callers may skip publishRemote's work. */
  readonly isClustered: boolean;
  /** To every node, this one included. */
  publish<T extends BusTopic>(appId: string, topic: T, payload: BusTopics[T]): Promise<void>;
  /**
   * To every other node only: for work this node has already done locally
   * (an emit it delivered to its own subscribers). Nothing when alone.
   */
  publishRemote<T extends BusTopic>(appId: string, topic: T, payload: BusTopics[T]): Promise<void>;
  /**
   * To one node only (an RPC or a listen offer routed to where a provider
   * is). Nothing when that node is unknown or gone: callers own timeouts.
   */
  sendTo<T extends BusTopic>(
    nodeId: string,
    appId: string,
    topic: T,
    payload: BusTopics[T],
  ): Promise<void>;
  /** Returns the function that unsubscribes. */
  subscribe<T extends BusTopic>(topic: T, handler: BusHandler<T>): () => void;
  /**
   * Calls `listener` each time this node hears the cluster again after a
   * break (its subscription reconnected): messages sent meanwhile may be
   * lost, so cached state should be re-read. Never called by a bus that
   * cannot lose messages (the local one). Returns the function that stops.
   */
  onResubscribed(listener: () => void): () => void;
  close(): Promise<void>;
}
