/**
 * Names of a closed connection removed per turn of the event loop: a
 * connection closing with thousands of names (and, for each name it was the
 * last subscriber of, a listener-registry call) would otherwise hold every
 * other connection of the node while it is cleaned up.
 */
export const NAMES_REMOVED_PER_TURN = 500;

/** Slots of countNew's scratch table: messages of up to half as many names use it. */
const SCRATCH_SLOTS = 1 << 13;
/** Each slot: the index + 1 in `names` of the name it holds, 0 when empty. */
const scratch = new Int32Array(SCRATCH_SLOTS);

/** FNV-1a over the string's UTF-16 code units. */
function hashOf(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** countNew for messages too large for the scratch table. */
function countNewWithSet(
  names: readonly string[],
  held: ReadonlySet<string> | undefined,
  limit: number,
): number {
  const fresh = new Set<string>();
  for (const name of names) {
    if (held?.has(name)) continue;
    fresh.add(name);
    if (fresh.size > limit) break;
  }
  return fresh.size;
}

/**
 * A name's subscribers: its one subscriber itself, or a Set of two or more.
 * Most names have one subscriber, and a Set is ~190 bytes of heap before
 * its first entry (its table is allocated for four): a client holding 9,000
 * names held ~300 bytes a name, 188 of them in those Sets, and ~150 without
 * them (bench/realtime/heap-per-connection.ts --subscriptions=9000, median
 * of 3: 301 -> 151), all of which a burst of subscriptions makes
 * young-generation GCs copy.
 */
export type Subscribers<C> = C | ReadonlySet<C>;

/** Whether `subscribers` holds several (a Set) rather than one. */
export function isSeveral<C>(subscribers: Subscribers<C>): subscribers is ReadonlySet<C> {
  return subscribers instanceof Set;
}

/** The subscribers as a new list: the registry may change while the caller goes through it. */
export function listOf<C>(subscribers: Subscribers<C> | undefined): C[] {
  if (subscribers === undefined) return [];
  return isSeveral(subscribers) ? [...subscribers] : [subscribers];
}

/**
 * Who is subscribed to which name, in one app and one topic. Both
 * directions are indexed, so a closing connection is removed from every
 * name it had in time proportional to its own subscriptions. A connection
 * must not itself be a Set (Subscribers tells one from several so).
 */
export class SubscriptionRegistry<C> {
  readonly #byName = new Map<string, C | Set<C>>();
  readonly #byConnection = new Map<C, Set<string>>();

  /** False when the connection was already subscribed to the name. */
  add(name: string, connection: C): boolean {
    const held = this.#byName.get(name);
    if (held === undefined) {
      this.#byName.set(name, connection);
    } else if (held instanceof Set) {
      if (held.has(connection)) return false;
      held.add(connection);
    } else {
      if (held === connection) return false;
      this.#byName.set(name, new Set([held, connection]));
    }
    let names = this.#byConnection.get(connection);
    if (!names) {
      names = new Set();
      this.#byConnection.set(connection, names);
    }
    names.add(name);
    return true;
  }

  /** Takes `connection` off `name`'s subscribers; false when it was not one. */
  #removeFromName(name: string, connection: C): boolean {
    const held = this.#byName.get(name);
    if (held === undefined) return false;
    if (!(held instanceof Set)) {
      if (held !== connection) return false;
      this.#byName.delete(name);
      return true;
    }
    if (!held.delete(connection)) return false;
    // Back to one: the subscriber itself again.
    if (held.size === 1) this.#byName.set(name, held.values().next().value as C);
    return true;
  }

  /** False when the connection was not subscribed. */
  remove(name: string, connection: C): boolean {
    if (!this.#removeFromName(name, connection)) return false;
    const names = this.#byConnection.get(connection);
    names?.delete(name);
    if (names?.size === 0) this.#byConnection.delete(connection);
    return true;
  }

  /** Removes every subscription of the connection; returns the names it had. */
  removeConnection(connection: C): string[] {
    const names = this.#byConnection.get(connection);
    if (!names) return [];
    this.#byConnection.delete(connection);
    const removed = [...names];
    for (const name of removed) this.#removeFromName(name, connection);
    return removed;
  }

  /**
   * Removes every subscription of a closed connection, NAMES_REMOVED_PER_TURN
   * names per turn of the event loop, and calls `lastGone` for each name it
   * leaves without subscribers. Until it is done, later turns may still see
   * the connection among a name's subscribers (sends to a closed connection
   * are dropped).
   */
  removeConnectionInTurns(connection: C, lastGone: (name: string) => void): void {
    const names = this.#byConnection.get(connection);
    if (!names) return;
    const step = () => {
      let removed = 0;
      // Deleting while iterating a Set is safe; each step starts from what is left.
      for (const name of names) {
        if (removed++ >= NAMES_REMOVED_PER_TURN) {
          setImmediate(step);
          return;
        }
        if (this.remove(name, connection) && !this.#byName.has(name)) lastGone(name);
      }
    };
    step();
  }

  /** The name's subscribers (one, or a Set of several); undefined when it has none. */
  subscribers(name: string): Subscribers<C> | undefined {
    return this.#byName.get(name);
  }

  /** How many connections are subscribed to the name. */
  count(name: string): number {
    const held = this.#byName.get(name);
    if (held === undefined) return 0;
    return held instanceof Set ? held.size : 1;
  }

  has(name: string, connection: C): boolean {
    const held = this.#byName.get(name);
    if (held === undefined) return false;
    return held instanceof Set ? held.has(connection) : held === connection;
  }

  /** How many names the connection holds. */
  countOf(connection: C): number {
    return this.#byConnection.get(connection)?.size ?? 0;
  }

  /**
   * How many distinct names of `names` the connection does not hold yet;
   * once that is more than `limit`, `limit + 1` (the caller only asks
   * whether they fit). A connection at its cap is answered at its first new
   * name. Repeats are found in a scratch hash table (SCRATCH_SLOTS) instead
   * of a Set of the message's names: bench:attacks huge-subscribe sends 91
   * refused 1,000-name SUBSCRIBEs to a connection 999 names short of its cap,
   * and their Sets were the largest allocation of the attack (3.9 of 40 MB,
   * sampling heap profile, node A), garbage that brought scavenges closer.
   */
  countNew(names: readonly string[], connection: C, limit = Number.POSITIVE_INFINITY): number {
    const held = this.#byConnection.get(connection);
    if (names.length * 2 > SCRATCH_SLOTS) return countNewWithSet(names, held, limit);
    let size = 16;
    while (size < names.length * 2) size *= 2;
    const mask = size - 1;
    scratch.fill(0, 0, size);
    let fresh = 0;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (held?.has(name)) continue;
      for (let slot = hashOf(name) & mask; ; slot = (slot + 1) & mask) {
        const at = scratch[slot]!;
        if (at === 0) {
          scratch[slot] = i + 1;
          fresh++;
          break;
        }
        if (names[at - 1] === name) break; // a repeat
      }
      if (fresh > limit) break;
    }
    return fresh;
  }

  namesOf(connection: C): ReadonlySet<string> | undefined {
    return this.#byConnection.get(connection);
  }

  names(): IterableIterator<string> {
    return this.#byName.keys();
  }

  /** Every (name, connection) pair, for re-checking permissions. */
  *entries(): Generator<[string, C]> {
    for (const [name, held] of this.#byName) {
      if (held instanceof Set) for (const c of held) yield [name, c];
      else yield [name, held];
    }
  }
}
