// How many connections each app has open across the cluster. A count, not
// a rate: a node adds one when a connection is admitted and takes it back
// when the connection closes. Each node's share is kept apart, so a dead
// node's connections can be dropped without knowing what it held.

export interface ConnectionCounter {
  /** Counts one more connection of the app on this node, unless the app already has `max`. */
  acquire(appId: string, max: number): Promise<boolean>;
  /** One connection of the app on this node closed. */
  release(appId: string): Promise<void>;
  /** The app's connections across the cluster. */
  count(appId: string): Promise<number>;
  /** Drops every count a (dead) node held; idempotent. Returns what it held, per app. */
  removeNode(nodeId: string): Promise<{ appId: string; connections: number }[]>;
  /** Writes this node's own counts back from memory (Redis lost them, or the node was wrongly declared dead). */
  restore(): Promise<void>;
  close(): Promise<void>;
}
