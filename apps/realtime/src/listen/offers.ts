import type { BusTopics, ListenerEntry, ListenTopic } from '@hubstream/cluster';
import type { AppScope } from '../core/app-scope.ts';

// The offers of active providers for events and records ("listening", PROTOCOL.md 3.2 and
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
// An offer ends when one accepts, all say no, or each in turn does not
// answer within the listen timeout.

/** An offer this node runs. */
export type Offer = {
  name: string;
  token: string;
  tried: Set<string>;
  current: ListenerEntry | null;
  attempt: number;
  timer: NodeJS.Timeout | null;
};
const entryKey = (e: ListenerEntry) => `${e.node}\u0000${e.connection}\u0000${e.pattern}`;

/** What the offers use of their ListenRegistry. */
export type OfferContext = {
  app: AppScope;
  topic: ListenTopic;
  timeoutMs: number;
  /** Whether `name` matches `pattern` (LocalListeners.matches). */
  matches(pattern: string, name: string): boolean;
  /** Sends an offer to a listener's node (this one at once). */
  toNode(node: string, topic: 'listen.offer', payload: BusTopics['listen.offer']): void;
  /** Runs `task` after the earlier registry calls about `key`. */
  chain(key: string, task: () => Promise<unknown>): void;
  token(): string;
  failed(error: unknown): void;
};

export class Offers {
  readonly #c: OfferContext;
  readonly #byName = new Map<string, Offer>();
  #closed = false;

  constructor(context: OfferContext) {
    this.#c = context;
  }

  get(name: string): Offer | undefined {
    return this.#byName.get(name);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The offers running now (a copy). */
  all(): Offer[] {
    return [...this.#byName.values()];
  }

  close(): void {
    this.#closed = true;
    for (const offer of this.#byName.values()) if (offer.timer) clearTimeout(offer.timer);
    this.#byName.clear();
  }

  /** Runs the offer of `name` (the registry gave this node `token` for it). */
  start(name: string, token: string, tried = new Set<string>()) {
    if (this.#closed) return;
    const offer: Offer = { name, token, tried, current: null, attempt: 0, timer: null };
    this.#byName.set(name, offer);
    void this.next(offer);
  }

  /** Offers the name to the next untried listener (or ends the offer). */
  async next(offer: Offer): Promise<void> {
    if (offer.timer) clearTimeout(offer.timer);
    offer.timer = null;
    offer.current = null;
    const attempt = ++offer.attempt;
    let entries: ListenerEntry[];
    try {
      entries = await this.#c.app.node.listeners.listeners(this.#c.app.appId, this.#c.topic);
    } catch (error) {
      this.#c.failed(error);
      this.end(offer);
      return;
    }
    // Answered, timed out or ended meanwhile.
    if (this.#byName.get(offer.name) !== offer || offer.attempt !== attempt) return;
    const untried = entries.filter(
      (e) => !offer.tried.has(entryKey(e)) && this.#c.matches(e.pattern, offer.name),
    );
    if (untried.length === 0) {
      this.end(offer, true);
      return;
    }
    // The registry lists them in the order they registered (deepstream's
    // shuffleProviders: false); by default one is picked at random.
    const next = this.#c.app.node.settings.listenShuffleProviders
      ? untried[Math.floor(Math.random() * untried.length)]!
      : untried[0]!;
    offer.tried.add(entryKey(next));
    offer.current = next;
    // Armed first: a local listener that is gone answers at once.
    offer.timer = setTimeout(() => this.#timedOut(offer, attempt), this.#c.timeoutMs);
    offer.timer.unref();
    const message: BusTopics['listen.offer'] = {
      topic: this.#c.topic,
      name: offer.name,
      pattern: next.pattern,
      connection: next.connection,
      offer: offer.token,
      attempt,
    };
    this.#c.toNode(next.node, 'listen.offer', message);
  }

  #timedOut(offer: Offer, attempt: number) {
    if (this.#byName.get(offer.name) !== offer || offer.attempt !== attempt) return;
    const current = offer.current;
    if (current) {
      this.#c.toNode(current.node, 'listen.offer', {
        topic: this.#c.topic,
        name: offer.name,
        pattern: current.pattern,
        connection: current.connection,
        offer: offer.token,
        attempt,
        cancel: true,
      });
    }
    void this.next(offer);
  }

  /** `exhausted`: every listener said no (or there was none left). */
  end(offer: Offer, exhausted = false) {
    if (offer.timer) clearTimeout(offer.timer);
    offer.timer = null;
    if (this.#byName.get(offer.name) !== offer) return;
    this.#byName.delete(offer.name);
    const { appId } = this.#c.app;
    const { name } = offer;
    this.#c.chain(name, async () => {
      await this.#c.app.node.listeners.endOffer(appId, this.#c.topic, name, offer.token);
      if (!exhausted || this.#closed) return;
      // A listener that came while this offer ran saw it running and left the
      // name to it: it is registered by now, so it is found here.
      const entries = await this.#c.app.node.listeners.listeners(appId, this.#c.topic);
      const late = entries.some(
        (e) => !offer.tried.has(entryKey(e)) && this.#c.matches(e.pattern, name),
      );
      if (!late) return;
      const token = this.#c.token();
      if (await this.#c.app.node.listeners.startOffer(appId, this.#c.topic, name, token))
        this.start(name, token, offer.tried);
    });
  }
}
