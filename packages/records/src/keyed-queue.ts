/** A value now, or later. */
export type MaybePromise<T> = T | Promise<T>;

/** Chains without allocating a promise when the value is already there. */
export function andThen<T, R>(value: MaybePromise<T>, next: (value: T) => MaybePromise<R>) {
  return value instanceof Promise ? value.then(next) : next(value);
}

const noop = () => {};

/**
 * Runs tasks one at a time per key, in call order. A task on an idle key
 * starts synchronously, and one that finishes without waiting leaves no
 * trace, so an uncontended record costs no promise. A task must not queue
 * another task on its own key and wait for it (that never finishes).
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => MaybePromise<T>): MaybePromise<T> {
    const tail = this.#tails.get(key);
    if (tail === undefined) {
      const result = task();
      if (result instanceof Promise) this.#occupy(key, result);
      return result;
    }
    const result = tail.then(task);
    this.#occupy(key, result);
    return result;
  }

  /** Is a task running or waiting on the key? */
  busy(key: string): boolean {
    return this.#tails.has(key);
  }

  /** Resolves when every task queued so far has finished. */
  async drain(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all([...this.#tails.values()]);
  }

  #occupy(key: string, running: Promise<unknown>) {
    const settled: Promise<void> = running.then(noop, noop).then(() => {
      if (this.#tails.get(key) === settled) this.#tails.delete(key);
    });
    this.#tails.set(key, settled);
  }
}
