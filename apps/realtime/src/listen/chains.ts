// Registry calls about one name (or one listener) run in order, and only so
// many start per turn of the event loop (ListenRegistry's plumbing).

/**
 * Registry calls one ListenRegistry starts per turn of the event loop; the
 * rest wait for later turns. A 1,000-name SUBSCRIBE, or a connection closing
 * with thousands of names, means one registry call per name (a Redis script
 * each in a cluster): started all at once they would hold the node's event
 * loop, and every other app's clients, for hundreds of milliseconds.
 */
const REGISTRY_CALLS_PER_TURN = 64;

/** Lets up to `perTurn` callers through per turn of the event loop, in order. */
export class Pacer {
  readonly #perTurn: number;
  #used = 0;
  #waiting: (() => void)[] = [];
  #scheduled = false;

  constructor(perTurn: number) {
    this.#perTurn = perTurn;
  }

  /** Undefined when the caller may go on now, else a promise resolved in its turn. */
  take(): Promise<void> | undefined {
    this.#schedule();
    if (this.#waiting.length === 0 && this.#used < this.#perTurn) {
      this.#used++;
      return undefined;
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #schedule() {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#turn());
  }

  #turn() {
    this.#scheduled = false;
    const batch = this.#waiting.splice(0, this.#perTurn);
    this.#used = batch.length;
    if (batch.length > 0) this.#schedule();
    for (const resolve of batch) resolve();
  }
}

/** Tasks run in order per key, paced per turn; a failure is handed to `failed` and the chain goes on. */
export class KeyedChains {
  readonly #chains = new Map<string, Promise<void>>();
  readonly #pacer = new Pacer(REGISTRY_CALLS_PER_TURN);
  readonly #failed: (error: unknown) => void;

  constructor(failed: (error: unknown) => void) {
    this.#failed = failed;
  }

  /** Runs `task` after the earlier tasks of `key`; failures are logged. */
  chain(key: string, task: () => Promise<unknown>): Promise<void> {
    const previous = this.#chains.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => this.#pacer.take())
      .then(task)
      .then(
        () => {},
        (error: unknown) => this.#failed(error),
      );
    this.#chains.set(key, next);
    next.then(() => {
      if (this.#chains.get(key) === next) this.#chains.delete(key);
    });
    return next;
  }
}
