import type { Redis } from 'ioredis';
import { JOIN, LEAVE } from './lua.ts';
import type { PresenceRegistry } from './presence-registry.ts';

type Commands = Redis & {
  hsPresenceJoin(appKey: string, nodeKey: string, user: string, member: string): Promise<number>;
  hsPresenceLeave(appKey: string, nodeKey: string, user: string, member: string): Promise<number>;
};

/**
 * Presence in Redis: `{prefix}hs:{appId}:presence` counts, per user, the
 * nodes where the user is connected; `{prefix}hs:_cluster:presence:{nodeId}`
 * lists what each node holds, so a dead node's share can be taken back.
 * The node keeps its own share in memory and writes it again whenever its
 * connection becomes ready (Redis may have come back empty).
 */
export class RedisPresenceRegistry implements PresenceRegistry {
  readonly #redis: Commands;
  readonly #prefix: string;
  readonly #nodeId: string;
  /** This node's share: `appId\0user` members. */
  readonly #mine = new Set<string>();
  readonly #onReady = () => {
    this.restore().catch(() => {
      // The next 'ready' (or the node's next revival) writes them again.
    });
  };

  constructor(options: { redis: Redis; nodeId: string; keyPrefix?: string }) {
    options.redis.defineCommand('hsPresenceJoin', { numberOfKeys: 2, lua: JOIN });
    options.redis.defineCommand('hsPresenceLeave', { numberOfKeys: 2, lua: LEAVE });
    this.#redis = options.redis as Commands;
    this.#prefix = options.keyPrefix ?? '';
    this.#nodeId = options.nodeId;
    this.#redis.on('ready', this.#onReady);
  }

  #appKey(appId: string) {
    return `${this.#prefix}hs:${appId}:presence`;
  }

  #nodeKey(nodeId: string) {
    return `${this.#prefix}hs:_cluster:presence:${nodeId}`;
  }

  async join(appId: string, user: string): Promise<boolean> {
    const member = `${appId}\u0000${user}`;
    this.#mine.add(member);
    return (
      (await this.#redis.hsPresenceJoin(
        this.#appKey(appId),
        this.#nodeKey(this.#nodeId),
        user,
        member,
      )) === 1
    );
  }

  async leave(appId: string, user: string): Promise<boolean> {
    const member = `${appId}\u0000${user}`;
    this.#mine.delete(member);
    return (
      (await this.#redis.hsPresenceLeave(
        this.#appKey(appId),
        this.#nodeKey(this.#nodeId),
        user,
        member,
      )) === 1
    );
  }

  async online(appId: string): Promise<string[]> {
    return this.#redis.hkeys(this.#appKey(appId));
  }

  async areOnline(appId: string, users: readonly string[]): Promise<boolean[]> {
    if (users.length === 0) return [];
    const counts = await this.#redis.hmget(this.#appKey(appId), ...users);
    return counts.map((c) => c !== null && Number(c) > 0);
  }

  async removeNode(nodeId: string): Promise<{ appId: string; user: string }[]> {
    const nodeKey = this.#nodeKey(nodeId);
    const members = await this.#redis.smembers(nodeKey);
    const offline: { appId: string; user: string }[] = [];
    for (const member of members) {
      const [appId, user] = member.split('\u0000') as [string, string];
      if ((await this.#redis.hsPresenceLeave(this.#appKey(appId), nodeKey, user, member)) === 1) {
        offline.push({ appId, user });
      }
    }
    await this.#redis.del(nodeKey);
    return offline;
  }

  async restore(): Promise<{ appId: string; user: string }[]> {
    const nodeKey = this.#nodeKey(this.#nodeId);
    const back: { appId: string; user: string }[] = [];
    await Promise.all(
      [...this.#mine].map(async (member) => {
        const [appId, user] = member.split('\u0000') as [string, string];
        const came = await this.#redis.hsPresenceJoin(this.#appKey(appId), nodeKey, user, member);
        if (came === 1) back.push({ appId, user });
      }),
    );
    return back;
  }

  async close(): Promise<void> {
    this.#redis.off('ready', this.#onReady);
  }
}
