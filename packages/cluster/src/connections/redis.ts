import type { Redis } from 'ioredis';
import type { ConnectionCounter } from './connection-counter.ts';
import { ACQUIRE, RELEASE, REMOVE } from './lua.ts';

type Commands = Redis & {
  hsConnAcquire(
    app: string,
    node: string,
    nodeId: string,
    max: number,
    appId: string,
  ): Promise<number>;
  hsConnRelease(app: string, node: string, nodeId: string, appId: string): Promise<number>;
  hsConnRemove(app: string, node: string, nodeId: string): Promise<number>;
};

/**
 * Counts in Redis: `{prefix}hs:{appId}:connections` is a hash with a field
 * per node; `{prefix}hs:_cluster:connections:{nodeId}` lists the apps a node
 * counts in, so removeNode finds them. The node keeps its own counts in
 * memory too and writes them back when Redis comes back (it may have
 * restarted empty).
 */
export class RedisConnectionCounter implements ConnectionCounter {
  readonly #redis: Commands;
  readonly #prefix: string;
  readonly #nodeId: string;
  /** This node's own counts, the copy replayed after a reconnect. */
  readonly #mine = new Map<string, number>();
  readonly #onReady: () => void;
  readonly #log: ((error: unknown) => void) | undefined;

  constructor(options: {
    redis: Redis;
    nodeId: string;
    keyPrefix?: string;
    onRestoreError?: (error: unknown) => void;
  }) {
    options.redis.defineCommand('hsConnAcquire', { numberOfKeys: 2, lua: ACQUIRE });
    options.redis.defineCommand('hsConnRelease', { numberOfKeys: 2, lua: RELEASE });
    options.redis.defineCommand('hsConnRemove', { numberOfKeys: 2, lua: REMOVE });
    this.#redis = options.redis as Commands;
    this.#prefix = options.keyPrefix ?? '';
    this.#nodeId = options.nodeId;
    this.#log = options.onRestoreError;
    // 'ready' fires again after every reconnect; the first one has nothing to replay.
    this.#onReady = () => {
      this.restore().catch((error: unknown) => this.#log?.(error));
    };
    this.#redis.on('ready', this.#onReady);
  }

  #appKey(appId: string) {
    return `${this.#prefix}hs:${appId}:connections`;
  }

  #nodeKey(nodeId: string) {
    return `${this.#prefix}hs:_cluster:connections:${nodeId}`;
  }

  async acquire(appId: string, max: number): Promise<boolean> {
    const ok = await this.#redis.hsConnAcquire(
      this.#appKey(appId),
      this.#nodeKey(this.#nodeId),
      this.#nodeId,
      max,
      appId,
    );
    if (ok !== 1) return false;
    this.#mine.set(appId, (this.#mine.get(appId) ?? 0) + 1);
    return true;
  }

  async release(appId: string): Promise<void> {
    const held = (this.#mine.get(appId) ?? 0) - 1;
    if (held > 0) this.#mine.set(appId, held);
    else this.#mine.delete(appId);
    await this.#redis.hsConnRelease(
      this.#appKey(appId),
      this.#nodeKey(this.#nodeId),
      this.#nodeId,
      appId,
    );
  }

  async count(appId: string): Promise<number> {
    const counts = await this.#redis.hvals(this.#appKey(appId));
    return counts.reduce((sum, n) => sum + Number(n), 0);
  }

  async restore(): Promise<void> {
    if (this.#mine.size === 0) return;
    const nodeKey = this.#nodeKey(this.#nodeId);
    const batch = this.#redis.multi();
    for (const [appId, held] of this.#mine) {
      batch.hset(this.#appKey(appId), this.#nodeId, held);
      batch.sadd(nodeKey, appId);
    }
    const results = await batch.exec();
    const failed = results?.find(([error]) => error);
    if (failed) throw failed[0];
  }

  async removeNode(nodeId: string): Promise<{ appId: string; connections: number }[]> {
    const nodeKey = this.#nodeKey(nodeId);
    const apps = await this.#redis.smembers(nodeKey);
    const removed: { appId: string; connections: number }[] = [];
    for (const appId of apps) {
      const held = await this.#redis.hsConnRemove(this.#appKey(appId), nodeKey, nodeId);
      if (held > 0) removed.push({ appId, connections: held });
    }
    await this.#redis.del(nodeKey);
    if (nodeId === this.#nodeId) this.#mine.clear();
    return removed;
  }

  async close(): Promise<void> {
    this.#redis.off('ready', this.#onReady);
  }
}
