// Which nodes provide which RPC, per app. A node registers a name when its
// first local provider of that name arrives and unregisters it when its last
// one leaves; a requester's node asks which nodes to offer a call to. Only
// nodes are recorded, never connections: the node that holds a provider
// picks among its own providers.

export type RpcRegistration = { appId: string; name: string };

export interface RpcProviderRegistry {
  /** This node has a provider of `name` in the app (idempotent). */
  register(appId: string, name: string): Promise<void>;
  /** This node's last provider of `name` in the app left (idempotent). */
  unregister(appId: string, name: string): Promise<void>;
  /** The nodes with a provider of `name` in the app, this one included. */
  nodesFor(appId: string, name: string): Promise<string[]>;
  /**
   * Removes everything a (dead) node registered; returns what was removed.
   * Idempotent. The node's own copy of its registrations stays: `restore`
   * writes it back if the node turns out to be alive.
   */
  removeNode(nodeId: string): Promise<RpcRegistration[]>;
  /** Writes this node's own registrations again. */
  restore(): Promise<void>;
  close(): Promise<void>;
}
