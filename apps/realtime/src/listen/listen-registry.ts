import {
  batchOfferToken,
  type ListenTopic,
  SUBSCRIBE_RESULT_WIDTH,
  UNSUBSCRIBE_RESULT_WIDTH,
} from '@hubstream/cluster';
import type { Message } from '@hubstream/protocol';
import type { AppScope } from '../core/app-scope.ts';
import type { Connection } from '../core/connection.ts';
import { refuseOverCap } from '../core/connection-caps.ts';
import { KeyedChains } from './chains.ts';
import {
  type AnswerMessage,
  type GoneMessage,
  type ListenActions,
  type OfferMessage,
  offerToken,
  type Pending,
  refusedTooLong,
  sendRemoved,
  sendToNode,
} from './listen-messages.ts';
import { compileListenPattern, patternMatches } from './listen-pattern.ts';
import { type Listener, LocalListeners } from './local-listeners.ts';
import { Offers } from './offers.ts';

// Active providers for events and records ("listening", PROTOCOL.md 3.2 and
// 4.6), for one app and topic on this node, cluster-wide through the node's
// listener registry; how a name is offered is offers.ts's, the listeners
// and their patterns local-listeners.ts's.

/**
 * Names a node got its first subscriber of that go to the registry in one
 * call (RegistryBatch): a 1,000-name SUBSCRIBE is added in slices of turns
 * (BulkSlices), and its names are a few calls and tasks, not a task, a script call share,
 * promises and strings per name (young-generation garbage that survived the
 * scavenges it waited through: bench:attacks huge-subscribe). One batch is
 * sent at a time, and names subscribed meanwhile join the next: a Redis
 * script runs alone, and a queue of them ahead of other apps' commands (a
 * rate limit's refill) held those for tens of milliseconds.
 */
export const NAMES_PER_SUBSCRIBE_BATCH = 128;

/**
 * The chain of subscribe and unsubscribe batches: one runs at a time, in
 * the order they were made (KeyedChains key).
 */
const SUBSCRIBE_BATCHES = '\u0001subscribe';

/**
 * Names waiting for one subscribeMany() or unsubscribeMany() call, and
 * what waits for it. Names that lost their last subscriber go in batches
 * too: a connection closing with 9,000 names (bench:attacks huge SUBSCRIBE,
 * cluster) made a chained registry call per name, a Chain, closures,
 * promises and a Redis script's share each, alive for the 140 turns they
 * took at 64 a turn: a dozen young-generation GCs of 5-11 ms on node A
 * (--trace-gc-nvp: ~1.2 MB promoted each) right after the attacker left.
 */
type RegistryBatch = {
  kind: 'subscribe' | 'unsubscribe';
  names: string[];
  done: Promise<void>;
  settle: () => void;
};

export class ListenRegistry {
  readonly #app: AppScope;
  readonly #topic: ListenTopic;
  readonly #actions: ListenActions;
  readonly #offers: Offers;
  /** Does anyone on this node subscribe to this name right now? */
  readonly #hasSubscribers: (name: string) => boolean;
  readonly #allNames: () => Iterable<string>;
  readonly #onProvider: (name: string, provided: boolean) => void;
  readonly #listeners = new LocalListeners();
  /** Names this node's listeners provide. */
  readonly #providers = new Map<string, { listener: Listener; token: string }>();
  /** Names subscribed here that have a provider somewhere. */
  readonly #provided = new Set<string>();
  readonly #pending = new Map<string, Pending>(); // by name
  /** Provider tokens being claimed; true once the name was gone meanwhile. */
  readonly #claims = new Map<string, boolean>();
  /** Registry calls about one name (or one listener) run in order, paced per turn. */
  readonly #chains = new KeyedChains((error) => this.#failed(error));
  /** The batch that names subscribed in this turn join; undefined once it started. */
  #subscribing: RegistryBatch | undefined;
  /** The batch that names unsubscribed in this turn join; undefined once it started. */
  #unsubscribing: RegistryBatch | undefined;
  /** Names whose batch has not answered: their next registry call waits for it. */
  readonly #inBatch = new Map<string, RegistryBatch>();
  #closed = false;

