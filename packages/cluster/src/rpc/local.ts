import { addTo, deleteFrom } from './mine.ts';
import type { RpcProviderRegistry, RpcRegistration } from './rpc-registry.ts';

type Table = Map<string, Map<string, Set<string>>>;

/**
 * In-process: the single node's registrations. Registries built with
 * `sharedWith` see one table, as nodes sharing one Redis would (several
 * nodes in one process, in tests).
 */
export class LocalRpcProviderRegistry implements RpcProviderRegistry {
  readonly #nodeId: string;
  readonly #table: Table;
  /** This node's registrations, for restore(). */
  readonly #mine = new Map<string, Set<string>>();

  constructor(options: { nodeId: string; sharedWith?: LocalRpcProviderRegistry }) {
    this.#nodeId = options.nodeId;
    this.#table = options.sharedWith ? options.sharedWith.#table : new Map();
  }

  async register(appId: string, name: string): Promise<void> {
    addTo(this.#mine, appId, name);
    this.#add(appId, name);
  }

  async unregister(appId: string, name: string): Promise<void> {
    deleteFrom(this.#mine, appId, name);
    this.#remove(appId, name, this.#nodeId);
  }

  async nodesFor(appId: string, name: string): Promise<string[]> {
    return [...(this.#table.get(appId)?.get(name) ?? [])];
  }

  async removeNode(nodeId: string): Promise<RpcRegistration[]> {
    const removed: RpcRegistration[] = [];
    for (const [appId, names] of [...this.#table]) {
      for (const name of [...names.keys()]) {
        if (this.#remove(appId, name, nodeId)) removed.push({ appId, name });
      }
    }
    return removed;
  }

  async restore(): Promise<void> {
    for (const [appId, names] of this.#mine) for (const name of names) this.#add(appId, name);
  }

  #add(appId: string, name: string) {
    let names = this.#table.get(appId);
    if (!names) {
      names = new Map();
      this.#table.set(appId, names);
    }
    let nodes = names.get(name);
    if (!nodes) {
      nodes = new Set();
      names.set(name, nodes);
    }
    nodes.add(this.#nodeId);
  }

  #remove(appId: string, name: string, nodeId: string): boolean {
    const names = this.#table.get(appId);
    const nodes = names?.get(name);
    if (!names || !nodes?.delete(nodeId)) return false;
    if (nodes.size === 0) names.delete(name);
    if (names.size === 0) this.#table.delete(appId);
    return true;
  }

  async close(): Promise<void> {}
}
