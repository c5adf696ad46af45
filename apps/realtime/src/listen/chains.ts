import { currentBudgetStart, nextSlice } from '../core/bulk-slices.ts';
import { Fifo } from '../core/fifo.ts';

// Registry calls about one name (or one listener) run in order, and only so
// many start per turn of the event loop (ListenRegistry's plumbing).

/**
 * Registry calls one ListenRegistry starts per turn of the event loop; the
 * rest wait for later turns. A 1,000-name SUBSCRIBE, or a connection closing
 * with thousands of names, means one registry call per name (a Redis script
 * each in a cluster): started all at once they would hold the node's event
 * loop, and every other app's clients, for hundreds of milliseconds.
 */
export const REGISTRY_CALLS_PER_TURN = 64;

/**
 * How long the registry calls started in one turn may run (their
 * synchronous parts and the continuations that settle in the same turn)
 * before the rest wait for the next: 64 calls are well under a millisecond
 * when warm, but several when the code is still cold or a rule is costly, and
 * other apps' clients wait for all of it. Counted from the start of the
 * turn's budget for all sliced work (bulk-slices.ts), not from the first call.
 */
export const REGISTRY_SLICE_MS = 1;

type Task = () => Promise<unknown>;

/**
 * The tasks of one key: the one running (or waiting for its turn) and those
 * queued behind it. A key with one task, the common case (one SUBSCRIBE
 * name, one registry call), costs this object and the caller's closure
 * while it waits: no promise, no closure of our own.
 */
type Chain = { key: string; next: Task | undefined; more: Task[] | undefined };

/**
 * Tasks run in order per key, at most `perTurn` of them starting per turn of
 * the event loop (in the order they became ready); a failure is handed to
 * `failed` and the key's chain goes on.
 *
 * A task never starts inside `chain()`: the first task of a key starts in a
 * microtask of the same turn when the turn's budget allows, else in a later
 * turn. This is the one per-name structure a 10,000-name SUBSCRIBE leaves
 * behind while it waits, so it holds no promise per waiting task (a chain of
 * `then`s per name, as before, was about six promises and five closures per
 * name: young-generation garbage by the megabyte, and scavenges that other
 * apps' clients waited for).
 */
export class KeyedChains {
  readonly #chains = new Map<string, Chain>();
  /** Chains whose next task may start, waiting for budget in this turn or the next. */
  readonly #ready = new Fifo<Chain>();
  readonly #perTurn: number;
  readonly #failed: (error: unknown) => void;
  readonly #sliceMs: number;
  readonly #now: () => number;
  /** Where this turn's budget begins (bulk-slices.ts: shared with the node's other sliced work). */
  readonly #budgetStart: () => number;
  /** Tasks started in this turn. */
  #used = 0;
  /** Where this turn's budget began (#budgetStart, read when its first task started). */
  #turnStart = 0;
  #turnScheduled = false;
  #drainScheduled = false;

  constructor(
    failed: (error: unknown) => void,
    perTurn = REGISTRY_CALLS_PER_TURN,
    { sliceMs = REGISTRY_SLICE_MS, now }: { sliceMs?: number; now?: () => number } = {},
  ) {
    this.#failed = failed;
    this.#perTurn = perTurn;
    this.#sliceMs = sliceMs;
    // A clock of the tests' own: turns begin when their first task starts.
    this.#now = now ?? (() => performance.now());
    this.#budgetStart = now ?? currentBudgetStart;
  }

  /** Runs `task` after the earlier tasks of `key`; failures go to `failed`. */
  chain(key: string, task: Task): void {
    const chain = this.#chains.get(key);
    if (chain) {
      if (chain.more) chain.more.push(task);
      else chain.more = [task];
      return;
    }
    const created: Chain = { key, next: task, more: undefined };
    this.#chains.set(key, created);
    this.#ready.push(created);
    this.#scheduleDrain();
  }

  /**
   * As chain(), and resolves once `task` has run (or failed; the failure
   * still goes to `failed`). For the few callers that wait on a task.
   */
  chainAwaited(key: string, task: Task): Promise<void> {
    return new Promise<void>((resolve) => {
      this.chain(key, () =>
        task().then(
          () => resolve(),
          (error: unknown) => {
            resolve();
            throw error;
          },
        ),
      );
    });
  }

  /** Whether `key` has a task running or waiting. */
  has(key: string): boolean {
    return this.#chains.has(key);
  }

  /** Keys with a task running or waiting (for tests and diagnostics). */
  get size(): number {
    return this.#chains.size;
  }

  #scheduleDrain() {
    if (this.#drainScheduled || this.#spent()) return;
    this.#drainScheduled = true;
    queueMicrotask(this.#drain);
  }

  /** Whether this turn's budget (count or time) is used up. */
  #spent(): boolean {
    if (this.#used >= this.#perTurn) return true;
    return this.#used > 0 && this.#now() - this.#turnStart >= this.#sliceMs;
  }

  readonly #drain = (): void => {
    this.#drainScheduled = false;
    while (!this.#spent()) {
      const chain = this.#ready.shift();
      if (!chain) return;
      if (this.#used === 0) this.#turnStart = this.#budgetStart();
      this.#used++;
      if (!this.#turnScheduled) {
        this.#turnScheduled = true;
        nextSlice().then(this.#turn);
      }
      this.#start(chain);
    }
  };

  /** A new turn of the event loop: a new budget. */
  readonly #turn = (): void => {
    this.#turnScheduled = false;
    this.#used = 0;
    this.#drain();
  };

  #start(chain: Chain) {
    const task = chain.next!;
    chain.next = undefined;
    let running: Promise<unknown>;
    try {
      running = task();
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      () => this.#settled(chain),
      (error: unknown) => {
        this.#failed(error);
        this.#settled(chain);
      },
    );
  }

  /** `chain`'s task ended: its next one waits for its turn, or the key is done. */
  #settled(chain: Chain) {
    const next = chain.more?.shift();
    if (next === undefined) {
      this.#chains.delete(chain.key);
      return;
    }
    if (chain.more!.length === 0) chain.more = undefined;
    chain.next = next;
    this.#ready.push(chain);
    this.#scheduleDrain();
  }
}
