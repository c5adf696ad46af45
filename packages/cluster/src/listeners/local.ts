import type {
  ListenerEntry,
  ListenerRegistry,
  ListenGone,
  ListenTopic,
} from './listener-registry.ts';
import { batchOfferToken, listenerKey } from './members.ts';

type Held = { token: string; node: string };
type Scope = {
  /**
   * name -> its nodes: the one node id while there is one (a process of its
   * own, the standalone: no Set per subscribed name), a Set from the second.
   */
  subs: Map<string, string | Set<string>>;
  listeners: Map<string, ListenerEntry>; // node\0connection\0pattern
  providers: Map<string, Held>;
  offers: Map<string, Held>;
};

const hasNode = (nodes: string | Set<string>, node: string) =>
  typeof nodes === 'string' ? nodes === node : nodes.has(node);

/** The cluster's listening state in memory; nodes that share one see one cluster. */
export class LocalListenerState {
  readonly scopes = new Map<string, Scope>();

  scope(appId: string, topic: ListenTopic): Scope {
    const key = `${appId}\u0000${topic}`;
    let scope = this.scopes.get(key);
    if (!scope) {
      scope = { subs: new Map(), listeners: new Map(), providers: new Map(), offers: new Map() };
      this.scopes.set(key, scope);
    }
    return scope;
  }
}

/** One process (or nodes sharing one `state`, for tests). */
export class LocalListenerRegistry implements ListenerRegistry {
  readonly #nodeId: string;
  readonly #state: LocalListenerState;

  constructor(options: { nodeId: string; state?: LocalListenerState }) {
    this.#nodeId = options.nodeId;
    this.#state = options.state ?? new LocalListenerState();
  }