  constructor(options: {
    app: AppScope;
    topic: ListenTopic;
    actions: ListenActions;
    timeoutMs: number;
    hasSubscribers: (name: string) => boolean;
    allNames: () => Iterable<string>;
    onProviderChanged?: (name: string, provided: boolean) => void;
  }) {
    this.#app = options.app;
    this.#topic = options.topic;
    this.#actions = options.actions;
    this.#offers = new Offers({
      app: options.app,
      topic: options.topic,
      timeoutMs: options.timeoutMs,
      matches: (pattern, name) => this.#listeners.matches(pattern, name),
      toNode: (node, topic, payload) =>
        sendToNode(this.#app, node, topic, payload, this, this.#failed),
      chain: (key, task) => this.#chainName(key, task),
      token: () => this.#token(),
      failed: (error) => this.#failed(error),
    });
    this.#hasSubscribers = options.hasSubscribers;
    this.#allNames = options.allNames;
    this.#onProvider = options.onProviderChanged ?? (() => {});
  }

  get #registry() {
    return this.#app.node.listeners;
  }

  /** Whether a name subscribed on this node has a provider (anywhere). */
  hasProvider(name: string): boolean {
    return this.#provided.has(name);
  }

  /**
   * True (and the LISTEN refused) when a new pattern would take `connection`
   * past its listen cap, or is over the length cap. The handlers ask before
   * the permission check and the compile: thousands of patterns over the cap
   * cost two map lookups each, not a rule evaluation and an RE2 compile.
   */
  refusedOverCap(connection: Connection, message: Message): boolean {
    if (refusedTooLong(connection, message, this.#actions)) return true;
    const pattern = message.name ?? '';
    if (this.#listeners.countOf(connection) < this.#app.limits.maxListensPerConnection)
      return false;
    if (this.#listeners.has(connection, pattern)) return false;
    refuseOverCap(connection, message, 'listens');
    return true;
  }

  /** LISTEN {name: pattern}, already permitted. */
  listen(connection: Connection, message: Message): void {
    const pattern = message.name ?? '';
    const { topic } = this.#actions;
    // Asked again: the handlers asked before the permission check, which may have waited.
    if (this.refusedOverCap(connection, message)) return;
    const isNew = !this.#listeners.has(connection, pattern);
    const compiled = compileListenPattern(pattern);
    if (!compiled.ok) {
      connection.send({
        topic,
        action: this.#actions.invalidRegex,
        originalAction: message.action,
        name: pattern,
        isError: true,
      });
      return;
    }
    const { regex } = compiled;
    const listener = { connection, pattern, regex };
    if (isNew) this.#listeners.add(listener);
    connection.send({ topic, action: this.#actions.listen, name: pattern, isAck: true });
    if (!isNew) return;
    const { appId } = this.#app;
    this.#chains.chain(this.#listenerChain(connection, pattern), async () => {
      await this.#registry.addListener(appId, this.#topic, connection.id, pattern);
      if (!this.#listeners.includes(listener)) return;
      // Names subscribed anywhere that nobody provides or is being asked about.
      for (const name of await this.#registry.unprovided(appId, this.#topic)) {
        if (!patternMatches(regex, name)) continue;
        const token = this.#token();
        if (await this.#registry.startOffer(appId, this.#topic, name, token))
          this.#offers.start(name, token);
      }
    });
  }

  unlisten(connection: Connection, message: Message): void {
    const pattern = message.name ?? '';
    this.#removeListener(connection, pattern);
    connection.send({
      topic: this.#actions.topic,
      action: this.#actions.unlisten,
      name: pattern,
      isAck: true,
    });
  }

  accept(connection: Connection, message: Message): void {
    const name = message.subscription ?? '';
    const pending = this.#pending.get(name);
    if (!pending || pending.listener.connection !== connection) return;
    this.#pending.delete(name);
    const { listener } = pending;
    const { appId } = this.#app;
    this.#chainName(name, async () => {
      const token = this.#token();
      this.#claims.set(token, false);
      let claimed: boolean;
      let lost = false;
      try {
        claimed = await this.#registry.claim(appId, this.#topic, name, token, pending.offer);
      } finally {
        lost = this.#claims.get(token) === true;
        this.#claims.delete(token);
      }
      if (claimed && lost) {
        // The last subscriber left right after the claim, before this node knew
        // it won: only this node's index still names it.
        claimed = false;
        await this.#registry.release(appId, this.#topic, name, token, '');
      }
      this.#answer(pending, name, true);
      if (!claimed) {
        // Everyone left while it was deciding (or another took it): tell it at once.
        if (this.#providers.get(name)?.listener !== listener)
          sendRemoved(this.#actions, listener, name);
        return;
      }
      this.#providers.set(name, { listener, token });
      this.#announce(name, true);
      // It stopped listening while the claim was on its way.
      if (!this.#listeners.includes(listener)) await this.#release(name, token);
    });
  }

  reject(connection: Connection, message: Message): void {
    const name = message.subscription ?? '';
    const pending = this.#pending.get(name);
    if (!pending || pending.listener.connection !== connection) return;
    this.#pending.delete(name);
    this.#answer(pending, name, false);
  }

  /**
   * A name gained its first subscriber on this node. It joins this turn's
   * batch (one registry call for its names); a name with registry calls
   * still waiting (it just lost its last subscriber) is chained after them.
   */
  subscribed(name: string): void {
    const { appId } = this.#app;
    if (this.#chains.has(name) || this.#inBatch.has(name)) {
      this.#chainName(name, async () => {
        const token = this.#token();
        const result = await this.#registry.subscribe(appId, this.#topic, name, token);
        if (result.provided) this.#setProvided(name, true);
        if (result.offer) this.#offers.start(name, token);
      });
      return;
    }
    let batch = this.#subscribing;
    if (!batch || batch.names.length >= NAMES_PER_SUBSCRIBE_BATCH)
      batch = this.#newBatch('subscribe');
    batch.names.push(name);
    this.#inBatch.set(name, batch);
  }

  #newBatch(kind: RegistryBatch['kind']): RegistryBatch {
    let settle!: () => void;
    const done = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const batch: RegistryBatch = { kind, names: [], done, settle };
    if (kind === 'subscribe') this.#subscribing = batch;
    else this.#unsubscribing = batch;
    this.#chains.chain(SUBSCRIBE_BATCHES, async () => {
      if (this.#subscribing === batch) this.#subscribing = undefined;
      if (this.#unsubscribing === batch) this.#unsubscribing = undefined;
      try {
        if (kind === 'subscribe') await this.#sendBatch(batch);
        else await this.#sendUnsubscribeBatch(batch);
      } finally {
        for (const name of batch.names)
          if (this.#inBatch.get(name) === batch) this.#inBatch.delete(name);
        batch.settle();
      }
    });
    return batch;
  }

  async #sendBatch(batch: RegistryBatch) {
    const { names } = batch;
    const base = this.#token();
    const results = await this.#registry.subscribeMany(this.#app.appId, this.#topic, names, base);
    // The names' own calls may follow now (an offer below chains on its name).
    for (const name of names) if (this.#inBatch.get(name) === batch) this.#inBatch.delete(name);
    for (let i = 0; i < names.length; i++) {
      const at = i * SUBSCRIBE_RESULT_WIDTH;
      if (results[at + 1] === 1) this.#setProvided(names[i]!, true);
      if (results[at + 2] === 1) this.#offers.start(names[i]!, batchOfferToken(base, i));
    }
  }

  /**
   * Chains a registry call about `name` after the ones before it, including
   * the subscribe batch it is in (waited for once, by the first call after).
   */
  #chainName(name: string, task: () => Promise<unknown>): void {
    const batch = this.#inBatch.get(name);
    if (batch) {
      this.#inBatch.delete(name);
      this.#chains.chain(name, () => batch.done);
    }
    this.#chains.chain(name, task);
  }

  /** The names of an unsubscribe batch have left the registry: what each was last of is settled. */
  async #sendUnsubscribeBatch(batch: RegistryBatch) {
    const { names } = batch;
    const { appId } = this.#app;
    const results = await this.#registry.unsubscribeMany(appId, this.#topic, names);
    // The names' own calls may follow now (a provider's release chains on its name).
    for (const name of names) if (this.#inBatch.get(name) === batch) this.#inBatch.delete(name);
    const published: Promise<unknown>[] = [];
    for (let i = 0; i < names.length; i++) {
      const at = i * UNSUBSCRIBE_RESULT_WIDTH;
      if (results[at] !== 1) continue;
      const announced = this.#leftLast(
        names[i]!,
        String(results[at + 1] ?? '') || null,
        String(results[at + 2] ?? '') || null,
      );
      if (announced) published.push(announced);
    }
    // The next batch (a name subscribed again meanwhile) goes after these announcements.
    await Promise.all(published);
  }

  /**
   * The name's last subscriber anywhere left: the provider and the offer the
   * registry handed back are ended here and on every other node (the
   * announcement returned); nothing to do when it had neither.
   */
  #leftLast(name: string, provider: string | null, offer: string | null) {
    if (provider === null && offer === null) return undefined;
    const gone: GoneMessage = { topic: this.#topic, name };
    if (provider !== null) gone.provider = provider;
    if (offer !== null) gone.offer = offer;
    this.gone(gone);
    return this.#app.node.bus.publishRemote(this.#app.appId, 'listen.gone', gone);
  }

  /**
   * A name lost its last subscriber on this node. It joins this turn's
   * unsubscribe batch; a name with registry calls still waiting (it was
   * just subscribed, or provided) is chained after them, on its own.
   */
  unsubscribed(name: string): void {
    this.#provided.delete(name);
    if (!this.#chains.has(name) && !this.#inBatch.has(name)) {
      let batch = this.#unsubscribing;
      if (!batch || batch.names.length >= NAMES_PER_SUBSCRIBE_BATCH)
        batch = this.#newBatch('unsubscribe');
      batch.names.push(name);
      this.#inBatch.set(name, batch);
      return;
    }
    this.#chainName(name, async () => {
      const result = await this.#registry.unsubscribe(this.#app.appId, this.#topic, name);
      if (result.last) await this.#leftLast(name, result.provider, result.offer);
    });
  }

  connectionClosed(connection: Connection): void {
    for (const pattern of this.#listeners.patterns()) this.#removeListener(connection, pattern);
  }

  /** Patterns a connection listens to, for re-checking permissions. */
  *listenersOf(): Generator<{ connection: Connection; pattern: string }> {
    yield* this.#listeners.all();
  }

  removeListener(connection: Connection, pattern: string): void {
    this.#removeListener(connection, pattern);
  }

  close(): void {
    this.#closed = true;
    this.#offers.close();
    this.#pending.clear();
  }

  // From other nodes (and from this one) ---------------------------------------

  /** An offer's node asks this node's listener `payload.connection` (or cancels). */
  offered(payload: OfferMessage, from: string): void {
    const { name } = payload;
    if (payload.cancel) {
      const pending = this.#pending.get(name);
      if (pending?.offer === payload.offer && pending.attempt === payload.attempt)
        this.#pending.delete(name);
      return;
    }
    const listener = this.#listeners.find(payload.pattern, payload.connection);
    const pending = { offer: payload.offer, attempt: payload.attempt, from };
    if (!listener?.connection.isOpen || this.#closed) {
      this.#answer(pending, name, false);
      return;
    }
    if (this.#providers.get(name)?.listener === listener) {
      // It provides the name already (an offer made while state was being restored).
      this.#answer(pending, name, true);
      return;
    }
    this.#pending.set(name, { listener, ...pending });
    listener.connection.send({
      topic: this.#actions.topic,
      action: this.#actions.found,
      name: listener.pattern,
      subscription: name,
    });
  }

  /** A listener's node answers this node's offer. */
  answered(payload: AnswerMessage): void {
    const offer = this.#offers.get(payload.name);
    if (!offer || offer.token !== payload.offer || offer.attempt !== payload.attempt) return;
    if (payload.accepted) this.#offers.end(offer);
    else void this.#offers.next(offer);
  }

  /** A name's provider changed (records tell their subscribers). */
  providerChanged(name: string, provided: boolean): void {
    this.#setProvided(name, provided);
  }

  /** A name lost its last subscriber in the cluster. */
  gone(payload: GoneMessage): void {
    const { name } = payload;
    const offer = this.#offers.get(name);
    if (offer && offer.token === payload.offer) this.#offers.end(offer);
    if (payload.provider !== undefined && this.#claims.has(payload.provider))
      this.#claims.set(payload.provider, true);
    const provider = this.#providers.get(name);
    if (provider && provider.token === payload.provider) {
      this.#providers.delete(name);
      sendRemoved(this.#actions, provider.listener, name);
      // Only this node's index still names it.
      this.#chainName(name, () => this.#release(name, provider.token, false));
    }
  }

  /**
   * Node `node` died and its registrations were removed: offers routed there
   * move on, names it provided (or was the last subscriber of) are settled.
   */
  nodeDead(node: string): void {
    for (const offer of this.#offers.all()) {
      if (offer.current?.node === node) void this.#offers.next(offer);
    }
    this.reconcile();
  }

  /**
   * Compares this node's view with the registry's after registrations were
   * lost (a dead node's removed, Redis restarted): providers whose names
   * left are told to stop; subscribed names without a provider or an offer
   * are offered again, by one node.
   */
  reconcile(): void {
    if (this.#closed) return;
    const { appId } = this.#app;
    this.#chains.chain('\u0001reconcile', async () => {
      const names = [...new Set([...this.#allNames(), ...this.#providers.keys()])];
      const tokens = await this.#registry.providers(appId, this.#topic, names);
      const orphans = new Set<string>();
      names.forEach((name, i) => {
        const token = tokens[i] ?? null;
        const mine = this.#providers.get(name);
        if (mine && mine.token !== token) {
          // Its last subscribers were on the dead node (or another took it).
          this.#providers.delete(name);
          sendRemoved(this.#actions, mine.listener, name);
        } else if (mine) {
          // Nodes that missed it (their view was reconciled first) learn it again.
          this.#app.node.bus
            .publishRemote(appId, 'listen.provider', { topic: this.#topic, name, provided: true })
            .catch((error) => this.#failed(error));
        }
        if (!this.#hasSubscribers(name)) return;
        this.#setProvided(name, token !== null);
        if (token === null && !this.#offers.has(name)) orphans.add(name);
      });
      // Subscribed elsewhere and matching a listener here: after a Redis
      // restart the subscribers' node may have written its share back first.
      const local = this.#listeners.regexes();
      if (local.length > 0) {
        for (const name of await this.#registry.unprovided(appId, this.#topic)) {
          if (local.some((regex) => patternMatches(regex, name))) orphans.add(name);
        }
      }
      if (orphans.size === 0) return;
      const listeners = await this.#registry.listeners(appId, this.#topic);
      for (const name of orphans) {
        if (this.#offers.has(name)) continue;
        if (!listeners.some((l) => this.#listeners.matches(l.pattern, name))) continue;
        const token = this.#token();
        if (await this.#registry.startOffer(appId, this.#topic, name, token))
          this.#offers.start(name, token);
      }
    });
  }

  /** Answers the node that offered (this one, or another through the bus). */
  #answer(pending: Omit<Pending, 'listener'>, name: string, accepted: boolean) {
    const answer: AnswerMessage = {
      topic: this.#topic,
      name,
      offer: pending.offer,
      attempt: pending.attempt,
      accepted,
    };
    sendToNode(this.#app, pending.from, 'listen.answer', answer, this, this.#failed);
  }

  // Providers ----------------------------------------------------------------

  /** Stops this node's provider of `name`; re-offers when subscribers remain. */
  async #release(name: string, token: string, reoffer = true): Promise<void> {
    const { appId } = this.#app;
    if (this.#providers.get(name)?.token === token) this.#providers.delete(name);
    const offerToken = reoffer && !this.#closed ? this.#token() : '';
    const result = await this.#registry.release(appId, this.#topic, name, token, offerToken);
    if (result.released) this.#announce(name, false);
    if (result.reoffer) this.#offers.start(name, offerToken);
  }

  /** Tells every node (this one first) whether `name` has a provider. */
  #announce(name: string, provided: boolean) {
    this.#setProvided(name, provided);
    const payload = { topic: this.#topic, name, provided };
    this.#app.node.bus
      .publishRemote(this.#app.appId, 'listen.provider', payload)
      .catch((error) => this.#failed(error));
  }

  #setProvided(name: string, provided: boolean) {
    if (provided) {
      if (!this.#hasSubscribers(name) || this.#provided.has(name)) return;
      this.#provided.add(name);
    } else if (!this.#provided.delete(name)) {
      return;
    }
    this.#onProvider(name, provided);
  }

  // Listeners ----------------------------------------------------------------

  #removeListener(connection: Connection, pattern: string) {
    const listener = this.#listeners.remove(connection, pattern);
    if (!listener) return;
    // Offers waiting on it move on at once.
    for (const [name, pending] of [...this.#pending]) {
      if (pending.listener !== listener) continue;
      this.#pending.delete(name);
      this.#answer(pending, name, false);
    }
    const { appId } = this.#app;
    const remove = () => this.#registry.removeListener(appId, this.#topic, connection.id, pattern);
    const provided = [...this.#providers].filter(([, provider]) => provider.listener === listener);
    if (provided.length === 0) {
      this.#chains.chain(this.#listenerChain(connection, pattern), remove);
      return;
    }
    const removed = this.#chains.chainAwaited(this.#listenerChain(connection, pattern), remove);
    for (const [name, provider] of provided) {
      this.#providers.delete(name);
      // Gone from the registry first, so the re-offer cannot pick it again.
      this.#chainName(name, async () => {
        await removed;
        await this.#release(name, provider.token);
      });
    }
  }

  #listenerChain(connection: Connection, pattern: string) {
    return `\u0001${connection.id}\u0000${pattern}`;
  }

  // Plumbing -----------------------------------------------------------------

  #token(): string {
    return offerToken(this.#app.node.bus.nodeId);
  }

  readonly #failed = (error: unknown): void => {
    this.#app.log.error(
      { err: error, app: this.#app.appId, topic: this.#topic },
      'cluster listening failed',
    );
  };
}
