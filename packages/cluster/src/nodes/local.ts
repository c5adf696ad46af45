import type { Beat, NodeRegistry, NodeRegistryOptions } from './node-registry.ts';

/** The nodes of one process, or of several in-process "nodes" in tests. */
export class LocalNodeTable {
  readonly beats = new Map<string, number>();
  readonly claims = new Map<string, number>();
}

export class LocalNodeRegistry implements NodeRegistry {
  readonly nodeId: string;
  readonly #table: LocalNodeTable;
  readonly #deadAfterMs: number;
  readonly #claimTimeoutMs: number;

  constructor(options: NodeRegistryOptions & { table?: LocalNodeTable }) {
    this.nodeId = options.nodeId;
    this.#table = options.table ?? new LocalNodeTable();
    this.#deadAfterMs = options.deadAfterMs;
    this.#claimTimeoutMs = options.claimTimeoutMs ?? 4 * options.deadAfterMs;
  }

  async beat(): Promise<Beat> {
    if (this.#table.claims.has(this.nodeId)) return 'cleaning';
    const existed = this.#table.beats.has(this.nodeId);
    this.#table.beats.set(this.nodeId, Date.now());
    return existed ? 'alive' : 'registered';
  }

  async claimDead(): Promise<string[]> {
    const now = Date.now();
    const claimed: string[] = [];
    for (const [node, at] of this.#table.beats) {
      if (at > now - this.#deadAfterMs) continue;
      this.#table.beats.delete(node);
      claimed.push(node);
    }
    for (const [node, until] of this.#table.claims) if (until <= now) claimed.push(node);
    for (const node of claimed) this.#table.claims.set(node, now + this.#claimTimeoutMs);
    return claimed;
  }

  async release(nodeId: string): Promise<void> {
    this.#table.claims.delete(nodeId);
  }

  async deregister(): Promise<void> {
    this.#table.beats.delete(this.nodeId);
  }

  async nodes(): Promise<string[]> {
    return [...this.#table.beats.keys()];
  }
}
