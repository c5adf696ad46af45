import type { Redis } from 'ioredis';
import { addTo, deleteFrom } from './mine.ts';
import type { RpcProviderRegistry, RpcRegistration } from './rpc-registry.ts';

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
