/**
 * How long the node's sliced work runs between two looks at the network, so
 * every other connection of the node, of every app, waits at most about this
 * long: a message's bulk work (the names of a 1,000-name SUBSCRIBE: a
 * permission check each, then a registry entry each) and a connection's
 * queued or just-read messages (connection.ts). One budget for all of them
 * (see `nextSlice`). A count of names per turn was not enough: a rule that
 * misses its cache costs 30-90 us a name, and 100 names were 3-9 ms
 * (bench:attacks huge SUBSCRIBE, against a probe p99 of 1-2 ms).
 *
 * 0.3 ms, not 1: on a calm machine a well-behaved client's event is
 * delivered in 0.5-0.8 ms (the probe's quiet p99), and one that arrives
 * while a burst keeps the loop busy waits out the rest of the slice, so a
 * 1 ms slice alone made it 2-3x slower. bench:attacks huge SUBSCRIBE
 * (standalone, 2 alternating rounds, probe samples over 1.4 ms in the
 * attack windows): 27 at 1 ms, 7 at 0.3 ms; bench:realtime one-to-one,
 * records and RPC did not move beyond their run-to-run noise.
 */
export const TURN_SLICE_MS = 0.3;

/** Names handled between two looks at the clock (a cold rule: up to 90 us a name). */
const NAMES_PER_LOOK = 4;

/**
 * The turn of the event loop, as a number that changes from one turn to the
 * next (one setImmediate per turn in which it is asked for): how a
 * connection knows its messages handled as they came are in the same turn
 * (connection.ts, #overSlice).
 */
let turn = 0;
let turnCounted = false;

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

// The sliced work's schedule. Work that yields (nextSlice) resumes in one
// immediate per turn of the event loop, the drain, in the check phase right
// after the turn's I/O. The drain first runs the hooks (the frames written in
// the turn's I/O callbacks, corked until now: websocket.ts), so an event
// read in this turn is on its way before any sliced work, then resumes the
// waiting work, which shares one budget: TURN_SLICE_MS from the drain's
// start, or from earlier when a connection already ran its own slice of
// messages in this turn's I/O (noteHeavyInline). Before (2026-12-07,
// bench:attacks huge SUBSCRIBE): a connection's slice in the I/O phase, then
// a slice in the check phase, then a bulk message's second loop with a fresh
// slice of its own, made turns of 2-5 ms, and other apps' events written in
// the turn waited behind all of it in their corked sockets.

type Waiter = () => void;
let waiters: Waiter[] = [];
let drainArmed = false;
/** Where the current budget starts: the drain's, or a connection's in the I/O phase. */
let budgetStart = 0;
/** The earliest heavy work of the I/O phase since the last drain (noteHeavyInline). */
let heavySince: number | undefined;
/** When the last drain began: heavy work noted as starting before it is not this turn's. */
let lastDrainAt = Number.NEGATIVE_INFINITY;
const drainHooks: (() => void)[] = [];

/** Runs `hook` at the start of every drain, before the sliced work resumes. */
export function beforeSlices(hook: () => void): void {
  drainHooks.push(hook);
}

function drain(): void {
  drainArmed = false;
  for (const hook of drainHooks) hook();
  const now = performance.now();
  budgetStart = heavySince ?? now;
  heavySince = undefined;
  lastDrainAt = now;
  const ready = waiters;
  waiters = [];
  // Each continuation runs as a microtask once this callback returns, in
  // this order; each looks at the shared budget (sliceSpent) as it goes.
  for (const resolve of ready) resolve();
}

/** Resolves in the next drain (a later turn of the event loop), with the turn's budget. */
export function nextSlice(): Promise<void> {
  return new Promise((resolve) => {
    waiters.push(resolve);
    if (!drainArmed) {
      drainArmed = true;
      setImmediate(drain);
    }
  });
}

/**
 * Work of the I/O phase that already ran a slice (a connection's messages
 * handled as they came, since `start`): the next drain's budget counts from
 * it, so that the I/O phase and the check phase hold about one slice in all.
 */
export function noteHeavyInline(start: number): void {
  // Work begun before the last drain ran in its check phase, not this I/O phase.
  if (start <= lastDrainAt) return;
  if (heavySince === undefined || start < heavySince) heavySince = start;
}

/**
 * Where the budget of work starting now begins: in the I/O phase, the
 * start of the running connection's own slice (enterInline); in a drain's
 * continuations, the drain's.
 */
export function currentBudgetStart(): number {
  return budgetStart;
}

/** A connection handles a message as it came, its slice of this turn having begun at `start`. */
export function enterInline(start: number): void {
  budgetStart = start;
}

/** Whether the budget that began at `start` is spent. */
export function sliceSpent(start: number, now = performance.now()): boolean {
  return now - start >= TURN_SLICE_MS;
}

/**
 * The time budget of one run of bulk work: `due(i)` says, every few items,
 * whether the slice is spent; `next()` lets the event loop turn (other
 * sockets' I/O, timers) and continues in the next drain's budget. A run
 * begins within the budget of the work that started it (enterInline, or the
 * drain it resumed in), not with a slice of its own.
 */
export class BulkSlices {
  #start = currentBudgetStart();

  /** Whether item `i` should wait for the next turn (the slice is spent). */
  due(i: number): boolean {
    if (i === 0 || i % NAMES_PER_LOOK !== 0 || !sliceSpent(this.#start)) return false;
    noteHeavyInline(this.#start);
    return true;
  }

  /** Resolves in a later turn of the event loop, with that turn's budget. */
  async next(): Promise<void> {
    await nextSlice();
    this.#start = currentBudgetStart();
  }
}
