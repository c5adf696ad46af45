import type { Redis } from 'ioredis';
import type {
  ListenerEntry,
  ListenerRegistry,
  ListenGone,
  ListenTopic,
} from './listener-registry.ts';
import {
  ADD_LISTENER,
  CLAIM,
  DROP_HELD,
  RELEASE,
  RESTORE_PROVIDER,
  START_OFFER,
  SUBSCRIBE,
  SUBSCRIBE_MANY,
  UNSUBSCRIBE,
  UNSUBSCRIBE_MANY,
} from './lua.ts';
import { fields, listenerKey, SEP } from './members.ts';
import { NAMES_PER_SCRIPT_CALL, ScriptBatcher } from './script-batcher.ts';

// The listener registry in Redis: the keys and what each holds are described
// with the scripts (./lua.ts). Every transition that must be atomic is one
// script call; SUBSCRIBE and UNSUBSCRIBE of one turn go out together
// (ScriptBatcher).

type Commands = Redis & {
  hsListenAddListener(...args: string[]): Promise<unknown>;
  hsListenSubscribe(...args: string[]): Promise<number[]>;
  hsListenSubscribeMany(...args: string[]): Promise<number[]>;
  hsListenUnsubscribe(...args: string[]): Promise<(number | string)[]>;
  hsListenUnsubscribeMany(...args: string[]): Promise<(number | string)[]>;
  hsListenStartOffer(...args: string[]): Promise<number>;
  hsListenDropHeld(...args: string[]): Promise<number>;
  hsListenClaim(...args: string[]): Promise<number>;
  hsListenRelease(...args: string[]): Promise<[number, number]>;
  hsListenRestoreProvider(...args: string[]): Promise<number>;
};

export class RedisListenerRegistry implements ListenerRegistry {
  readonly #redis: Commands;
  readonly #prefix: string;
  readonly #nodeId: string;
  /**
   * This node's own registrations (index members), written back after a
   * Redis restart; its subscriptions are in #mineSubs.
   */
  readonly #mine = new Set<string>();
  /**
   * The names this node subscribes to, per app and topic: the names
   * themselves (held by the node's subscription registry anyway), not a
   * member string made per name.
   */
  readonly #mineSubs = new Map<string, { appId: string; topic: ListenTopic; names: Set<string> }>();
  readonly #restored = new Set<() => void>();
  #seenReady: boolean;
  readonly #onReady: () => void;
  readonly #subscribes: ScriptBatcher<number>;
  readonly #unsubscribes: ScriptBatcher<number | string>;

