import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { User } from '../core/types.ts';

// Tokens from POST /:appId/api/auth: a later request sends the token instead
// of logging in again. Only the token's SHA-256 is kept, with the user the
// login produced, for HTTP_API_TOKEN_TTL_MS. Clustered, they live in Redis
// (under the app's `hs:<app>:` keys, so deleting the app purges them) and
// work on every node; alone (pnpm start, no Redis) in a bounded table here.

export const TOKEN_PREFIX = 'hst_';
const TOKEN_FORMAT = /^hst_[A-Za-z0-9_-]{43}$/;

export type TokenSession = { user: User };

export interface TokenStore {
  issue(appId: string, session: TokenSession): Promise<string>;
  /** The session of a token of this app, or null (unknown, expired, malformed, another app's). */
  find(appId: string, token: string): Promise<TokenSession | null>;
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');
const newToken = () => `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;

/** Whether a string has the form of a token this API hands out (not a webhook's own token). */
export const isOwnToken = (token: string) => token.startsWith(TOKEN_PREFIX);

export class RedisTokenStore implements TokenStore {
  readonly #redis: Redis;
  readonly #keyPrefix: string;
  readonly #ttlMs: number;

  constructor(options: { redis: Redis; keyPrefix: string; ttlMs: number }) {
    this.#redis = options.redis;
    this.#keyPrefix = options.keyPrefix;
    this.#ttlMs = options.ttlMs;
  }

  #key(appId: string, token: string) {
    return `${this.#keyPrefix}hs:${appId}:http-token:${hash(token)}`;
  }

  async issue(appId: string, session: TokenSession): Promise<string> {
    const token = newToken();
    await this.#redis.set(this.#key(appId, token), JSON.stringify(session), 'PX', this.#ttlMs);
    return token;
  }

  async find(appId: string, token: string): Promise<TokenSession | null> {
    if (!TOKEN_FORMAT.test(token)) return null;
    const value = await this.#redis.get(this.#key(appId, token));
    return value === null ? null : (JSON.parse(value) as TokenSession);
  }
}

/**
 * In memory, at most `maxTokens`: every token lives equally long, so the
 * table's insertion order is also expiry order; a full table drops its
 * oldest token (the next to expire anyway).
 */
export class MemoryTokenStore implements TokenStore {
  readonly #sessions = new Map<string, { appId: string; session: TokenSession; expires: number }>();
  readonly #ttlMs: number;
  readonly #maxTokens: number;
  readonly #now: () => number;

  constructor(options: { ttlMs: number; maxTokens: number; now?: () => number }) {
    this.#ttlMs = options.ttlMs;
    this.#maxTokens = options.maxTokens;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#sessions.size;
  }

  async issue(appId: string, session: TokenSession): Promise<string> {
    const now = this.#now();
    for (const [key, entry] of this.#sessions) {
      if (entry.expires > now && this.#sessions.size < this.#maxTokens) break;
      this.#sessions.delete(key);
    }
    const token = newToken();
    this.#sessions.set(hash(token), { appId, session, expires: now + this.#ttlMs });
    return token;
  }

  async find(appId: string, token: string): Promise<TokenSession | null> {
    if (!TOKEN_FORMAT.test(token)) return null;
    const key = hash(token);
    const entry = this.#sessions.get(key);
    if (!entry) return null;
    if (entry.expires <= this.#now()) {
      this.#sessions.delete(key);
      return null;
    }
    return entry.appId === appId ? entry.session : null;
  }
}
