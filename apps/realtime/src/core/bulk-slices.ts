/**
 * How long one message's bulk work (the names of a 1,000-name SUBSCRIBE:
 * a permission check each, then a registry entry each) runs before the
 * event loop turns, so every other connection of the node, of every app,
 * waits at most this long for it. A count of names per turn was not enough:
 * a rule that misses its cache costs 30-90 us a name, and 100 names were
 * 3-9 ms (bench:attacks huge SUBSCRIBE, against a probe p99 of 1-2 ms).
 */
export const BULK_SLICE_MS = 1;

/** Names handled between two looks at the clock. */
const NAMES_PER_LOOK = 8;

/**
 * The time budget of one run of bulk work: `due(i)` says, every few items,
 * whether the slice is spent; `next()` lets the event loop turn (other
 * sockets' I/O, timers) and starts a new slice.
 */
export class BulkSlices {
  #start = performance.now();

  /** Whether item `i` should wait for the next turn (the slice is spent). */
  due(i: number): boolean {
    return i > 0 && i % NAMES_PER_LOOK === 0 && performance.now() - this.#start >= BULK_SLICE_MS;
  }

  /** Resolves in a later turn of the event loop, with a new slice. */
  next(): Promise<void> {
    return new Promise((resolve) =>
      setImmediate(() => {
        this.#start = performance.now();
        resolve();
      }),
    );
  }
}
