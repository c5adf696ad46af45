import type { BusTopics, ListenerEntry, ListenTopic } from '@hubstream/cluster';
import type { Message } from '@hubstream/protocol';
import type { CompiledRegex } from '@hubstream/valve';
import type { AppScope } from '../core/app-scope.ts';
import type { Connection } from '../core/connection.ts';
import { refuseOverCap } from '../core/connection-caps.ts';
import { compileListenPattern, patternMatches } from './listen-pattern.ts';

// Active providers for events and records ("listening", PROTOCOL.md 3.2 and
// 4.6), for one app and topic on this node, cluster-wide through the node's
// listener registry. A provider listens on a pattern; when a name matching
// it gains its first subscriber anywhere, the listeners of every node are
// asked one at a time until one accepts. One node runs each offer: the one
// that saw the first subscriber (or that took the offer in the registry);
// it sends SUBSCRIPTION_FOR_PATTERN_FOUND itself to its own listeners and
// through the bus ('listen.offer') to other nodes' ones, which answer
// ('listen.answer'). A listener that accepts claims the name in the registry,
// so there is one provider per name however the messages race.
// Patterns are regular expressions under Valve's regex policy (RE2, linear
// time, size caps; listen-pattern.ts), never the backtracking JavaScript
// engine: tenants write them. They match anywhere in a name, as deepstream's.

export type ListenActions = {
  topic: number;
  listen: number;
  unlisten: number;
  accept: number;
  reject: number;
  found: number;
  removed: number;
  invalidRegex: number;
};

type Listener = { connection: Connection; pattern: string; regex: CompiledRegex };
/** An offer this node runs. */
type Offer = {
  name: string;
  token: string;
  tried: Set<string>;
  current: ListenerEntry | null;
  attempt: number;
  timer: NodeJS.Timeout | null;
};
/** A FOUND sent to one of this node's listeners, waiting for its answer. */
type Pending = { listener: Listener; offer: string; attempt: number; from: string };

type OfferMessage = BusTopics['listen.offer'];
type AnswerMessage = BusTopics['listen.answer'];
type GoneMessage = BusTopics['listen.gone'];

const MAX_CACHED_PATTERNS = 1000;

/**
 * Registry calls one ListenRegistry starts per turn of the event loop; the
 * rest wait for later turns. A 1,000-name SUBSCRIBE, or a connection closing
 * with thousands of names, means one registry call per name (a Redis script
 * each in a cluster): started all at once they would hold the node's event
 * loop, and every other app's clients, for hundreds of milliseconds.
 */
const REGISTRY_CALLS_PER_TURN = 64;

/** Lets up to `perTurn` callers through per turn of the event loop, in order. */
class Pacer {
  readonly #perTurn: number;
  #used = 0;
  #waiting: (() => void)[] = [];
  #scheduled = false;

  constructor(perTurn: number) {
    this.#perTurn = perTurn;
  }

  /** Undefined when the caller may go on now, else a promise resolved in its turn. */
  take(): Promise<void> | undefined {
    this.#schedule();
    if (this.#waiting.length === 0 && this.#used < this.#perTurn) {
      this.#used++;
      return undefined;
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #schedule() {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#turn());
  }

  #turn() {
    this.#scheduled = false;
    const batch = this.#waiting.splice(0, this.#perTurn);
    this.#used = batch.length;
    if (batch.length > 0) this.#schedule();
    for (const resolve of batch) resolve();
  }
}

let lastToken = 0;

const entryKey = (e: ListenerEntry) => `${e.node}\u0000${e.connection}\u0000${e.pattern}`;

