// For tests of work sliced over turns of the event loop (the realtime
// node's slices): a turn counter, and a stand-in for an item's CPU cost.

/** Counts turns of the event loop (one setImmediate each) until stopped. */
export function countTurns(): { readonly turn: number; stop(): void } {
  let turn = 0;
  let counting = true;
  const tick = () => {
    turn++;
    if (counting) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    get turn() {
      return turn;
    },
    stop() {
      counting = false;
    },
  };
}

/** Keeps the event loop busy for `ms`, as an item's real work would. */
export function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}
