import type { Redis } from 'ioredis';

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
   * This node lost its last subscriber of the name. When it was the last
   * anywhere (`last`), the provider and the offer are dropped and returned.
   */
  unsubscribe(
    appId: string,
    topic: ListenTopic,
    name: string,
  ): Promise<{ last: boolean; provider: string | null; offer: string | null }>;
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

// Local ---------------------------------------------------------------------

type Held = { token: string; node: string };
type Scope = {
  subs: Map<string, Set<string>>; // name -> nodes
  listeners: Map<string, ListenerEntry>; // node\0connection\0pattern
  providers: Map<string, Held>;
  offers: Map<string, Held>;
};

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

const listenerKey = (node: string, connection: string, pattern: string) =>
  `${node}\u0000${connection}\u0000${pattern}`;

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
    let nodes = scope.subs.get(name);
    if (nodes?.has(this.#nodeId))
      return { first: false, provided: scope.providers.has(name), offer: false };
    const first = !nodes;
    if (!nodes) {
      nodes = new Set();
      scope.subs.set(name, nodes);
    }
    nodes.add(this.#nodeId);
    const provided = scope.providers.has(name);
    const offer =
      first &&
      offerToken !== '' &&
      !provided &&
      scope.listeners.size > 0 &&
      !scope.offers.has(name);
    if (offer) scope.offers.set(name, { token: offerToken, node: this.#nodeId });
    return { first, provided, offer };
  }

  async unsubscribe(appId: string, topic: ListenTopic, name: string) {
    return this.#unsubscribe(this.#state.scope(appId, topic), name, this.#nodeId);
  }

  #unsubscribe(scope: Scope, name: string, node: string) {
    const nodes = scope.subs.get(name);
    if (!nodes?.delete(node) || nodes.size > 0) return { last: false, provider: null, offer: null };
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

// Redis ---------------------------------------------------------------------

// Per app and topic, under `{prefix}hs:{appId}:listen:{topic}:`:
//   subs       hash  name -> number of nodes with subscribers
//   listeners  set   node\0connection\0pattern
//   order      hash  node\0connection\0pattern -> registration number
//   seq        the last registration number given
//   providers  hash  name -> provider token
//   offers     hash  name -> offer token
// Per node, `{prefix}hs:_cluster:listen:{nodeId}`: a set of what the node
// holds, so a dead node's share can be taken back:
//   s\0app\0topic\0name, l\0app\0topic\0connection\0pattern,
//   p\0app\0topic\0token\0name, o\0app\0topic\0token\0name

// KEYS: subs, node index, listeners, providers, offers.
// ARGV: for each name, four: name, subs member, offer token ('' none), offer
// member. Returns three numbers per name: first, provided, offer. Many names
// in one call (names a node got its first subscriber of in one turn): one
// script call and one reply instead of one per name.
const SUBSCRIBE = `
local out = {}
local listening = nil
for i = 1, #ARGV, 4 do
  local name, member, token, offerMember = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if redis.call('SADD', KEYS[2], member) == 0 then
    table.insert(out, 0)
    table.insert(out, redis.call('HEXISTS', KEYS[4], name))
    table.insert(out, 0)
  else
    local first = redis.call('HINCRBY', KEYS[1], name, 1) == 1 and 1 or 0
    local provided = redis.call('HEXISTS', KEYS[4], name)
    local offer = 0
    if first == 1 and provided == 0 and token ~= '' then
      if listening == nil then listening = redis.call('SCARD', KEYS[3]) > 0 end
      if listening and redis.call('HEXISTS', KEYS[5], name) == 0 then
        redis.call('HSET', KEYS[5], name, token)
        redis.call('SADD', KEYS[2], offerMember)
        offer = 1
      end
    end
    table.insert(out, first)
    table.insert(out, provided)
    table.insert(out, offer)
  end
end
return out
`;

// KEYS: subs, node index, providers, offers. ARGV: for each name, two: name,
// subs member. Returns three values per name: last (1 or 0), provider token
// ('' none), offer token ('' none).
const UNSUBSCRIBE = `
local out = {}
for i = 1, #ARGV, 2 do
  local name, member = ARGV[i], ARGV[i + 1]
  if redis.call('SREM', KEYS[2], member) == 0 or redis.call('HINCRBY', KEYS[1], name, -1) > 0 then
    table.insert(out, 0)
    table.insert(out, '')
    table.insert(out, '')
  else
    redis.call('HDEL', KEYS[1], name)
    local provider = redis.call('HGET', KEYS[3], name) or ''
    local offer = redis.call('HGET', KEYS[4], name) or ''
    redis.call('HDEL', KEYS[3], name)
    redis.call('HDEL', KEYS[4], name)
    table.insert(out, 1)
    table.insert(out, provider)
    table.insert(out, offer)
  end
end
return out
`;

// KEYS: subs, providers, offers, node index. ARGV: name, token, offer member.
const START_OFFER = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1
  or redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[3])
return 1
`;

// KEYS: hash (offers or providers), node index. ARGV: name, token, member.
const DROP_HELD = `
redis.call('SREM', KEYS[2], ARGV[3])
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
`;

// KEYS: subs, providers, offers, node index.
// ARGV: name, token, offer token, provider member.
const CLAIM = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[4])
if redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[3] then redis.call('HDEL', KEYS[3], ARGV[1]) end
return 1
`;

// KEYS: providers, subs, listeners, offers, node index.
// ARGV: name, token, provider member, offer token ('' none), offer member.
const RELEASE = `
redis.call('SREM', KEYS[5], ARGV[3])
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return {0, 0} end
redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[4] == '' or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0
  or redis.call('SCARD', KEYS[3]) == 0 or redis.call('HEXISTS', KEYS[4], ARGV[1]) == 1 then
  return {1, 0}
end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[4])
redis.call('SADD', KEYS[5], ARGV[5])
return {1, 1}
`;

// KEYS: providers, node index. ARGV: name, token, member. Written back after a
// Redis restart: the provider keeps its name unless another one took it.
const RESTORE_PROVIDER = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('SADD', KEYS[2], ARGV[3])
  return 1
end
return 0
`;

// KEYS: listeners, node index, order, seq. ARGV: listener member, index member.
// A listener keeps the number it first registered with: providers can be
// offered in the order they registered (LISTEN_SHUFFLE_PROVIDERS=false).
const ADD_LISTENER = `
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then
  redis.call('HSET', KEYS[3], ARGV[1], redis.call('INCR', KEYS[4]))
end
`;

type Commands = Redis & {
  hsListenAddListener(...args: string[]): Promise<unknown>;
  hsListenSubscribe(...args: string[]): Promise<number[]>;
  hsListenUnsubscribe(...args: string[]): Promise<(number | string)[]>;
  hsListenStartOffer(...args: string[]): Promise<number>;
  hsListenDropHeld(...args: string[]): Promise<number>;
  hsListenClaim(...args: string[]): Promise<number>;
  hsListenRelease(...args: string[]): Promise<[number, number]>;
  hsListenRestoreProvider(...args: string[]): Promise<number>;
};

const SEP = '\u0000';

/** Splits `count` fields off the front; the rest (a name or pattern) may hold anything. */
function fields(member: string, count: number): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const end = member.indexOf(SEP, start);
    if (end < 0) return [];
    out.push(member.slice(start, end));
    start = end + 1;
  }
  out.push(member.slice(start));
  return out;
}

/** Names one script call takes at most (the script runs alone in Redis meanwhile). */
export const NAMES_PER_SCRIPT_CALL = 256;

type Waiting<R> = { resolve: (values: R[]) => void; reject: (error: unknown) => void };

/**
 * Gathers the calls of one script made in the same turn of the event loop,
 * per app and topic, into one call that takes many names: a 1,000-name
 * SUBSCRIBE (or a connection closing with thousands of names) costs a few
 * script calls instead of one per name, with their commands, replies and
 * promises. Each caller gets its own `width` values of the reply.
 */
class ScriptBatcher<R> {
  readonly #width: number;
  readonly #call: (appId: string, topic: ListenTopic, args: string[]) => Promise<R[]>;
  readonly #pending = new Map<
    string,
    { appId: string; topic: ListenTopic; args: string[]; waiting: Waiting<R>[] }
  >();
  #scheduled = false;

  constructor(
    width: number,
    call: (appId: string, topic: ListenTopic, args: string[]) => Promise<R[]>,
  ) {
    this.#width = width;
    this.#call = call;
  }

  add(appId: string, topic: ListenTopic, args: string[]): Promise<R[]> {
    const key = `${appId}${SEP}${topic}`;
    let batch = this.#pending.get(key);
    if (!batch) {
      batch = { appId, topic, args: [], waiting: [] };
      this.#pending.set(key, batch);
    }
    batch.args.push(...args);
    const promise = new Promise<R[]>((resolve, reject) => batch.waiting.push({ resolve, reject }));
    if (batch.waiting.length >= NAMES_PER_SCRIPT_CALL) {
      this.#pending.delete(key);
      this.#send(batch.appId, batch.topic, batch.args, batch.waiting);
    } else if (!this.#scheduled) {
      // After the calls of this turn's microtasks: they all join the batch.
      this.#scheduled = true;
      process.nextTick(() => this.#flush());
    }
    return promise;
  }

  #flush() {
    this.#scheduled = false;
    const batches = [...this.#pending.values()];
    this.#pending.clear();
    for (const { appId, topic, args, waiting } of batches) this.#send(appId, topic, args, waiting);
  }

  #send(appId: string, topic: ListenTopic, args: string[], waiting: Waiting<R>[]) {
    this.#call(appId, topic, args).then(
      (reply) => {
        for (const [i, w] of waiting.entries())
          w.resolve(reply.slice(i * this.#width, (i + 1) * this.#width));
      },
      (error: unknown) => {
        for (const w of waiting) w.reject(error);
      },
    );
  }
}

export class RedisListenerRegistry implements ListenerRegistry {
  readonly #redis: Commands;
  readonly #prefix: string;
  readonly #nodeId: string;
  /** This node's own registrations (index members), written back after a Redis restart. */
  readonly #mine = new Set<string>();
  readonly #restored = new Set<() => void>();
  #seenReady: boolean;
  readonly #onReady: () => void;
  readonly #subscribes: ScriptBatcher<number>;
  readonly #unsubscribes: ScriptBatcher<number | string>;

  constructor(options: { redis: Redis; nodeId: string; keyPrefix?: string }) {
    const { redis } = options;
    redis.defineCommand('hsListenSubscribe', { numberOfKeys: 5, lua: SUBSCRIBE });
    redis.defineCommand('hsListenUnsubscribe', { numberOfKeys: 4, lua: UNSUBSCRIBE });
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

  async subscribe(appId: string, topic: ListenTopic, name: string, offerToken: string) {
    const member = ['s', appId, topic, name].join(SEP);
    this.#mine.add(member);
    const offerMember = ['o', appId, topic, offerToken, name].join(SEP);
    const [first, provided, offer] = await this.#subscribes.add(appId, topic, [
      name,
      member,
      offerToken,
      offerMember,
    ]);
    return { first: first === 1, provided: provided === 1, offer: offer === 1 };
  }

  async unsubscribe(appId: string, topic: ListenTopic, name: string) {
    const member = ['s', appId, topic, name].join(SEP);
    this.#mine.delete(member);
    const [last, provider, offer] = await this.#unsubscribes.add(appId, topic, [name, member]);
    return {
      last: last === 1,
      provider: String(provider ?? '') || null,
      offer: String(offer ?? '') || null,
    };
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
    if (nodeId === this.#nodeId) this.#mine.clear();
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
    for (const member of [...this.#mine]) {
      const kind = member[0];
      if (kind === 's') {
        const [, appId, topic, name] = fields(member, 3) as [string, string, ListenTopic, string];
        await this.#redis.hsListenSubscribe(
          this.#key(appId, topic, 'subs'),
          nodeKey,
          this.#key(appId, topic, 'listeners'),
          this.#key(appId, topic, 'providers'),
          this.#key(appId, topic, 'offers'),
          name,
          member,
          '',
          '',
        );
      } else if (kind === 'l') {
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
