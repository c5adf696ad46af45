import { newToken, TOKEN_FORMAT, type TokenStore, tokenHash } from './token-store.ts';

/**
 * In memory, at most `maxTokens`: every token lives equally long, so the
 * table's insertion order is also expiry order; a full table drops its
 * oldest token (the next to expire anyway).
 */
export class LocalTokenStore<S> implements TokenStore<S> {
  readonly #sessions = new Map<string, { appId: string; session: S; expires: number }>();
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

  async issue(appId: string, session: S): Promise<string> {
    const now = this.#now();
    for (const [key, entry] of this.#sessions) {
      if (entry.expires > now && this.#sessions.size < this.#maxTokens) break;
      this.#sessions.delete(key);
    }
    const token = newToken();
    this.#sessions.set(tokenHash(token), { appId, session, expires: now + this.#ttlMs });
    return token;
  }

  async find(appId: string, token: string): Promise<S | null> {
    if (!TOKEN_FORMAT.test(token)) return null;
    const key = tokenHash(token);
    const entry = this.#sessions.get(key);
    if (!entry) return null;
    if (entry.expires <= this.#now()) {
      this.#sessions.delete(key);
      return null;
    }
    return entry.appId === appId ? entry.session : null;
  }
}
