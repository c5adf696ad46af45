import type { Redis } from 'ioredis';

// Per-app limits shared by every node: messages per second per app and per
// connection, cross-references per second. A fixed window per key: simple,
// one round trip, and exact enough for limits measured in messages per
// second. Keys start with the app id like every other key.

export type Limit = { max: number; windowMs: number };
export type Verdict = { allowed: boolean; remaining: number; resetInMs: number };

export interface RateLimiter {
  /** Takes `cost` from the bucket; refused (and nothing taken) when it would pass `max`. */
  consume(appId: string, key: string, limit: Limit, cost?: number): Promise<Verdict>;
  /**
   * Gives back `cost` taken in the key's current window (never below zero;
   * nothing when the window is over). Lets a caller reserve before costly
   * work and return the reservation when the work turns out not to count
   * (a login that succeeded).
   */
  release(appId: string, key: string, cost?: number): Promise<void>;
  close(): Promise<void>;
}

export class LocalRateLimiter implements RateLimiter {
  readonly #windows = new Map<string, { count: number; resetAt: number }>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async consume(appId: string, key: string, limit: Limit, cost = 1): Promise<Verdict> {
    const id = `${appId}:${key}`;
    const now = this.#now();
    let window = this.#windows.get(id);
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + limit.windowMs };
      this.#windows.set(id, window);
      if (this.#windows.size > 100_000) this.#sweep(now);
    }
    const allowed = window.count + cost <= limit.max;
    if (allowed) window.count += cost;
    return {
      allowed,
      remaining: Math.max(0, limit.max - window.count),
      resetInMs: window.resetAt - now,
    };
  }

  async release(appId: string, key: string, cost = 1): Promise<void> {
    const window = this.#windows.get(`${appId}:${key}`);
    if (!window || window.resetAt <= this.#now()) return;
    window.count = Math.max(0, window.count - cost);
  }

  #sweep(now: number) {
    for (const [id, window] of this.#windows) if (window.resetAt <= now) this.#windows.delete(id);
  }

  async close(): Promise<void> {
    this.#windows.clear();
  }
}

// KEYS[1] bucket; ARGV max, window ms, cost. Returns {allowed, count, ttl ms}.
const CONSUME = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local max = tonumber(ARGV[1])
local cost = tonumber(ARGV[3])
if count + cost > max then
  local ttl = redis.call('PTTL', KEYS[1])
  return {0, count, ttl}
end
count = redis.call('INCRBY', KEYS[1], cost)
if count == cost then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, count, redis.call('PTTL', KEYS[1])}
`;

// KEYS[1] bucket; ARGV cost. Never below zero, never creates the key.
const RELEASE = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count <= 0 then return 0 end
local cost = math.min(count, tonumber(ARGV[1]))
return redis.call('DECRBY', KEYS[1], cost)
`;

type ConsumeCommand = Redis & {
  hsRelease(key: string, cost: number): Promise<number>;
  hsConsume(
    key: string,
    max: number,
    windowMs: number,
    cost: number,
  ): Promise<[number, number, number]>;
};

export class RedisRateLimiter implements RateLimiter {
  readonly #redis: ConsumeCommand;
  readonly #prefix: string;
  readonly #owned: boolean;

  /** Uses the given connection; `owned` means close() quits it. */
  constructor(options: { redis: Redis; keyPrefix?: string; owned?: boolean }) {
    options.redis.defineCommand('hsConsume', { numberOfKeys: 1, lua: CONSUME });
    options.redis.defineCommand('hsRelease', { numberOfKeys: 1, lua: RELEASE });
    this.#redis = options.redis as ConsumeCommand;
    this.#prefix = options.keyPrefix ?? '';
    this.#owned = options.owned ?? false;
  }

  async consume(appId: string, key: string, limit: Limit, cost = 1): Promise<Verdict> {
    const [allowed, count, ttl] = await this.#redis.hsConsume(
      this.#key(appId, key),
      limit.max,
      limit.windowMs,
      cost,
    );
    return {
      allowed: allowed === 1,
      remaining: Math.max(0, limit.max - count),
      resetInMs: ttl > 0 ? ttl : limit.windowMs,
    };
  }

  async release(appId: string, key: string, cost = 1): Promise<void> {
    await this.#redis.hsRelease(this.#key(appId, key), cost);
  }

  #key(appId: string, key: string): string {
    return `${this.#prefix}hs:${appId}:rate:${key}`;
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#redis.quit();
  }
}
