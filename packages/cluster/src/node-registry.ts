import type { Redis } from 'ioredis';
import { CLUSTER_SCOPE } from './bus.ts';

// Which realtime nodes are alive. Each node renews its entry every heartbeat
// interval; an entry older than `deadAfterMs` belongs to a dead node, which
// exactly one surviving node claims, cleans up after (the registries of
// `NodeOwnedState`) and releases. A node that was only paused (a long GC)
// finds it was declared dead on its next beat, waits until the cleanup is
// over, then registers again and writes its state back.

/** The outcome of one heartbeat. */
export type Beat =
  /** The entry was there and is renewed. */
  | 'alive'
  /** The entry was missing (first beat, or this node was declared dead and cleaned up): it is back. */
  | 'registered'
  /** Another node is still removing this node's registrations: beat again later. */
  | 'cleaning';

export interface NodeRegistry {
  readonly nodeId: string;
  beat(): Promise<Beat>;
  /**
   * Claims the nodes whose entry expired (and those whose claimer died before
   * it released them). Atomic: each dead node goes to exactly one caller,
   * which must `release` it once its registrations are removed.
   */
  claimDead(): Promise<string[]>;
  /** The claimed node's registrations are gone: it may register again. */
  release(nodeId: string): Promise<void>;
  /** Leaves at once, for a graceful stop: nobody waits for the entry to expire. */
  deregister(): Promise<void>;
  /** The nodes alive now (this one included once it beat). */
  nodes(): Promise<string[]>;
}

/**
 * A shared registry in which each node holds registrations (presence, RPC
 * providers, listeners). The node lifecycle iterates a list of these.
 */
export type NodeOwnedState = {
  /** Removes everything `nodeId` registered; idempotent. */
  removeNode(nodeId: string): Promise<unknown>;
  /**
   * Writes this node's own registrations back from its in-memory mirror
   * (after it was wrongly declared dead). Optional: registries that replay
   * on Redis reconnects only may leave it out.
   */
  restore?(): Promise<unknown>;
};

export type NodeRegistryOptions = {
  nodeId: string;
  /** An entry older than this is a dead node's. */
  deadAfterMs: number;
  /**
   * How long a claimer has to clean up before another node may claim the
   * same dead node again (the claimer may have died too). Default 4 × deadAfterMs.
   */
  claimTimeoutMs?: number;
};

/** The nodes of one process, or of several in-process "nodes" in tests. */
export class LocalNodeTable {
  readonly beats = new Map<string, number>();
  readonly claims = new Map<string, number>();
}

export class LocalNodeRegistry implements NodeRegistry {
  readonly nodeId: string;
  readonly #table: LocalNodeTable;
  readonly #deadAfterMs: number;
  readonly #claimTimeoutMs: number;

  constructor(options: NodeRegistryOptions & { table?: LocalNodeTable }) {
    this.nodeId = options.nodeId;
    this.#table = options.table ?? new LocalNodeTable();
    this.#deadAfterMs = options.deadAfterMs;
    this.#claimTimeoutMs = options.claimTimeoutMs ?? 4 * options.deadAfterMs;
  }

