// Latencies in microseconds, in logarithmic buckets 1% wide: recording is a
// logarithm and an increment, whatever the count, and percentiles are
// accurate to about 1%.

const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** Up to ~ 100 s. */
const BUCKETS = Math.ceil(Math.log(1e8) / LOG_GROWTH) + 2;

export class Histogram {
  readonly #counts = new Float64Array(BUCKETS);
  count = 0;
  max = 0;

  record(micros: number): void {
    const value = Math.max(1, micros);
    const index = Math.min(BUCKETS - 1, Math.floor(Math.log(value) / LOG_GROWTH));
    this.#counts[index]! += 1;
    this.count++;
    if (value > this.max) this.max = value;
  }

  /** The q-th quantile (0..1) in microseconds; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      // The bucket's geometric middle, never above the largest value seen.
      if (seen >= rank) return Math.min(this.max, GROWTH ** (i + 0.5));
    }
    return this.max;
  }

  /** A histogram of latencies given in milliseconds. */
  static ofMs(latenciesMs: Iterable<number>): Histogram {
    const histogram = new Histogram();
    for (const latency of latenciesMs) histogram.record(latency * 1000);
    return histogram;
  }

  reset(): void {
    this.#counts.fill(0);
    this.count = 0;
    this.max = 0;
  }
}
