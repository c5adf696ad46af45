// Which realtime nodes are alive. Each node renews its entry every heartbeat
// interval; an entry older than `deadAfterMs` belongs to a dead node, which
// exactly one surviving node claims, cleans up after (the registries of
// `NodeOwnedState`) and releases. A node that was only paused (a long GC)
// finds it was declared dead on its next beat, waits until the cleanup is
// over, then registers again and writes its state back.

/** The outcome of one heartbeat. */
export type Beat =
  /** The entry was there and is renewed. */
  | 'alive'
  /** The entry was missing (first beat, or this node was declared dead and cleaned up): it is back. */
  | 'registered'
  /** Another node is still removing this node's registrations: beat again later. */
  | 'cleaning';

export interface NodeRegistry {
  readonly nodeId: string;
  beat(): Promise<Beat>;
  /**
   * Claims the nodes whose entry expired (and those whose claimer died before
   * it released them). Atomic: each dead node goes to exactly one caller,
   * which must `release` it once its registrations are removed.
   */
  claimDead(): Promise<string[]>;
  /** The claimed node's registrations are gone: it may register again. */
  release(nodeId: string): Promise<void>;
  /** Leaves at once, for a graceful stop: nobody waits for the entry to expire. */
  deregister(): Promise<void>;
  /** The nodes alive now (this one included once it beat). */
  nodes(): Promise<string[]>;
}

/**
 * A shared registry in which each node holds registrations (presence, RPC
 * providers, listeners). The node lifecycle iterates a list of these.
 */
export type NodeOwnedState = {
  /** Removes everything `nodeId` registered; idempotent. */
  removeNode(nodeId: string): Promise<unknown>;
  /**
   * Writes this node's own registrations back from its in-memory mirror
   * (after it was wrongly declared dead). Optional: registries that replay
   * on Redis reconnects only may leave it out.
   */
  restore?(): Promise<unknown>;
};

export type NodeRegistryOptions = {
  nodeId: string;
  /** An entry older than this is a dead node's. */
  deadAfterMs: number;
  /**
   * How long a claimer has to clean up before another node may claim the
   * same dead node again (the claimer may have died too). Default 4 × deadAfterMs.
   */
  claimTimeoutMs?: number;
};
