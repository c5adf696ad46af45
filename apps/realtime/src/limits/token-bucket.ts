// A connection's own message rate, kept where the connection lives: no
// other node ever sees its messages, so nothing is shared and every check is
// synchronous. A token bucket that holds one second's worth and refills
// continuously, so a client that keeps to the rate is never refused and a
// burst gets at most one second's worth through.

export class TokenBucket {
  #tokens: number;
  #updatedAt: number;
  readonly #now: () => number;

  constructor(perSecond: number, now: () => number = Date.now) {
    this.#now = now;
    this.#tokens = perSecond;
    this.#updatedAt = now();
  }

  /** Takes one token at the current rate; false (and nothing taken) when none is left. */
  take(perSecond: number): boolean {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#updatedAt);
    this.#updatedAt = now;
    // A lowered rate caps what was saved at the old one.
    this.#tokens = Math.min(perSecond, this.#tokens + (elapsed * perSecond) / 1000);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
