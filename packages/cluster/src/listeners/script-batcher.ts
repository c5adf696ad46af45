import type { ListenTopic } from './listener-registry.ts';
import { SEP } from './members.ts';

/** Names one script call takes at most (the script runs alone in Redis meanwhile). */
export const NAMES_PER_SCRIPT_CALL = 256;

type Waiting<R> = { resolve: (values: R[]) => void; reject: (error: unknown) => void };

/**
 * Gathers the calls of one script made in the same turn of the event loop,
 * per app and topic, into one call that takes many names: a 1,000-name
 * SUBSCRIBE (or a connection closing with thousands of names) costs a few
 * script calls instead of one per name, with their commands, replies and
 * promises. Each caller gets its own `width` values of the reply.
 */
export class ScriptBatcher<R> {
  readonly #width: number;
  readonly #call: (appId: string, topic: ListenTopic, args: string[]) => Promise<R[]>;
  readonly #pending = new Map<
    string,
    { appId: string; topic: ListenTopic; args: string[]; waiting: Waiting<R>[] }
  >();
  #scheduled = false;

  constructor(
    width: number,
    call: (appId: string, topic: ListenTopic, args: string[]) => Promise<R[]>,
  ) {
    this.#width = width;
    this.#call = call;
  }

  add(appId: string, topic: ListenTopic, args: string[]): Promise<R[]> {
    const key = `${appId}${SEP}${topic}`;
    let batch = this.#pending.get(key);
    if (!batch) {
      batch = { appId, topic, args: [], waiting: [] };
      this.#pending.set(key, batch);
    }
    batch.args.push(...args);
    const promise = new Promise<R[]>((resolve, reject) => batch.waiting.push({ resolve, reject }));
    if (batch.waiting.length >= NAMES_PER_SCRIPT_CALL) {
      this.#pending.delete(key);
      this.#send(batch.appId, batch.topic, batch.args, batch.waiting);
    } else if (!this.#scheduled) {
      // After the calls of this turn's microtasks: they all join the batch.
      this.#scheduled = true;
      process.nextTick(() => this.#flush());
    }
    return promise;
  }

  #flush() {
    this.#scheduled = false;
    const batches = [...this.#pending.values()];
    this.#pending.clear();
    for (const { appId, topic, args, waiting } of batches) this.#send(appId, topic, args, waiting);
  }

  #send(appId: string, topic: ListenTopic, args: string[], waiting: Waiting<R>[]) {
    this.#call(appId, topic, args).then(
      (reply) => {
        for (const [i, w] of waiting.entries())
          w.resolve(reply.slice(i * this.#width, (i + 1) * this.#width));
      },
      (error: unknown) => {
        for (const w of waiting) w.reject(error);
      },
    );
  }
}
