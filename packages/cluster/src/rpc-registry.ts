import type { Redis } from 'ioredis';

// Which nodes provide which RPC, per app. A node registers a name when its
// first local provider of that name arrives and unregisters it when its last
// one leaves; a requester's node asks which nodes to offer a call to. Only
// nodes are recorded, never connections: the node that holds a provider
// picks among its own providers.

export type RpcRegistration = { appId: string; name: string };

export interface RpcProviderRegistry {
  /** This node has a provider of `name` in the app (idempotent). */
  register(appId: string, name: string): Promise<void>;
  /** This node's last provider of `name` in the app left (idempotent). */
  unregister(appId: string, name: string): Promise<void>;
  /** The nodes with a provider of `name` in the app, this one included. */
  nodesFor(appId: string, name: string): Promise<string[]>;
  /**
   * Removes everything a (dead) node registered; returns what was removed.
   * Idempotent. The node's own copy of its registrations stays: `restore`
   * writes it back if the node turns out to be alive.
   */
  removeNode(nodeId: string): Promise<RpcRegistration[]>;
  /** Writes this node's own registrations again. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

type Table = Map<string, Map<string, Set<string>>>;

/**
 * In-process: the single node's registrations. Registries built with
 * `sharedWith` see one table, as nodes sharing one Redis would (several
 * nodes in one process, in tests).
 */
export class LocalRpcProviderRegistry implements RpcProviderRegistry {
  readonly #nodeId: string;
  readonly #table: Table;
  /** This node's registrations, for restore(). */
  readonly #mine = new Map<string, Set<string>>();

  constructor(options: { nodeId: string; sharedWith?: LocalRpcProviderRegistry }) {
    this.#nodeId = options.nodeId;
    this.#table = options.sharedWith ? options.sharedWith.#table : new Map();
  }

  async register(appId: string, name: string): Promise<void> {
    addTo(this.#mine, appId, name);
    this.#add(appId, name);
  }

  async unregister(appId: string, name: string): Promise<void> {
    deleteFrom(this.#mine, appId, name);
    this.#remove(appId, name, this.#nodeId);
  }

  async nodesFor(appId: string, name: string): Promise<string[]> {
    return [...(this.#table.get(appId)?.get(name) ?? [])];
  }

  async removeNode(nodeId: string): Promise<RpcRegistration[]> {
    const removed: RpcRegistration[] = [];
    for (const [appId, names] of [...this.#table]) {
      for (const name of [...names.keys()]) {
        if (this.#remove(appId, name, nodeId)) removed.push({ appId, name });
      }
    }
    return removed;
  }

  async restore(): Promise<void> {
    for (const [appId, names] of this.#mine) for (const name of names) this.#add(appId, name);
  }

  #add(appId: string, name: string) {
    let names = this.#table.get(appId);
    if (!names) {
      names = new Map();
      this.#table.set(appId, names);
    }
    let nodes = names.get(name);
    if (!nodes) {
      nodes = new Set();
      names.set(name, nodes);
    }
    nodes.add(this.#nodeId);
  }

  #remove(appId: string, name: string, nodeId: string): boolean {
    const names = this.#table.get(appId);
    const nodes = names?.get(name);
    if (!names || !nodes?.delete(nodeId)) return false;
    if (nodes.size === 0) names.delete(name);
    if (names.size === 0) this.#table.delete(appId);
    return true;
  }

  async close(): Promise<void> {}
}

function addTo(map: Map<string, Set<string>>, appId: string, name: string) {
  let names = map.get(appId);
  if (!names) {
    names = new Set();
    map.set(appId, names);
  }
  names.add(name);
}

function deleteFrom(map: Map<string, Set<string>>, appId: string, name: string) {
  const names = map.get(appId);
  names?.delete(name);
  if (names?.size === 0) map.delete(appId);
}

/**
 * Providers in Redis: `{prefix}hs:{appId}:rpc:{name}` is the set of nodes
 * providing `name`; `{prefix}hs:_cluster:node:{nodeId}:rpc` indexes what a
 * node registered (`appId\0name`), so whoever finds it dead can take its
 * entries back. The node keeps its own registrations in memory and writes
 * them again whenever its connection becomes ready (Redis may have come back
 * empty). Every command is issued before the method's first await, so calls
 * reach Redis in the order they were made.
 */
export class RedisRpcProviderRegistry implements RpcProviderRegistry {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #nodeId: string;
  /** This node's registrations: app → names. */
  readonly #mine = new Map<string, Set<string>>();
  readonly #onReady = () => {
    this.restore().catch(() => {
      // The next 'ready' writes them again.
    });
  };

  constructor(options: { redis: Redis; nodeId: string; keyPrefix?: string }) {
    this.#redis = options.redis;
    this.#prefix = options.keyPrefix ?? '';
    this.#nodeId = options.nodeId;
    this.#redis.on('ready', this.#onReady);
  }

  #nameKey(appId: string, name: string) {
    return `${this.#prefix}hs:${appId}:rpc:${name}`;
  }

  #nodeKey(nodeId: string) {
    return `${this.#prefix}hs:_cluster:node:${nodeId}:rpc`;
  }

  async register(appId: string, name: string): Promise<void> {
    addTo(this.#mine, appId, name);
    await this.#redis
      .multi()
      .sadd(this.#nameKey(appId, name), this.#nodeId)
      .sadd(this.#nodeKey(this.#nodeId), member(appId, name))
      .exec();
  }

  async unregister(appId: string, name: string): Promise<void> {
    deleteFrom(this.#mine, appId, name);
    await this.#redis
      .multi()
      .srem(this.#nameKey(appId, name), this.#nodeId)
      .srem(this.#nodeKey(this.#nodeId), member(appId, name))
      .exec();
  }

  async nodesFor(appId: string, name: string): Promise<string[]> {
    return this.#redis.smembers(this.#nameKey(appId, name));
  }

  async removeNode(nodeId: string): Promise<RpcRegistration[]> {
    const nodeKey = this.#nodeKey(nodeId);
    const members = await this.#redis.smembers(nodeKey);
    if (members.length === 0) return [];
    const registrations = members.map(parseMember);
    // Only the members read are taken out of the index: a name the node
    // registers meanwhile (it was not dead after all) stays findable.
    const multi = this.#redis.multi();
    for (const { appId, name } of registrations) multi.srem(this.#nameKey(appId, name), nodeId);
    multi.srem(nodeKey, ...members);
    const results = (await multi.exec()) ?? [];
    // Two nodes removing the same dead node concurrently: each entry is reported once.
    return registrations.filter((_, i) => results[i]?.[1] === 1);
  }

  /** Writes this node's registrations again (Redis came back empty, or it was declared dead). */
  async restore(): Promise<void> {
    if (this.#mine.size === 0) return;
    const pipeline = this.#redis.pipeline();
    for (const [appId, names] of this.#mine) {
      for (const name of names) {
        pipeline.sadd(this.#nameKey(appId, name), this.#nodeId);
        pipeline.sadd(this.#nodeKey(this.#nodeId), member(appId, name));
      }
    }
    await pipeline.exec();
  }

  async close(): Promise<void> {
    this.#redis.off('ready', this.#onReady);
  }
}

// App ids never contain NUL; names may, so only the first one separates.
const member = (appId: string, name: string) => `${appId}\u0000${name}`;

function parseMember(value: string): RpcRegistration {
  const at = value.indexOf('\u0000');
  return { appId: value.slice(0, at), name: value.slice(at + 1) };
}
