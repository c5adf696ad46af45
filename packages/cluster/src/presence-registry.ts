import type { Redis } from 'ioredis';

// Who is online in an app across the cluster. A node calls join when a user
// gets their first connection on that node and leave when the last one
// closes; the registry answers whether that made the user come online (or go
// offline) for the whole cluster, so exactly one node announces it.

export interface PresenceRegistry {
  /** True when the user was offline everywhere before. */
  join(appId: string, user: string): Promise<boolean>;
  /** True when the user is now offline everywhere. */
  leave(appId: string, user: string): Promise<boolean>;
  online(appId: string): Promise<string[]>;
  areOnline(appId: string, users: readonly string[]): Promise<boolean[]>;
  /** Removes everything a (dead) node held; returns the users that went offline. */
  removeNode(nodeId: string): Promise<{ appId: string; user: string }[]>;
  /**
   * Writes this node's share back (Redis came back empty, or the node was
   * declared dead); returns the users that came online again by it.
   */
  restore(): Promise<{ appId: string; user: string }[]>;
  close(): Promise<void>;
}

/** One process: the node's own counts are the cluster's. */
export class LocalPresenceRegistry implements PresenceRegistry {
  readonly #online = new Map<string, Set<string>>();

  async join(appId: string, user: string): Promise<boolean> {
    let users = this.#online.get(appId);
    if (!users) {
      users = new Set();
      this.#online.set(appId, users);
    }
    if (users.has(user)) return false;
    users.add(user);
    return true;
  }

  async leave(appId: string, user: string): Promise<boolean> {
    const users = this.#online.get(appId);
    if (!users?.delete(user)) return false;
    if (users.size === 0) this.#online.delete(appId);
    return true;
  }

  async online(appId: string): Promise<string[]> {
    return [...(this.#online.get(appId) ?? [])];
  }

  async areOnline(appId: string, users: readonly string[]): Promise<boolean[]> {
    const online = this.#online.get(appId);
    return users.map((u) => online?.has(u) ?? false);
  }

  async removeNode(): Promise<{ appId: string; user: string }[]> {
    return [];
  }

  async restore(): Promise<{ appId: string; user: string }[]> {
    return [];
  }

  async close(): Promise<void> {
    this.#online.clear();
  }
}

// KEYS: app hash (user -> nodes holding the user), node set (app\0user
// members this node holds). ARGV: user, member.
const JOIN = `
if redis.call('SADD', KEYS[2], ARGV[2]) == 0 then return 0 end
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1) == 1 and 1 or 0
`;
const LEAVE = `
if redis.call('SREM', KEYS[2], ARGV[2]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
`;

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
