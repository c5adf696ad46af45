// Listening (active providers) across the cluster, per app and topic: which
// names have subscribers on which nodes, which connections listen with which
// pattern, which name has a provider, and which name is being offered right
// now. Realtime nodes decide who is offered what; this registry makes the
// transitions atomic (first subscriber, last subscriber, one provider per
// name, one offer per name at a time), so two nodes never both act on them.
//
// Providers and offers are held by opaque tokens their node makes up; a
// token names one provider (or one offer), so a stale message about an
// earlier one never ends a newer one.

export type ListenTopic = 'event' | 'record';

export type ListenerEntry = { node: string; connection: string; pattern: string };

/** What a name held when its last subscriber left (or its last node died). */
export type ListenGone = {
  appId: string;
  topic: ListenTopic;
  name: string;
  /** The provider's token, when it had one. */
  provider: string | null;
  /** The token of the offer in progress, when there was one. */
  offer: string | null;
};

export interface ListenerRegistry {
  /**
   * This node got its first subscriber of the name. `first`: no node had
   * one before. When first, with no provider and some listener in the topic,
   * the registry records an offer under `offerToken` and answers
   * `offer: true`: this node asks the listeners.
   */
  subscribe(
    appId: string,
    topic: ListenTopic,
    name: string,
    offerToken: string,
  ): Promise<{ first: boolean; provided: boolean; offer: boolean }>;
  /**
   * subscribe() for many names at once (the names a node got its first
   * subscriber of in one turn): one registry call, no promise or result
   * object per name. Returns SUBSCRIBE_RESULT_WIDTH numbers per name, in the
   * order of `names`: first, provided, offer (1 or 0). The offer of the
   * name at index `i` is recorded under batchOfferToken(offerTokenBase, i);
   * an empty base records none.
   */
  subscribeMany(
    appId: string,
    topic: ListenTopic,
    names: readonly string[],
    offerTokenBase: string,
  ): Promise<readonly number[]>;
  /**
   * This node lost its last subscriber of the name. When it was the last
   * anywhere (`last`), the provider and the offer are dropped and returned.
   */
  unsubscribe(
    appId: string,
    topic: ListenTopic,
    name: string,
  ): Promise<{ last: boolean; provider: string | null; offer: string | null }>;
  /**
   * unsubscribe() for many names at once (the names a node lost its last
   * subscriber of together: a connection with thousands closing): one
   * registry call, no promise or result object per name. Returns
   * UNSUBSCRIBE_RESULT_WIDTH values per name, in the order of `names`: last
   * (1 or 0), the provider's token and the offer's token ('' for none).
   */
  unsubscribeMany(
    appId: string,
    topic: ListenTopic,
    names: readonly string[],
  ): Promise<readonly (number | string)[]>;
  addListener(
    appId: string,
    topic: ListenTopic,
    connection: string,
    pattern: string,
  ): Promise<void>;
  removeListener(
    appId: string,
    topic: ListenTopic,
    connection: string,
    pattern: string,
  ): Promise<void>;
  /** Every listener of the topic on every node, in the order they registered. */
  listeners(appId: string, topic: ListenTopic): Promise<ListenerEntry[]>;
  /** Names with subscribers somewhere, no provider and no offer in progress. */
  unprovided(appId: string, topic: ListenTopic): Promise<string[]>;
  /** The provider token of each name, or null. */
  providers(
    appId: string,
    topic: ListenTopic,
    names: readonly string[],
  ): Promise<(string | null)[]>;
  /** Takes the offer of a name that has subscribers, no provider and no offer. */
  startOffer(appId: string, topic: ListenTopic, name: string, token: string): Promise<boolean>;
  /** Ends this node's offer (nothing if another one replaced it). */
  endOffer(appId: string, topic: ListenTopic, name: string, token: string): Promise<void>;
  /**
   * A listener on this node accepted: it becomes the provider if the name
   * still has subscribers and no provider. Ends the offer `offerToken`.
   */
  claim(
    appId: string,
    topic: ListenTopic,
    name: string,
    token: string,
    offerToken: string,
  ): Promise<boolean>;
  /**
   * This node's provider stops. `released`: it was the provider. `reoffer`:
   * the name still has subscribers and listeners, and an offer is recorded
   * under `offerToken` for this node to run (pass '' for none).
   */
  release(
    appId: string,
    topic: ListenTopic,
    name: string,
    token: string,
    offerToken: string,
  ): Promise<{ released: boolean; reoffer: boolean }>;
  /**
   * Removes everything a (dead) node registered: its subscriptions,
   * listeners, providers and offers. Returns the names that lost their last
   * subscriber with it. Idempotent.
   */
  removeNode(nodeId: string): Promise<ListenGone[]>;
  /**
   * Writes this node's own registrations back (after it was wrongly declared
   * dead, or after Redis came back maybe empty); then calls the `onRestored`
   * callbacks, since offers in flight may have been lost.
   */
  restore(): Promise<void>;
  /** Called after each restore; returns the function that unsubscribes. */
  onRestored(callback: () => void): () => void;
  close(): Promise<void>;
}
