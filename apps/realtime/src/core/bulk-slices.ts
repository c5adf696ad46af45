/**
 * How long the node's sliced work runs in one turn of the event loop before
 * it yields, so every other connection of the node, of every app, waits at
 * most about this long: a message's bulk work (the names of a 1,000-name
 * SUBSCRIBE: a permission check each, then a registry entry each) and a
 * connection's queued or just-read messages (connection.ts). One budget for
 * all of them, shared within a turn (sharedStart). A count of names per turn
 * was not enough: a rule that misses its cache costs 30-90 us a name, and
 * 100 names were 3-9 ms (bench:attacks huge SUBSCRIBE, against a probe p99
 * of 1-2 ms). One millisecond: a well-behaved client's event on a quiet node
 * is delivered in about that.
 */
export const TURN_SLICE_MS = 1;

/** Names handled between two looks at the clock. */
const NAMES_PER_LOOK = 8;

/**
 * The turn of the event loop, and when that turn's first slice began.
 * Every slicer of the node (a connection's queue, a bulk message's names)
 * resumes in the check phase; each slice counted from its own start, several
 * slices ran back to back in one turn (3-4 ms turns in bench:attacks huge
 * SUBSCRIBE, standalone). A resumed slice counts from the turn's first: the
 * turn holds about one slice in all, and a slicer that finds it spent does
 * one item and yields again.
 */
let turn = 0;
let turnCounted = false;
let turnSeen = -1;
let turnStart = 0;

/**
 * The event loop's turn, as a number that changes from one turn to the next
 * (one setImmediate per turn in which it is asked for). Also how a
 * connection knows its messages handled as they came are in the same turn
 * (connection.ts, #overSlice).
 */
export function currentTurn(): number {
  if (!turnCounted) {
    turnCounted = true;
    setImmediate(() => {
      turnCounted = false;
      turn++;
    });
  }
  return turn;
}

/** When the current turn's first resumed slice began (`now` when this is the first). */
export function sharedStart(now: number): number {
  const current = currentTurn();
  if (current !== turnSeen) {
    turnSeen = current;
    turnStart = now;
  }
  return turnStart;
}

/**
 * The time budget of one run of bulk work: `due(i)` says, every few items,
 * whether the slice is spent; `next()` lets the event loop turn (other
 * sockets' I/O, timers) and starts a new slice.
 */
export class BulkSlices {
  #start = performance.now();

  /** Whether item `i` should wait for the next turn (the slice is spent). */
  due(i: number): boolean {
    return i > 0 && i % NAMES_PER_LOOK === 0 && performance.now() - this.#start >= TURN_SLICE_MS;
  }

  /** Resolves in a later turn of the event loop, with a new slice. */
  next(): Promise<void> {
    return new Promise((resolve) =>
      setImmediate(() => {
        this.#start = sharedStart(performance.now());
        resolve();
      }),
    );
  }
}
