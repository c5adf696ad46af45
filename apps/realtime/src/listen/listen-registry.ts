import type { Message } from '@hubstream/protocol';
import { RE2JS } from 're2js';
import type { Connection } from '../core/connection.ts';

// Active providers for events and records ("listening", PROTOCOL.md 3.2 and
// 4.6). A provider listens on a pattern; when a name matching it gains its
// first subscriber, listeners are asked one at a time until one accepts.
// Patterns are regular expressions run by RE2 (linear time), never by the
// backtracking JavaScript engine: tenants write them.

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

type Listener = { connection: Connection; pattern: string; regex: RE2JS };
type Offer = {
  name: string;
  tried: Set<Listener>;
  current: Listener | null;
  timer: NodeJS.Timeout | null;
};

export const MAX_LISTEN_PATTERN_LENGTH = 1024;

export class ListenRegistry {
  readonly #actions: ListenActions;
  readonly #timeoutMs: number;
  /** Does anyone subscribe to this name right now? */
  readonly #hasSubscribers: (name: string) => boolean;
  readonly #allNames: () => Iterable<string>;
  readonly #onProvider: (name: string, provided: boolean) => void;
  readonly #listeners = new Map<string, Listener[]>(); // by pattern
  readonly #providers = new Map<string, Listener>(); // by name
  readonly #offers = new Map<string, Offer>(); // by name

  constructor(options: {
    actions: ListenActions;
    timeoutMs: number;
    hasSubscribers: (name: string) => boolean;
    allNames: () => Iterable<string>;
    onProviderChanged?: (name: string, provided: boolean) => void;
  }) {
    this.#actions = options.actions;
    this.#timeoutMs = options.timeoutMs;
    this.#hasSubscribers = options.hasSubscribers;
    this.#allNames = options.allNames;
    this.#onProvider = options.onProviderChanged ?? (() => {});
  }

  hasProvider(name: string): boolean {
    return this.#providers.has(name);
  }

  /** LISTEN {name: pattern}, already permitted. */
  listen(connection: Connection, message: Message): void {
    const pattern = message.name ?? '';
    const { topic } = this.#actions;
    let regex: RE2JS;
    try {
      if (pattern.length === 0 || pattern.length > MAX_LISTEN_PATTERN_LENGTH)
        throw new Error('length');
      regex = RE2JS.compile(pattern);
    } catch {
      connection.send({ topic, action: this.#actions.invalidRegex, name: pattern, isError: true });
      return;
    }
    const list = this.#listeners.get(pattern) ?? [];
    if (!list.some((l) => l.connection === connection)) {
      list.push({ connection, pattern, regex });
      this.#listeners.set(pattern, list);
    }
    connection.send({ topic, action: this.#actions.listen, name: pattern, isAck: true });
    for (const name of this.#allNames()) {
      if (!this.#providers.has(name) && !this.#offers.has(name) && regex.matches(name))
        this.#startOffer(name);
    }
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
    const offer = this.#offers.get(name);
    if (!offer?.current || offer.current.connection !== connection) return;
    this.#endOffer(offer);
    if (!this.#hasSubscribers(name)) {
      // Everyone left while the provider was deciding: tell it at once.
      this.#sendRemoved(offer.current, name);
      return;
    }
    this.#providers.set(name, offer.current);
    this.#onProvider(name, true);
  }

  reject(connection: Connection, message: Message): void {
    const offer = this.#offers.get(message.subscription ?? '');
    if (!offer?.current || offer.current.connection !== connection) return;
    this.#offerNext(offer);
  }

  /** A name gained its first subscriber. */
  subscribed(name: string): void {
    if (!this.#providers.has(name) && !this.#offers.has(name)) this.#startOffer(name);
  }

  /** A name lost its last subscriber. */
  unsubscribed(name: string): void {
    const offer = this.#offers.get(name);
    if (offer) this.#endOffer(offer);
    const provider = this.#providers.get(name);
    if (provider) {
      this.#providers.delete(name);
      this.#sendRemoved(provider, name);
    }
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
    for (const offer of this.#offers.values()) if (offer.timer) clearTimeout(offer.timer);
    this.#offers.clear();
  }

  #removeListener(connection: Connection, pattern: string) {
    const list = this.#listeners.get(pattern);
    if (!list) return;
    const listener = list.find((l) => l.connection === connection);
    if (!listener) return;
    const rest = list.filter((l) => l !== listener);
    if (rest.length === 0) this.#listeners.delete(pattern);
    else this.#listeners.set(pattern, rest);
    for (const offer of [...this.#offers.values()]) {
      if (offer.current === listener) this.#offerNext(offer);
    }
    for (const [name, provider] of [...this.#providers]) {
      if (provider !== listener) continue;
      this.#providers.delete(name);
      this.#onProvider(name, false);
      if (this.#hasSubscribers(name)) this.#startOffer(name);
    }
  }

  #candidates(name: string): Listener[] {
    const found: Listener[] = [];
    for (const list of this.#listeners.values()) {
      for (const listener of list) if (listener.regex.matches(name)) found.push(listener);
    }
    return found;
  }

  #startOffer(name: string) {
    const offer: Offer = { name, tried: new Set(), current: null, timer: null };
    this.#offers.set(name, offer);
    this.#offerNext(offer);
  }

  #offerNext(offer: Offer) {
    if (offer.timer) clearTimeout(offer.timer);
    offer.timer = null;
    const untried = this.#candidates(offer.name).filter((l) => !offer.tried.has(l));
    if (untried.length === 0) {
      this.#endOffer(offer);
      return;
    }
    const next = untried[Math.floor(Math.random() * untried.length)]!;
    offer.tried.add(next);
    offer.current = next;
    next.connection.send({
      topic: this.#actions.topic,
      action: this.#actions.found,
      name: next.pattern,
      subscription: offer.name,
    });
    offer.timer = setTimeout(() => this.#offerNext(offer), this.#timeoutMs);
    offer.timer.unref();
  }

  #endOffer(offer: Offer) {
    if (offer.timer) clearTimeout(offer.timer);
    offer.timer = null;
    this.#offers.delete(offer.name);
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
