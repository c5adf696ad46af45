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
 * Who is subscribed to which name, in one app and one topic. Both
 * directions are indexed, so a closing connection is removed from every
 * name it had in time proportional to its own subscriptions.
 */
export class SubscriptionRegistry<C> {
  readonly #byName = new Map<string, Set<C>>();
  readonly #byConnection = new Map<C, Set<string>>();

  /** False when the connection was already subscribed to the name. */
  add(name: string, connection: C): boolean {
    let set = this.#byName.get(name);
    if (!set) {
      set = new Set();
      this.#byName.set(name, set);
    }
    if (set.has(connection)) return false;
    set.add(connection);
    let names = this.#byConnection.get(connection);
    if (!names) {
      names = new Set();
      this.#byConnection.set(connection, names);
    }
    names.add(name);
    return true;
  }

  /** False when the connection was not subscribed. */
  remove(name: string, connection: C): boolean {
    const set = this.#byName.get(name);
    if (!set?.delete(connection)) return false;
    if (set.size === 0) this.#byName.delete(name);
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
    for (const name of removed) {
      const set = this.#byName.get(name);
      set?.delete(connection);
      if (set?.size === 0) this.#byName.delete(name);
    }
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

  subscribers(name: string): ReadonlySet<C> | undefined {
    return this.#byName.get(name);
  }

  has(name: string, connection: C): boolean {
    return this.#byName.get(name)?.has(connection) ?? false;
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
    for (const [name, set] of this.#byName) for (const c of set) yield [name, c];
  }
}
