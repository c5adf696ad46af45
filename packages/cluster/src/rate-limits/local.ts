import type { Limit, RateLimiter, Verdict } from './rate-limiter.ts';

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