  async beat(): Promise<Beat> {
    if (this.#table.claims.has(this.nodeId)) return 'cleaning';
    const existed = this.#table.beats.has(this.nodeId);
    this.#table.beats.set(this.nodeId, Date.now());
    return existed ? 'alive' : 'registered';
  }

  async claimDead(): Promise<string[]> {
    const now = Date.now();
    const claimed: string[] = [];
    for (const [node, at] of this.#table.beats) {
      if (at > now - this.#deadAfterMs) continue;
      this.#table.beats.delete(node);
      claimed.push(node);
    }
    for (const [node, until] of this.#table.claims) if (until <= now) claimed.push(node);
    for (const node of claimed) this.#table.claims.set(node, now + this.#claimTimeoutMs);
    return claimed;
  }

  async release(nodeId: string): Promise<void> {
    this.#table.claims.delete(nodeId);
  }

  async deregister(): Promise<void> {
    this.#table.beats.delete(this.nodeId);
  }

  async nodes(): Promise<string[]> {
    return [...this.#table.beats.keys()];
  }
}

// Times come from the Redis server's clock, so nodes with skewed clocks
// agree on who expired. KEYS: beats zset, claims zset.
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;
// ARGV: node. Returns 1 alive, 0 registered, -1 cleaning.
const BEAT = `${NOW}
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then return -1 end
local existed = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[1])
if existed then return 1 end
return 0
`;
// ARGV: deadAfterMs, claimTimeoutMs.
const CLAIM = `${NOW}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
local claimed = {}
for _, node in ipairs(dead) do
  redis.call('ZREM', KEYS[1], node)
  claimed[#claimed + 1] = node
end
for _, node in ipairs(stale) do claimed[#claimed + 1] = node end
for _, node in ipairs(claimed) do
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), node)
end
return claimed
`;

type Commands = Redis & {
  hsNodeBeat(beats: string, claims: string, node: string): Promise<number>;
  hsNodeClaim(beats: string, claims: string, deadAfter: number, timeout: number): Promise<string[]>;
};

/**
 * The node registry in Redis: `{prefix}hs:_cluster:nodes` scores each node
 * by its last beat, `{prefix}hs:_cluster:node-claims` each claimed dead node
 * by the time its claim runs out.
 */
export class RedisNodeRegistry implements NodeRegistry {
  readonly nodeId: string;
  readonly #redis: Commands;
  readonly #beats: string;
  readonly #claims: string;
  readonly #deadAfterMs: number;
  readonly #claimTimeoutMs: number;

  constructor(options: NodeRegistryOptions & { redis: Redis; keyPrefix?: string }) {
    options.redis.defineCommand('hsNodeBeat', { numberOfKeys: 2, lua: BEAT });
    options.redis.defineCommand('hsNodeClaim', { numberOfKeys: 2, lua: CLAIM });
    this.#redis = options.redis as Commands;
    this.nodeId = options.nodeId;
    const base = `${options.keyPrefix ?? ''}hs:${CLUSTER_SCOPE}:`;
    this.#beats = `${base}nodes`;
    this.#claims = `${base}node-claims`;
    this.#deadAfterMs = options.deadAfterMs;
    this.#claimTimeoutMs = options.claimTimeoutMs ?? 4 * options.deadAfterMs;
  }

  async beat(): Promise<Beat> {
    const result = await this.#redis.hsNodeBeat(this.#beats, this.#claims, this.nodeId);
    return result === 1 ? 'alive' : result === 0 ? 'registered' : 'cleaning';
  }

  claimDead(): Promise<string[]> {
    return this.#redis.hsNodeClaim(
      this.#beats,
      this.#claims,
      this.#deadAfterMs,
      this.#claimTimeoutMs,
    );
  }

  async release(nodeId: string): Promise<void> {
    await this.#redis.zrem(this.#claims, nodeId);
  }

  async deregister(): Promise<void> {
    await this.#redis.zrem(this.#beats, this.nodeId);
  }

  nodes(): Promise<string[]> {
    return this.#redis.zrange(this.#beats, 0, -1);
  }
}

export type NodeWatchOptions = {
  registry: NodeRegistry;
  intervalMs: number;
  /** Removes a dead node's registrations and tells the cluster; `release` follows. */
  cleanUp(deadNode: string): Promise<void>;
  /** This node was declared dead and cleaned up, and is registered again: write its state back. */
  revived(): Promise<void>;
  onError(error: unknown, what: string): void;
};

/**
 * Runs a node's heartbeat: every interval it renews its entry, then claims
 * and cleans up after dead nodes. A dead node is cleaned up within
 * deadAfterMs plus one interval (plus the cleanup's own time).
 */
export class NodeWatch {
  readonly #options: NodeWatchOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | null = null;
  /** When this node last beat: only a node that kept beating judges the others. */
  #lastBeat = 0;
  #started = false;
  #registered = false;
  #restore = false;

  constructor(options: NodeWatchOptions) {
    this.#options = options;
  }

  /** Registers this node (first beat) and starts beating. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#tick();
    this.#timer = setInterval(() => {
      // One tick at a time: beats a slow Redis holds up are skipped, not piled up.
      if (!this.#running) void this.#tick();
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  #tick(): Promise<void> {
    const running = this.#run().finally(() => {
      this.#running = null;
    });
    this.#running = running;
    return running;
  }

  /** Stops beating; `deregister` for a graceful stop (a crash leaves the entry to expire). */
  async stop(options: { deregister: boolean }): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
    if (options.deregister && this.#started) await this.#options.registry.deregister();
    this.#started = false;
  }

  async #run(): Promise<void> {
    const { registry, onError, intervalMs } = this.#options;
    // After a gap in this node's own beats (it stalled, or lost Redis as
    // everyone may have), the others' entries look old too: give them a beat
    // to show they are alive before declaring anyone dead.
    const judging = Date.now() - this.#lastBeat <= 2 * intervalMs;
    try {
      const beat = await registry.beat();
      if (beat === 'cleaning') return;
      this.#lastBeat = Date.now();
      if (beat === 'registered' && this.#registered) this.#restore = true;
      this.#registered = true;
      if (this.#restore) {
        await this.#options.revived();
        this.#restore = false;
      }
    } catch (error) {
      onError(error, 'node heartbeat');
      return;
    }
    if (!judging) return;
    let dead: string[];
    try {
      dead = await registry.claimDead();
    } catch (error) {
      onError(error, 'claiming dead nodes');
      return;
    }
    for (const node of dead) {
      try {
        await this.#options.cleanUp(node);
        await registry.release(node);
      } catch (error) {
        // Left claimed: another node (or this one) takes it again once the claim runs out.
        onError(error, `cleaning up after dead node ${node}`);
      }
    }
  }
}
