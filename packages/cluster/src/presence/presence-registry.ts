// Who is online in an app across the cluster. A node calls join when a user
// gets their first connection on that node and leave when the last one
// closes; the registry answers whether that made the user come online (or go
// offline) for the whole cluster, so exactly one node announces it.

export interface PresenceRegistry {
  /** True when the user was offline everywhere before. */
  join(appId: string, user: string): Promise<boolean>;
  /** True when the user is now offline everywhere. */
  leave(appId: string, user: string): Promise<boolean>;
  online(appId: string): Promise<string[]>;
  areOnline(appId: string, users: readonly string[]): Promise<boolean[]>;
  /** Removes everything a (dead) node held; returns the users that went offline. */
  removeNode(nodeId: string): Promise<{ appId: string; user: string }[]>;
  /**
   * Writes this node's share back (Redis came back empty, or the node was
   * declared dead); returns the users that came online again by it.
   */
  restore(): Promise<{ appId: string; user: string }[]>;
  close(): Promise<void>;
}
