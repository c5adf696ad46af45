/**
 * Which users of one app are online on this node: a user is online while at
 * least one of its logged-in connections is open. The same user may be
 * connected many times; only the first connection in and the last one out
 * change anything. (The cross-node presence registry takes this shape.)
 */
export class OnlineUsers<C> {
  readonly #connections = new Map<string, Set<C>>();

  /** True when this is the user's first connection (the user came online). */
  add(userId: string, connection: C): boolean {
    let set = this.#connections.get(userId);
    if (!set) {
      set = new Set();
      this.#connections.set(userId, set);
    }
    if (set.has(connection)) return false;
    set.add(connection);
    return set.size === 1;
  }

  /** True when this was the user's last connection (the user went offline). */
  remove(userId: string, connection: C): boolean {
    const set = this.#connections.get(userId);
    if (!set?.delete(connection)) return false;
    if (set.size > 0) return false;
    this.#connections.delete(userId);
    return true;
  }

  isOnline(userId: string): boolean {
    return this.#connections.has(userId);
  }

  /** How many connections the user has open (0 when offline). */
  connectionsOf(userId: string): number {
    return this.#connections.get(userId)?.size ?? 0;
  }

  users(): IterableIterator<string> {
    return this.#connections.keys();
  }
}