  constructor(options: { redis: Redis; nodeId: string; keyPrefix?: string }) {
    const { redis } = options;
    redis.defineCommand('hsListenSubscribe', { numberOfKeys: 5, lua: SUBSCRIBE });
    redis.defineCommand('hsListenSubscribeMany', { numberOfKeys: 5, lua: SUBSCRIBE_MANY });
    redis.defineCommand('hsListenUnsubscribe', { numberOfKeys: 4, lua: UNSUBSCRIBE });
    redis.defineCommand('hsListenUnsubscribeMany', { numberOfKeys: 4, lua: UNSUBSCRIBE_MANY });
    redis.defineCommand('hsListenStartOffer', { numberOfKeys: 4, lua: START_OFFER });
    redis.defineCommand('hsListenDropHeld', { numberOfKeys: 2, lua: DROP_HELD });
    redis.defineCommand('hsListenClaim', { numberOfKeys: 4, lua: CLAIM });
    redis.defineCommand('hsListenRelease', { numberOfKeys: 5, lua: RELEASE });
    redis.defineCommand('hsListenRestoreProvider', { numberOfKeys: 2, lua: RESTORE_PROVIDER });
    redis.defineCommand('hsListenAddListener', { numberOfKeys: 4, lua: ADD_LISTENER });
    this.#redis = redis as Commands;
    this.#prefix = options.keyPrefix ?? '';
    this.#nodeId = options.nodeId;
    this.#seenReady = redis.status === 'ready';
    this.#onReady = () => {
      if (!this.#seenReady) {
        this.#seenReady = true;
        return;
      }
      // Redis may have come back empty: put this node's share back.
      this.restore().catch(() => {});
    };
    redis.on('ready', this.#onReady);
    const nodeKey = this.#nodeKey(this.#nodeId);
    this.#subscribes = new ScriptBatcher(3, (appId, topic, args) =>
      this.#redis.hsListenSubscribe(
        this.#key(appId, topic, 'subs'),
        nodeKey,
        this.#key(appId, topic, 'listeners'),
        this.#key(appId, topic, 'providers'),
        this.#key(appId, topic, 'offers'),
        ...args,
      ),
    );
    this.#unsubscribes = new ScriptBatcher(3, (appId, topic, args) =>
      this.#redis.hsListenUnsubscribe(
        this.#key(appId, topic, 'subs'),
        nodeKey,
        this.#key(appId, topic, 'providers'),
        this.#key(appId, topic, 'offers'),
        ...args,
      ),
    );
  }

  #key(appId: string, topic: ListenTopic, what: string) {
    return `${this.#prefix}hs:${appId}:listen:${topic}:${what}`;
  }

  #nodeKey(nodeId: string) {
    return `${this.#prefix}hs:_cluster:listen:${nodeId}`;
  }

  #subsOf(appId: string, topic: ListenTopic): Set<string> {
    const key = `${appId}${SEP}${topic}`;
    let mine = this.#mineSubs.get(key);
    if (!mine) {
      mine = { appId, topic, names: new Set() };
      this.#mineSubs.set(key, mine);
    }
    return mine.names;
  }

  async subscribe(appId: string, topic: ListenTopic, name: string, offerToken: string) {
    const member = ['s', appId, topic, name].join(SEP);
    this.#subsOf(appId, topic).add(name);
    const offerMember = ['o', appId, topic, offerToken, name].join(SEP);
    const [first, provided, offer] = await this.#subscribes.add(appId, topic, [
      name,
      member,
      offerToken,
      offerMember,
    ]);
    return { first: first === 1, provided: provided === 1, offer: offer === 1 };
  }

  async subscribeMany(
    appId: string,
    topic: ListenTopic,
    names: readonly string[],
    offerTokenBase: string,
  ): Promise<readonly number[]> {
    const mine = this.#subsOf(appId, topic);
    for (const name of names) mine.add(name);
    if (names.length <= NAMES_PER_SCRIPT_CALL)
      return this.#subscribeMany(appId, topic, names, offerTokenBase, 0);
    // Each call runs alone in Redis: a few hundred names at a time.
    const calls: Promise<number[]>[] = [];
    for (let start = 0; start < names.length; start += NAMES_PER_SCRIPT_CALL) {
      const slice = names.slice(start, start + NAMES_PER_SCRIPT_CALL);
      calls.push(this.#subscribeMany(appId, topic, slice, offerTokenBase, start));
    }
    return (await Promise.all(calls)).flat();
  }

  /** One SUBSCRIBE_MANY call; its names are numbered (for their offers' tokens) from `from`. */
  #subscribeMany(
    appId: string,
    topic: ListenTopic,
    names: readonly string[],
    offerTokenBase: string,
    from: number,
  ): Promise<number[]> {
    return this.#redis.hsListenSubscribeMany(
      this.#key(appId, topic, 'subs'),
      this.#nodeKey(this.#nodeId),
      this.#key(appId, topic, 'listeners'),
      this.#key(appId, topic, 'providers'),
      this.#key(appId, topic, 'offers'),
      `s${SEP}${appId}${SEP}${topic}${SEP}`,
      `o${SEP}${appId}${SEP}${topic}${SEP}`,
      offerTokenBase,
      String(from),
      ...names,
    );
  }

  async unsubscribe(appId: string, topic: ListenTopic, name: string) {
    const member = ['s', appId, topic, name].join(SEP);
    const key = `${appId}${SEP}${topic}`;
    const mine = this.#mineSubs.get(key);
    if (mine?.names.delete(name) && mine.names.size === 0) this.#mineSubs.delete(key);
    const [last, provider, offer] = await this.#unsubscribes.add(appId, topic, [name, member]);
    return {
      last: last === 1,
      provider: String(provider ?? '') || null,
      offer: String(offer ?? '') || null,
    };
  }

  async unsubscribeMany(
    appId: string,
    topic: ListenTopic,
    names: readonly string[],
  ): Promise<readonly (number | string)[]> {
    const key = `${appId}${SEP}${topic}`;
    const mine = this.#mineSubs.get(key);
    if (mine) {
      for (const name of names) mine.names.delete(name);
      if (mine.names.size === 0) this.#mineSubs.delete(key);
    }
    const calls: Promise<(number | string)[]>[] = [];
    // Each call runs alone in Redis: a few hundred names at a time.
    for (let start = 0; start < names.length; start += NAMES_PER_SCRIPT_CALL) {
      calls.push(
        this.#redis.hsListenUnsubscribeMany(
          this.#key(appId, topic, 'subs'),
          this.#nodeKey(this.#nodeId),
          this.#key(appId, topic, 'providers'),
          this.#key(appId, topic, 'offers'),
          `s${SEP}${appId}${SEP}${topic}${SEP}`,
          ...names.slice(start, start + NAMES_PER_SCRIPT_CALL),
        ),
      );
    }
    return calls.length === 1 ? await calls[0]! : (await Promise.all(calls)).flat();
  }

  /** Another node's subscription (removeNode): not batched, its node index is not this node's. */
  async #unsubscribeOf(
    appId: string,
    topic: ListenTopic,
    name: string,
    nodeKey: string,
    member: string,
  ) {
    const [last, provider, offer] = await this.#redis.hsListenUnsubscribe(
      this.#key(appId, topic, 'subs'),
      nodeKey,
      this.#key(appId, topic, 'providers'),
      this.#key(appId, topic, 'offers'),
      name,
      member,
    );
    return {
      last: last === 1,
      provider: String(provider ?? '') || null,
      offer: String(offer ?? '') || null,
    };
  }

  async addListener(appId: string, topic: ListenTopic, connection: string, pattern: string) {
    const member = ['l', appId, topic, connection, pattern].join(SEP);
    this.#mine.add(member);
    await this.#addListener(appId, topic, connection, pattern, member);
  }

  #addListener(
    appId: string,
    topic: ListenTopic,
    connection: string,
    pattern: string,
    member: string,
  ) {
    return this.#redis.hsListenAddListener(
      this.#key(appId, topic, 'listeners'),
      this.#nodeKey(this.#nodeId),
      this.#key(appId, topic, 'order'),
      this.#key(appId, topic, 'seq'),
      listenerKey(this.#nodeId, connection, pattern),
      member,
    );
  }

  async removeListener(appId: string, topic: ListenTopic, connection: string, pattern: string) {
    const member = ['l', appId, topic, connection, pattern].join(SEP);
    this.#mine.delete(member);
    await this.#dropListener(appId, topic, this.#nodeId, connection, pattern, member);
  }

  async #dropListener(
    appId: string,
    topic: ListenTopic,
    node: string,
    connection: string,
    pattern: string,
    member: string,
  ) {
    await this.#redis
      .multi()
      .srem(this.#key(appId, topic, 'listeners'), listenerKey(node, connection, pattern))
      .hdel(this.#key(appId, topic, 'order'), listenerKey(node, connection, pattern))
      .srem(this.#nodeKey(node), member)
      .exec();
  }

  async listeners(appId: string, topic: ListenTopic): Promise<ListenerEntry[]> {
    const results = await this.#redis
      .pipeline()
      .smembers(this.#key(appId, topic, 'listeners'))
      .hgetall(this.#key(appId, topic, 'order'))
      .exec();
    const [members, order] = (results ?? []).map(([error, value]) => {
      if (error) throw error;
      return value;
    }) as [string[], Record<string, string>];
    // In the order they registered; one without a number (written back
    // before its number was) after the others.
    const rank = (member: string) => Number(order[member] ?? Number.POSITIVE_INFINITY);
    members.sort((a, b) => rank(a) - rank(b));
    const entries: ListenerEntry[] = [];
    for (const member of members) {
      const [node, connection, pattern] = fields(member, 2);
      if (node !== undefined && connection !== undefined && pattern !== undefined)
        entries.push({ node, connection, pattern });
    }
    return entries;
  }

  async unprovided(appId: string, topic: ListenTopic): Promise<string[]> {
    const results = await this.#redis
      .pipeline()
      .hkeys(this.#key(appId, topic, 'subs'))
      .hkeys(this.#key(appId, topic, 'providers'))
      .hkeys(this.#key(appId, topic, 'offers'))
      .exec();
    const [subs, providers, offers] = (results ?? []).map(([error, value]) => {
      if (error) throw error;
      return value as string[];
    });
    const taken = new Set([...(providers ?? []), ...(offers ?? [])]);
    return (subs ?? []).filter((name) => !taken.has(name));
  }

  async providers(appId: string, topic: ListenTopic, names: readonly string[]) {
    if (names.length === 0) return [];
    return this.#redis.hmget(this.#key(appId, topic, 'providers'), ...names);
  }

  async startOffer(appId: string, topic: ListenTopic, name: string, token: string) {
    const started = await this.#redis.hsListenStartOffer(
      this.#key(appId, topic, 'subs'),
      this.#key(appId, topic, 'providers'),
      this.#key(appId, topic, 'offers'),
      this.#nodeKey(this.#nodeId),
      name,
      token,
      ['o', appId, topic, token, name].join(SEP),
    );
    return started === 1;
  }

  async endOffer(appId: string, topic: ListenTopic, name: string, token: string) {
    await this.#redis.hsListenDropHeld(
      this.#key(appId, topic, 'offers'),
      this.#nodeKey(this.#nodeId),
      name,
      token,
      ['o', appId, topic, token, name].join(SEP),
    );
  }

  async claim(appId: string, topic: ListenTopic, name: string, token: string, offerToken: string) {
    const member = ['p', appId, topic, token, name].join(SEP);
    const claimed = await this.#redis.hsListenClaim(
      this.#key(appId, topic, 'subs'),
      this.#key(appId, topic, 'providers'),
      this.#key(appId, topic, 'offers'),
      this.#nodeKey(this.#nodeId),
      name,
      token,
      offerToken,
      member,
    );
    if (claimed === 1) this.#mine.add(member);
    return claimed === 1;
  }

  async release(
    appId: string,
    topic: ListenTopic,
    name: string,
    token: string,
    offerToken: string,
  ) {
    const member = ['p', appId, topic, token, name].join(SEP);
    this.#mine.delete(member);
    const [released, reoffer] = await this.#redis.hsListenRelease(
      this.#key(appId, topic, 'providers'),
      this.#key(appId, topic, 'subs'),
      this.#key(appId, topic, 'listeners'),
      this.#key(appId, topic, 'offers'),
      this.#nodeKey(this.#nodeId),
      name,
      token,
      member,
      offerToken,
      ['o', appId, topic, offerToken, name].join(SEP),
    );
    return { released: released === 1, reoffer: reoffer === 1 };
  }

  async removeNode(nodeId: string): Promise<ListenGone[]> {
    const nodeKey = this.#nodeKey(nodeId);
    const members = await this.#redis.smembers(nodeKey);
    const gone: ListenGone[] = [];
    // Providers, offers and listeners first: a name that loses its last
    // subscriber below then reports only what is still someone else's.
    const order = (m: string) => (m.startsWith('s') ? 1 : 0);
    for (const member of members.sort((a, b) => order(a) - order(b))) {
      const kind = member[0];
      if (kind === 's') {
        const [, appId, topic, name] = fields(member, 3) as [string, string, ListenTopic, string];
        const result = await this.#unsubscribeOf(appId, topic, name, nodeKey, member);
        if (result.last)
          gone.push({ appId, topic, name, provider: result.provider, offer: result.offer });
      } else if (kind === 'l') {
        const [, appId, topic, connection, pattern] = fields(member, 4) as [
          string,
          string,
          ListenTopic,
          string,
          string,
        ];
        await this.#dropListener(appId, topic, nodeId, connection, pattern, member);
      } else if (kind === 'p' || kind === 'o') {
        const [, appId, topic, token, name] = fields(member, 4) as [
          string,
          string,
          ListenTopic,
          string,
          string,
        ];
        const hash = this.#key(appId, topic, kind === 'p' ? 'providers' : 'offers');
        await this.#redis.hsListenDropHeld(hash, nodeKey, name, token, member);
      }
    }
    await this.#redis.del(nodeKey);
    if (nodeId === this.#nodeId) {
      this.#mine.clear();
      this.#mineSubs.clear();
    }
    return gone;
  }

  onRestored(callback: () => void): () => void {
    this.#restored.add(callback);
    return () => this.#restored.delete(callback);
  }

  /** Writes this node's registrations back (after Redis came back, maybe empty). */
  async restore(): Promise<void> {
    await this.#writeBack();
    for (const callback of [...this.#restored]) callback();
  }

  async #writeBack(): Promise<void> {
    const nodeKey = this.#nodeKey(this.#nodeId);
    for (const { appId, topic, names } of [...this.#mineSubs.values()]) {
      const all = [...names];
      for (let start = 0; start < all.length; start += NAMES_PER_SCRIPT_CALL)
        await this.#subscribeMany(
          appId,
          topic,
          all.slice(start, start + NAMES_PER_SCRIPT_CALL),
          '',
          0,
        );
    }
    for (const member of [...this.#mine]) {
      const kind = member[0];
      if (kind === 'l') {
        const [, appId, topic, connection, pattern] = fields(member, 4) as [
          string,
          string,
          ListenTopic,
          string,
          string,
        ];
        await this.#addListener(appId, topic, connection, pattern, member);
      } else if (kind === 'p') {
        const [, appId, topic, token, name] = fields(member, 4) as [
          string,
          string,
          ListenTopic,
          string,
          string,
        ];
        await this.#redis.hsListenRestoreProvider(
          this.#key(appId, topic, 'providers'),
          nodeKey,
          name,
          token,
          member,
        );
      }
    }
  }

  async close(): Promise<void> {
    this.#redis.off('ready', this.#onReady);
  }
}
