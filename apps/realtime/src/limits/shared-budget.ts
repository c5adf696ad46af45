import type { RateLimiter } from '@hubstream/cluster';

// A per-app rate shared by every node (messages, cross-references) without
// a Redis round trip per message: the node takes tokens from the cluster's
// rate limiter in batches and spends them locally. Tokens belong to the
// limiter's window (one second) and expire with it, so no node can carry
// last second's tokens into this one. The cost: a node may hold up to one
// batch it does not spend, which the other nodes then cannot use; batches
// are a tenth of the limit, so with N nodes at most N tenths go unused.

export const WINDOW_MS = 1000;

/** The batch a node takes at once: a tenth of the limit, at least 1. */
export const batchOf = (max: number): number => Math.max(1, Math.ceil(max / 10));

export type SharedBudgetOptions = {
  limiter: RateLimiter;
  appId: string;
  /** Names the limit in the limiter (and in Redis: `hs:{appId}:rate:{key}`). */
  key: string;
  /** The current limit per second (read at every refill, so changes apply at once). */
  max: () => number;
  /** Called when the limiter is unreachable; the node then spends one local batch. */
  onError?: (error: unknown) => void;
  now?: () => number;
};

export class SharedBudget {
  readonly #options: SharedBudgetOptions;
  readonly #now: () => number;
  #tokens = 0;
  /** When the tokens in hand expire (the end of the limiter's window they came from). */
  #expiresAt = 0;
  /** Until then the cluster's window is spent: refuse without asking. */
  #exhaustedUntil = 0;
  #refill: Promise<void> | null = null;

  constructor(options: SharedBudgetOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Takes one token: synchronously while the node holds some, else after one refill. */
  take(): boolean | Promise<boolean> {
    const now = this.#now();
    if (this.#tokens > 0 && now < this.#expiresAt) {
      this.#tokens--;
      return true;
    }
    if (now < this.#exhaustedUntil) return false;
    this.#refill ??= this.#fetch().finally(() => {
      this.#refill = null;
    });
    return this.#refill.then(() => this.#takeAfterRefill());
  }

  /** After a refill: a token if one is left, else refused (no second refill in the same turn). */
  #takeAfterRefill(): boolean | Promise<boolean> {
    const now = this.#now();
    if (this.#tokens > 0 && now < this.#expiresAt) {
      this.#tokens--;
      return true;
    }
    if (now < this.#exhaustedUntil) return false;
    // Others took the batch meanwhile, and the window still has room: ask again.
    return this.take();
  }

  /** Forgets the tokens in hand (the limit changed). */
  reset(): void {
    this.#tokens = 0;
    this.#expiresAt = 0;
    this.#exhaustedUntil = 0;
  }

  async #fetch(): Promise<void> {
    const { limiter, appId, key } = this.#options;
    const max = this.#options.max();
    const limit = { max, windowMs: WINDOW_MS };
    try {
      let want = batchOf(max);
      let verdict = await limiter.consume(appId, key, limit, want);
      if (!verdict.allowed && verdict.remaining > 0) {
        want = verdict.remaining;
        verdict = await limiter.consume(appId, key, limit, want);
      }
      const now = this.#now();
      const resetInMs = Math.max(1, Math.min(WINDOW_MS, verdict.resetInMs));
      if (verdict.allowed) {
        this.#tokens = want;
        this.#expiresAt = now + resetInMs;
      } else {
        this.#tokens = 0;
        this.#exhaustedUntil = now + resetInMs;
      }
    } catch (error) {
      // Redis away: keep serving within one local batch per window rather than refuse everything.
      this.#options.onError?.(error);
      this.#tokens = batchOf(max);
      this.#expiresAt = this.#now() + WINDOW_MS;
      this.#exhaustedUntil = this.#expiresAt;
    }
  }
}
