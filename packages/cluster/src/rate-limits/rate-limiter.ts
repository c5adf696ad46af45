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