  async subscribe(appId: string, topic: ListenTopic, name: string, offerToken: string) {
    const scope = this.#state.scope(appId, topic);
    const result = this.#subscribe(scope, name, offerToken !== '');
    if (result & 4) scope.offers.set(name, { token: offerToken, node: this.#nodeId });
    return { first: (result & 1) !== 0, provided: (result & 2) !== 0, offer: (result & 4) !== 0 };
  }

  /** Bits: 1 first, 2 provided, 4 offer (for the caller to record under its token). */
  #subscribe(scope: Scope, name: string, mayOffer: boolean): number {
    const nodes = scope.subs.get(name);
    if (nodes !== undefined && hasNode(nodes, this.#nodeId))
      return scope.providers.has(name) ? 2 : 0;
    const first = nodes === undefined;
    if (nodes === undefined) scope.subs.set(name, this.#nodeId);
    else if (typeof nodes === 'string') scope.subs.set(name, new Set([nodes, this.#nodeId]));
    else nodes.add(this.#nodeId);
    const provided = scope.providers.has(name);
    const offer =
      first && mayOffer && !provided && scope.listeners.size > 0 && !scope.offers.has(name);
    return (first ? 1 : 0) | (provided ? 2 : 0) | (offer ? 4 : 0);
  }

  async subscribeMany(
    appId: string,
    topic: ListenTopic,
    names: readonly string[],
    offerTokenBase: string,
  ): Promise<readonly number[]> {
    // One pass, no promise or result object per name (the standalone's registry).
    const scope = this.#state.scope(appId, topic);
    const out: number[] = [];
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const result = this.#subscribe(scope, name, offerTokenBase !== '');
      if (result & 4) {
        const token = batchOfferToken(offerTokenBase, i);
        scope.offers.set(name, { token, node: this.#nodeId });
      }
      out.push(result & 1, (result >> 1) & 1, (result >> 2) & 1);
    }
    return out;
  }

  async unsubscribe(appId: string, topic: ListenTopic, name: string) {
    return this.#unsubscribe(this.#state.scope(appId, topic), name, this.#nodeId);
  }

  async unsubscribeMany(
    appId: string,
    topic: ListenTopic,
    names: readonly string[],
  ): Promise<readonly (number | string)[]> {
    const scope = this.#state.scope(appId, topic);
    const out: (number | string)[] = [];
    for (const name of names) {
      const { last, provider, offer } = this.#unsubscribe(scope, name, this.#nodeId);
      out.push(last ? 1 : 0, provider ?? '', offer ?? '');
    }
    return out;
  }

  #unsubscribe(scope: Scope, name: string, node: string) {
    const nodes = scope.subs.get(name);
    if (nodes === undefined || !hasNode(nodes, node))
      return { last: false, provider: null, offer: null };
    if (typeof nodes !== 'string') {
      nodes.delete(node);
      if (nodes.size > 0) return { last: false, provider: null, offer: null };
    }
    scope.subs.delete(name);
    const provider = scope.providers.get(name)?.token ?? null;
    const offer = scope.offers.get(name)?.token ?? null;
    scope.providers.delete(name);
    scope.offers.delete(name);
    return { last: true, provider, offer };
  }

  async addListener(appId: string, topic: ListenTopic, connection: string, pattern: string) {
    const entry = { node: this.#nodeId, connection, pattern };
    this.#state
      .scope(appId, topic)
      .listeners.set(listenerKey(this.#nodeId, connection, pattern), entry);
  }

  async removeListener(appId: string, topic: ListenTopic, connection: string, pattern: string) {
    this.#state
      .scope(appId, topic)
      .listeners.delete(listenerKey(this.#nodeId, connection, pattern));
  }

  async listeners(appId: string, topic: ListenTopic): Promise<ListenerEntry[]> {
    return [...this.#state.scope(appId, topic).listeners.values()];
  }

  async unprovided(appId: string, topic: ListenTopic): Promise<string[]> {
    const scope = this.#state.scope(appId, topic);
    return [...scope.subs.keys()].filter((n) => !scope.providers.has(n) && !scope.offers.has(n));
  }

  async providers(appId: string, topic: ListenTopic, names: readonly string[]) {
    const scope = this.#state.scope(appId, topic);
    return names.map((name) => scope.providers.get(name)?.token ?? null);
  }

  async startOffer(appId: string, topic: ListenTopic, name: string, token: string) {
    const scope = this.#state.scope(appId, topic);
    if (!scope.subs.has(name) || scope.providers.has(name) || scope.offers.has(name)) return false;
    scope.offers.set(name, { token, node: this.#nodeId });
    return true;
  }

  async endOffer(appId: string, topic: ListenTopic, name: string, token: string) {
    const scope = this.#state.scope(appId, topic);
    if (scope.offers.get(name)?.token === token) scope.offers.delete(name);
  }

  async claim(appId: string, topic: ListenTopic, name: string, token: string, offerToken: string) {
    const scope = this.#state.scope(appId, topic);
    if (!scope.subs.has(name) || scope.providers.has(name)) return false;
    scope.providers.set(name, { token, node: this.#nodeId });
    if (scope.offers.get(name)?.token === offerToken) scope.offers.delete(name);
    return true;
  }

  async release(
    appId: string,
    topic: ListenTopic,
    name: string,
    token: string,
    offerToken: string,
  ) {
    const scope = this.#state.scope(appId, topic);
    if (scope.providers.get(name)?.token !== token) return { released: false, reoffer: false };
    scope.providers.delete(name);
    const reoffer =
      offerToken !== '' &&
      scope.subs.has(name) &&
      scope.listeners.size > 0 &&
      !scope.offers.has(name);
    if (reoffer) scope.offers.set(name, { token: offerToken, node: this.#nodeId });
    return { released: true, reoffer };
  }

  async removeNode(nodeId: string): Promise<ListenGone[]> {
    const gone: ListenGone[] = [];
    for (const [key, scope] of this.#state.scopes) {
      const [appId, topic] = key.split('\u0000') as [string, ListenTopic];
      for (const [k, entry] of scope.listeners)
        if (entry.node === nodeId) scope.listeners.delete(k);
      for (const [name, held] of scope.providers)
        if (held.node === nodeId) scope.providers.delete(name);
      for (const [name, held] of scope.offers) if (held.node === nodeId) scope.offers.delete(name);
      for (const name of [...scope.subs.keys()]) {
        const result = this.#unsubscribe(scope, name, nodeId);
        if (result.last)
          gone.push({ appId, topic, name, provider: result.provider, offer: result.offer });
      }
    }
    return gone;
  }

  async restore(): Promise<void> {}

  onRestored(): () => void {
    return () => {};
  }

  async close(): Promise<void> {}
}
