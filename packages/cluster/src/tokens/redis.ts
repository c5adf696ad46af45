import type { Redis } from 'ioredis';
import { newToken, TOKEN_FORMAT, type TokenStore, tokenHash } from './token-store.ts';

/** Tokens in Redis, `{prefix}hs:{appId}:http-token:{sha256}`, expiring by themselves. */
export class RedisTokenStore<S> implements TokenStore<S> {
  readonly #redis: Redis;
  readonly #keyPrefix: string;
  readonly #ttlMs: number;

  constructor(options: { redis: Redis; keyPrefix: string; ttlMs: number }) {
    this.#redis = options.redis;
    this.#keyPrefix = options.keyPrefix;
    this.#ttlMs = options.ttlMs;
  }

  #key(appId: string, token: string) {
    return `${this.#keyPrefix}hs:${appId}:http-token:${tokenHash(token)}`;
  }

  async issue(appId: string, session: S): Promise<string> {
    const token = newToken();
    await this.#redis.set(this.#key(appId, token), JSON.stringify(session), 'PX', this.#ttlMs);
    return token;
  }

  async find(appId: string, token: string): Promise<S | null> {
    if (!TOKEN_FORMAT.test(token)) return null;
    const value = await this.#redis.get(this.#key(appId, token));
    return value === null ? null : (JSON.parse(value) as S);
  }
}