export class ListenRegistry {
  readonly #app: AppScope;
  readonly #topic: ListenTopic;
  readonly #actions: ListenActions;
  readonly #timeoutMs: number;
  /** Does anyone on this node subscribe to this name right now? */
  readonly #hasSubscribers: (name: string) => boolean;
  readonly #allNames: () => Iterable<string>;
  readonly #onProvider: (name: string, provided: boolean) => void;
  readonly #listeners = new Map<string, Listener[]>(); // by pattern
  /** Names this node's listeners provide. */
  readonly #providers = new Map<string, { listener: Listener; token: string }>();
  /** Names subscribed here that have a provider somewhere. */
  readonly #provided = new Set<string>();
  readonly #offers = new Map<string, Offer>(); // by name
  readonly #pending = new Map<string, Pending>(); // by name
  /** Provider tokens being claimed; true once the name was gone meanwhile. */
  readonly #claims = new Map<string, boolean>();
  /** Registry calls about one name (or one listener) run in order. */
  readonly #chains = new Map<string, Promise<void>>();
  /** Other nodes' patterns, compiled once. */
  readonly #compiled = new Map<string, CompiledRegex | null>();
  /** How many patterns each of this node's connections listens on (CONNECTION_MAX_LISTENS). */
  readonly #patternCounts = new Map<Connection, number>();
  readonly #pacer = new Pacer(REGISTRY_CALLS_PER_TURN);
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
    this.#timeoutMs = options.timeoutMs;
    this.#hasSubscribers = options.hasSubscribers;
    this.#allNames = options.allNames;
    this.#onProvider = options.onProviderChanged ?? (() => {});
  }

  get #registry() {
    return this.#app.node.listeners;
  }

  get #bus() {
    return this.#app.node.bus;
  }

  /** Whether a name subscribed on this node has a provider (anywhere). */
  hasProvider(name: string): boolean {
    return this.#provided.has(name);
  }

  /** LISTEN {name: pattern}, already permitted. */
  listen(connection: Connection, message: Message): void {
    const pattern = message.name ?? '';
    const { topic } = this.#actions;
    const list = this.#listeners.get(pattern) ?? [];
    const isNew = !list.some((l) => l.connection === connection);
    const count = this.#patternCounts.get(connection) ?? 0;
    // The cap before the compile: a connection at its cap that sends
    // thousands of new patterns costs a map lookup each, not an RE2 compile
    // (and the optimizing compiler's work on the compiler's code).
    if (isNew && count >= this.#app.limits.maxListensPerConnection) {
      refuseOverCap(connection, message, 'listens');
      return;
    }
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
    if (isNew) {
      this.#patternCounts.set(connection, count + 1);
      list.push(listener);
      this.#listeners.set(pattern, list);
    }
    connection.send({ topic, action: this.#actions.listen, name: pattern, isAck: true });
    if (!isNew) return;
    const { appId } = this.#app;
    this.#chain(this.#listenerChain(connection, pattern), async () => {
      await this.#registry.addListener(appId, this.#topic, connection.id, pattern);
      if (!this.#isListening(listener)) return;
      // Names subscribed anywhere that nobody provides or is being asked about.
      for (const name of await this.#registry.unprovided(appId, this.#topic)) {
        if (!patternMatches(regex, name)) continue;
        const token = this.#token();
        if (await this.#registry.startOffer(appId, this.#topic, name, token))
          this.#startOffer(name, token);
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
    this.#chain(name, async () => {
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
        if (this.#providers.get(name)?.listener !== listener) this.#sendRemoved(listener, name);
        return;
      }
      this.#providers.set(name, { listener, token });
      this.#announce(name, true);
      // It stopped listening while the claim was on its way.
      if (!this.#isListening(listener)) await this.#release(name, token);
    });
  }

  reject(connection: Connection, message: Message): void {
    const name = message.subscription ?? '';
    const pending = this.#pending.get(name);
    if (!pending || pending.listener.connection !== connection) return;
    this.#pending.delete(name);
    this.#answer(pending, name, false);
  }

  /** A name gained its first subscriber on this node. */
  subscribed(name: string): void {
    const { appId } = this.#app;
    this.#chain(name, async () => {
      const token = this.#token();
      const result = await this.#registry.subscribe(appId, this.#topic, name, token);
      if (result.provided) this.#setProvided(name, true);
      if (result.offer) this.#startOffer(name, token);
    });
  }

  /** A name lost its last subscriber on this node. */
  unsubscribed(name: string): void {
    this.#provided.delete(name);
    const { appId } = this.#app;
    this.#chain(name, async () => {
      const result = await this.#registry.unsubscribe(appId, this.#topic, name);
      if (!result.last || (result.provider === null && result.offer === null)) return;
      const gone: GoneMessage = { topic: this.#topic, name };
      if (result.provider !== null) gone.provider = result.provider;
      if (result.offer !== null) gone.offer = result.offer;
      this.gone(gone);
      await this.#bus.publishRemote(appId, 'listen.gone', gone);
    });
  }

  connectionClosed(connection: Connection): void {
    for (const pattern of [...this.#listeners.keys()]) this.#removeListener(connection, pattern);
  }

  /** Patterns a connection listens to, for re-checking permissions. */
  *listenersOf(): Generator<{ connection: Connection; pattern: string }> {
    for (const list of this.#listeners.values()) for (const l of list) yield l;
  }

  removeListener(connection: Connection, pattern: string): void {
    this.#removeListener(connection, pattern);
  }

  close(): void {
    this.#closed = true;
    for (const offer of this.#offers.values()) if (offer.timer) clearTimeout(offer.timer);
    this.#offers.clear();
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
    const listener = this.#listeners
      .get(payload.pattern)
      ?.find((l) => l.connection.id === payload.connection);
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
    if (payload.accepted) this.#endOffer(offer);
    else void this.#offerNext(offer);
  }

  /** A name's provider changed (records tell their subscribers). */
  providerChanged(name: string, provided: boolean): void {
    this.#setProvided(name, provided);
  }

  /** A name lost its last subscriber in the cluster. */
  gone(payload: GoneMessage): void {
    const { name } = payload;
    const offer = this.#offers.get(name);
    if (offer && offer.token === payload.offer) this.#endOffer(offer);
    if (payload.provider !== undefined && this.#claims.has(payload.provider))
      this.#claims.set(payload.provider, true);
    const provider = this.#providers.get(name);
    if (provider && provider.token === payload.provider) {
      this.#providers.delete(name);
      this.#sendRemoved(provider.listener, name);
      // Only this node's index still names it.
      this.#chain(name, () => this.#release(name, provider.token, false));
    }
  }

  /**
   * Node `node` died and its registrations were removed: offers routed there
   * move on, names it provided (or was the last subscriber of) are settled.
   */
  nodeDead(node: string): void {
    for (const offer of [...this.#offers.values()]) {
      if (offer.current?.node === node) void this.#offerNext(offer);
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
    this.#chain('\u0001reconcile', async () => {
      const names = [...new Set([...this.#allNames(), ...this.#providers.keys()])];
      const tokens = await this.#registry.providers(appId, this.#topic, names);
      const orphans = new Set<string>();
      names.forEach((name, i) => {
        const token = tokens[i] ?? null;
        const mine = this.#providers.get(name);
        if (mine && mine.token !== token) {
          // Its last subscribers were on the dead node (or another took it).
          this.#providers.delete(name);
          this.#sendRemoved(mine.listener, name);
        } else if (mine) {
          // Nodes that missed it (their view was reconciled first) learn it again.
          this.#bus
            .publishRemote(appId, 'listen.provider', { topic: this.#topic, name, provided: true })
            .catch((error) => this.#failed(error));
        }
        if (!this.#hasSubscribers(name)) return;
        this.#setProvided(name, token !== null);
        if (token === null && !this.#offers.has(name)) orphans.add(name);
      });
      // Subscribed elsewhere and matching a listener here: after a Redis
      // restart the subscribers' node may have written its share back first.
      const local = [...this.#listeners.values()].map((list) => list[0]!.regex);
      if (local.length > 0) {
        for (const name of await this.#registry.unprovided(appId, this.#topic)) {
          if (local.some((regex) => patternMatches(regex, name))) orphans.add(name);
        }
      }
      if (orphans.size === 0) return;
      const listeners = await this.#registry.listeners(appId, this.#topic);
      for (const name of orphans) {
        if (this.#offers.has(name)) continue;
        if (!listeners.some((l) => this.#matches(l.pattern, name))) continue;
        const token = this.#token();
        if (await this.#registry.startOffer(appId, this.#topic, name, token))
          this.#startOffer(name, token);
      }
    });
  }

  // Offers -------------------------------------------------------------------

  #startOffer(name: string, token: string, tried = new Set<string>()) {
    if (this.#closed) return;
    const offer: Offer = { name, token, tried, current: null, attempt: 0, timer: null };
    this.#offers.set(name, offer);
    void this.#offerNext(offer);
  }

  async #offerNext(offer: Offer): Promise<void> {
    if (offer.timer) clearTimeout(offer.timer);
    offer.timer = null;
    offer.current = null;
    const attempt = ++offer.attempt;
    let entries: ListenerEntry[];
    try {
      entries = await this.#registry.listeners(this.#app.appId, this.#topic);
    } catch (error) {
      this.#failed(error);
      this.#endOffer(offer);
      return;
    }
    // Answered, timed out or ended meanwhile.
    if (this.#offers.get(offer.name) !== offer || offer.attempt !== attempt) return;
    const untried = entries.filter(
      (e) => !offer.tried.has(entryKey(e)) && this.#matches(e.pattern, offer.name),
    );
    if (untried.length === 0) {
      this.#endOffer(offer, true);
      return;
    }
    // The registry lists them in the order they registered (deepstream's
    // shuffleProviders: false); by default one is picked at random.
    const next = this.#app.node.settings.listenShuffleProviders
      ? untried[Math.floor(Math.random() * untried.length)]!
      : untried[0]!;
    offer.tried.add(entryKey(next));
    offer.current = next;
    // Armed first: a local listener that is gone answers at once.
    offer.timer = setTimeout(() => this.#timedOut(offer, attempt), this.#timeoutMs);
    offer.timer.unref();
    const message: OfferMessage = {
      topic: this.#topic,
      name: offer.name,
      pattern: next.pattern,
      connection: next.connection,
      offer: offer.token,
      attempt,
    };
    this.#toNode(next.node, 'listen.offer', message);
  }

  #timedOut(offer: Offer, attempt: number) {
    if (this.#offers.get(offer.name) !== offer || offer.attempt !== attempt) return;
    const current = offer.current;
    if (current) {
      this.#toNode(current.node, 'listen.offer', {
        topic: this.#topic,
        name: offer.name,
        pattern: current.pattern,
        connection: current.connection,
        offer: offer.token,
        attempt,
        cancel: true,
      });
    }
    void this.#offerNext(offer);
  }

  /** `exhausted`: every listener said no (or there was none left). */
  #endOffer(offer: Offer, exhausted = false) {
    if (offer.timer) clearTimeout(offer.timer);
    offer.timer = null;
    if (this.#offers.get(offer.name) !== offer) return;
    this.#offers.delete(offer.name);
    const { appId } = this.#app;
    const { name } = offer;
    this.#chain(name, async () => {
      await this.#registry.endOffer(appId, this.#topic, name, offer.token);
      if (!exhausted || this.#closed) return;
      // A listener that came while this offer ran saw it running and left the
      // name to it: it is registered by now, so it is found here.
      const entries = await this.#registry.listeners(appId, this.#topic);
      const late = entries.some(
        (e) => !offer.tried.has(entryKey(e)) && this.#matches(e.pattern, name),
      );
      if (!late) return;
      const token = this.#token();
      if (await this.#registry.startOffer(appId, this.#topic, name, token))
        this.#startOffer(name, token, offer.tried);
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
    this.#toNode(pending.from, 'listen.answer', answer);
  }

  #toNode<T extends 'listen.offer' | 'listen.answer'>(
    node: string,
    topic: T,
    payload: BusTopics[T],
  ) {
    const bus = this.#bus;
    if (node === bus.nodeId) {
      // This node: at once, without the bus's detour through the app registry.
      queueMicrotask(() => {
        if (topic === 'listen.offer') this.offered(payload as OfferMessage, node);
        else this.answered(payload as AnswerMessage);
      });
      return;
    }
    bus.sendTo(node, this.#app.appId, topic, payload).catch((error) => this.#failed(error));
  }

  // Providers ----------------------------------------------------------------

  /** Stops this node's provider of `name`; re-offers when subscribers remain. */
  async #release(name: string, token: string, reoffer = true): Promise<void> {
    const { appId } = this.#app;
    if (this.#providers.get(name)?.token === token) this.#providers.delete(name);
    const offerToken = reoffer && !this.#closed ? this.#token() : '';
    const result = await this.#registry.release(appId, this.#topic, name, token, offerToken);
    if (result.released) this.#announce(name, false);
    if (result.reoffer) this.#startOffer(name, offerToken);
  }

  /** Tells every node (this one first) whether `name` has a provider. */
  #announce(name: string, provided: boolean) {
    this.#setProvided(name, provided);
    const payload = { topic: this.#topic, name, provided };
    this.#bus
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

  #isListening(listener: Listener): boolean {
    return this.#listeners.get(listener.pattern)?.includes(listener) ?? false;
  }

  #removeListener(connection: Connection, pattern: string) {
    const list = this.#listeners.get(pattern);
    if (!list) return;
    const listener = list.find((l) => l.connection === connection);
    if (!listener) return;
    const rest = list.filter((l) => l !== listener);
    const count = (this.#patternCounts.get(connection) ?? 1) - 1;
    if (count > 0) this.#patternCounts.set(connection, count);
    else this.#patternCounts.delete(connection);
    if (rest.length === 0) this.#listeners.delete(pattern);
    else this.#listeners.set(pattern, rest);
    // Offers waiting on it move on at once.
    for (const [name, pending] of [...this.#pending]) {
      if (pending.listener !== listener) continue;
      this.#pending.delete(name);
      this.#answer(pending, name, false);
    }
    const { appId } = this.#app;
    const removed = this.#chain(this.#listenerChain(connection, pattern), () =>
      this.#registry.removeListener(appId, this.#topic, connection.id, pattern),
    );
    for (const [name, provider] of [...this.#providers]) {
      if (provider.listener !== listener) continue;
      this.#providers.delete(name);
      // Gone from the registry first, so the re-offer cannot pick it again.
      this.#chain(name, async () => {
        await removed;
        await this.#release(name, provider.token);
      });
    }
  }

  #listenerChain(connection: Connection, pattern: string) {
    return `\u0001${connection.id}\u0000${pattern}`;
  }

  #matches(pattern: string, name: string): boolean {
    const local = this.#listeners.get(pattern)?.[0];
    if (local) return patternMatches(local.regex, name);
    let regex = this.#compiled.get(pattern);
    if (regex === undefined) {
      const compiled = compileListenPattern(pattern);
      regex = compiled.ok ? compiled.regex : null;
      if (this.#compiled.size >= MAX_CACHED_PATTERNS) this.#compiled.clear();
      this.#compiled.set(pattern, regex);
    }
    return regex ? patternMatches(regex, name) : false;
  }

  // Plumbing -----------------------------------------------------------------

  #token(): string {
    return `${this.#bus.nodeId}#${++lastToken}`;
  }

  /** Runs `task` after the earlier tasks of `key`; failures are logged. */
  #chain(key: string, task: () => Promise<unknown>): Promise<void> {
    const previous = this.#chains.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => this.#pacer.take())
      .then(task)
      .then(
        () => {},
        (error: unknown) => this.#failed(error),
      );
    this.#chains.set(key, next);
    next.then(() => {
      if (this.#chains.get(key) === next) this.#chains.delete(key);
    });
    return next;
  }

  #failed(error: unknown) {
    this.#app.log.error(
      { err: error, app: this.#app.appId, topic: this.#topic },
      'cluster listening failed',
    );
  }

  #sendRemoved(listener: Listener, name: string) {
    listener.connection.send({
      topic: this.#actions.topic,
      action: this.#actions.removed,
      name: listener.pattern,
      subscription: name,
    });
  }
}
