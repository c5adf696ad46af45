import type { ConnectionCounter } from './connection-counter.ts';

/** One process: the node's counts are the cluster's. */
export class LocalConnectionCounter implements ConnectionCounter {
  readonly #counts = new Map<string, number>();

  async acquire(appId: string, max: number): Promise<boolean> {
    const count = this.#counts.get(appId) ?? 0;
    if (count >= max) return false;
    this.#counts.set(appId, count + 1);
    return true;
  }

  async release(appId: string): Promise<void> {
    const count = (this.#counts.get(appId) ?? 0) - 1;
    if (count > 0) this.#counts.set(appId, count);
    else this.#counts.delete(appId);
  }

  async count(appId: string): Promise<number> {
    return this.#counts.get(appId) ?? 0;
  }

  async removeNode(): Promise<{ appId: string; connections: number }[]> {
    return [];
  }

  async restore(): Promise<void> {}

  async close(): Promise<void> {
    this.#counts.clear();
  }
}
