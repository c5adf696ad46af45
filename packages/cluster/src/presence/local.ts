import type { PresenceRegistry } from './presence-registry.ts';

/** One process: the node's own counts are the cluster's. */
export class LocalPresenceRegistry implements PresenceRegistry {
  readonly #online = new Map<string, Set<string>>();

  async join(appId: string, user: string): Promise<boolean> {
    let users = this.#online.get(appId);
    if (!users) {
      users = new Set();
      this.#online.set(appId, users);
    }
    if (users.has(user)) return false;
    users.add(user);
    return true;
  }

  async leave(appId: string, user: string): Promise<boolean> {
    const users = this.#online.get(appId);
    if (!users?.delete(user)) return false;
    if (users.size === 0) this.#online.delete(appId);
    return true;
  }

  async online(appId: string): Promise<string[]> {
    return [...(this.#online.get(appId) ?? [])];
  }

  async areOnline(appId: string, users: readonly string[]): Promise<boolean[]> {
    const online = this.#online.get(appId);
    return users.map((u) => online?.has(u) ?? false);
  }

  async removeNode(): Promise<{ appId: string; user: string }[]> {
    return [];
  }

  async restore(): Promise<{ appId: string; user: string }[]> {
    return [];
  }

  async close(): Promise<void> {
    this.#online.clear();
  }
}
