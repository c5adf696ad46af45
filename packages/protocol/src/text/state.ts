// What a text connection remembers between a request and its answer.
//
// The 2.x client asks `has` (R|H|name) and `head` (R|HD|name) separately and
// takes each answer only in its own form (R|H|name|T and R|HD|name|<version>;
// an answer it did not ask for is an error on the client). Both decode to one
// internal HEAD with the form as correlation id ('H' or 'HD'). An answer that
// echoes it needs nothing more; the record handler's HEAD_RESPONSE names the
// record only, so until it echoes the correlation id the connection
// remembers, per record, which forms it was asked for, in order.

/** Has and head requests remembered at most; past it the oldest is forgotten. */
export const MAX_PENDING_HEADS = 1000;

export type HeadKind = 'H' | 'HD';

export class TextConnectionState {
  readonly #heads = new Map<string, HeadKind[]>();
  #pending = 0;

  /** Remembers a has or head request. */
  asked(name: string, kind: HeadKind): void {
    if (this.#pending >= MAX_PENDING_HEADS) {
      // A request never answered (refused before it reached a handler) must not pin memory.
      const [oldest] = this.#heads.keys();
      if (oldest !== undefined) this.#take(oldest, undefined);
    }
    const queue = this.#heads.get(name);
    if (queue) queue.push(kind);
    else this.#heads.set(name, [kind]);
    this.#pending++;
  }

  /**
   * The form that answers a has or head request for `name`: `known` when the
   * answer says (forgetting the oldest request of that form), else the
   * oldest request's form; head when none waits.
   */
  answered(name: string, known?: HeadKind): HeadKind {
    return this.#take(name, known) ?? known ?? 'HD';
  }

  #take(name: string, kind: HeadKind | undefined): HeadKind | undefined {
    const queue = this.#heads.get(name);
    if (!queue) return undefined;
    const index = kind === undefined ? 0 : queue.indexOf(kind);
    if (index === -1) return undefined;
    const [taken] = queue.splice(index, 1);
    if (queue.length === 0) this.#heads.delete(name);
    this.#pending--;
    return taken;
  }

  /** Has and head requests remembered as waiting for an answer. */
  get pendingHeads(): number {
    return this.#pending;
  }
}
