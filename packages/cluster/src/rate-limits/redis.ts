import type { Redis } from 'ioredis';
import { CONSUME, RELEASE } from './lua.ts';
import type { Limit, RateLimiter, Verdict } from './rate-limiter.ts';

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
