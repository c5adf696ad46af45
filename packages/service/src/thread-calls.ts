// Calls between two threads of one process (worker_threads): `pnpm start`
// runs its control plane and database beside the realtime node's event
// loop, not on it (apps/standalone). Each side names the functions it
// offers (`handle`) and calls the other side's (`call`, answered; `notify`,
// not). Arguments and results cross by the structured clone algorithm:
// plain data, Dates, BigInts, typed arrays; never functions.

/** A worker's parentPort, or the Worker object itself on the other side. */
export type ThreadEndpoint = {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
};

type Handler = (...args: never[]) => unknown;

/** An error as it crosses: what a caller may look at (name, message, code, cause). */
type ErrorShape = { name: string; message: string; code?: unknown; cause?: unknown };

type Wire =
  | { t: 'call'; id: number; m: string; a: unknown[] }
  | { t: 'ok'; id: number; v: unknown }
  | { t: 'err'; id: number; e: ErrorShape }
  | { t: 'note'; m: string; a: unknown[] };

/** Raised for a call the other thread could not answer: it has gone, or has no such function. */
export class ThreadCallError extends Error {
  override name = 'ThreadCallError';
}

function shapeOf(error: unknown): ErrorShape {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const shape: ErrorShape = { name: error.name, message: error.message };
  const { code, cause } = error as { code?: unknown; cause?: unknown };
  if (code !== undefined) shape.code = code;
  // A cause that is plain data (a driver's error details) crosses; an Error cause is summarised.
  if (cause !== undefined) shape.cause = cause instanceof Error ? shapeOf(cause) : cause;
  return shape;
}

/**
 * The error the caller sees: same name, message, code and cause as the one
 * thrown. The other thread's ThreadCallError (no such function, an answer
 * that cannot cross) is one here too, so `instanceof ThreadCallError` holds.
 */
function errorOf(shape: ErrorShape): Error {
  const error =
    shape.name === 'ThreadCallError'
      ? new ThreadCallError(shape.message)
      : new Error(shape.message);
  error.name = shape.name;
  if (shape.code !== undefined) Object.assign(error, { code: shape.code });
  if (shape.cause !== undefined) Object.assign(error, { cause: shape.cause });
  return error;
}

/** Whether the structured clone algorithm refused a value (a function, a class instance's methods). */
function cloneFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'DataCloneError';
}

export class ThreadCalls {
  readonly #endpoint: ThreadEndpoint;
  readonly #handlers = new Map<string, Handler>();
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #nextId = 1;
  #closed: string | undefined;
  readonly #onNoteError: (error: unknown, method: string) => void;

  /**
   * `onNoteError` hears what a `notify`'s handler threw (nobody waits for
   * its answer); by default it escapes as an unhandled rejection.
   */
  constructor(
    endpoint: ThreadEndpoint,
    options: { onNoteError?: (error: unknown, method: string) => void } = {},
  ) {
    this.#endpoint = endpoint;
    this.#onNoteError =
      options.onNoteError ??
      ((error) => {
        throw error;
      });
    endpoint.on('message', (message) => this.#receive(message as Wire));
  }

  /** Offers `fn` to the other thread under `method`; its result (or its error) is the answer. */
  handle<A extends unknown[]>(method: string, fn: (...args: A) => unknown): void {
    if (this.#handlers.has(method)) throw new Error(`${method} is already handled`);
    this.#handlers.set(method, fn as Handler);
  }

  /** Calls the other thread's `method`: resolves with its result, rejects with its error. */
  call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.#closed) return Promise.reject(new ThreadCallError(this.#closed));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      try {
        this.#endpoint.postMessage({ t: 'call', id, m: method, a: args } satisfies Wire);
      } catch (error) {
        this.#pending.delete(id);
        reject(error);
      }
    });
  }

  /** Calls the other thread's `method` without waiting for (or getting) an answer. */
  notify(method: string, ...args: unknown[]): void {
    if (this.#closed) return;
    this.#endpoint.postMessage({ t: 'note', m: method, a: args } satisfies Wire);
  }

  /** How many calls wait for their answer. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * The other thread has gone (`reason`): every call waiting and every later
   * one rejects with a ThreadCallError saying so.
   */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = reason;
    for (const waiting of this.#pending.values()) waiting.reject(new ThreadCallError(reason));
    this.#pending.clear();
  }

  #receive(message: Wire): void {
    switch (message.t) {
      case 'call':
        void this.#answer(message.id, message.m, message.a);
        return;
      case 'note': {
        const handler = this.#handlers.get(message.m);
        if (handler)
          void Promise.resolve()
            .then(() => handler(...(message.a as never[])))
            .catch((error: unknown) => this.#onNoteError(error, message.m));
        return;
      }
      case 'ok':
      case 'err': {
        const waiting = this.#pending.get(message.id);
        if (!waiting) return;
        this.#pending.delete(message.id);
        if (message.t === 'ok') waiting.resolve(message.v);
        else waiting.reject(errorOf(message.e));
        return;
      }
      default: {
        const unknown: never = message;
        throw new Error(`Unknown thread message: ${JSON.stringify(unknown)}`);
      }
    }
  }

  async #answer(id: number, method: string, args: unknown[]): Promise<void> {
    let reply: Wire;
    try {
      const handler = this.#handlers.get(method);
      if (!handler) throw new ThreadCallError(`no function ${method} in the other thread`);
      reply = { t: 'ok', id, v: await handler(...(args as never[])) };
    } catch (error) {
      reply = { t: 'err', id, e: shapeOf(error) };
    }
    if (this.#closed) return;
    try {
      this.#endpoint.postMessage(reply);
    } catch (error) {
      if (!cloneFailure(error)) throw error;
      this.#endpoint.postMessage({
        t: 'err',
        id,
        e: { name: 'ThreadCallError', message: `${method}'s result cannot cross threads` },
      } satisfies Wire);
    }
  }
}
