import type { Connection } from '../core/connection.ts';

/**
 * Who waits for an RPC's answer: a client of this node (under the id it
 * chose), or another node that offered us the call of one of its clients.
 */
export type Caller =
  | { readonly kind: 'client'; readonly connection: Connection; readonly cid: string }
  | { readonly kind: 'node'; readonly node: string };

/** One `make()` in flight: who asked, who holds it now, who refused it. */
export type Rpc = {
  /**
   * Names the call on the bus: unique on the requester's node, which
   * chooses it; a call served for another node keeps that node's id.
   */
  readonly id: string;
  readonly name: string;
  readonly caller: Caller;
  /** The id the provider is offered the call under when it is free there. */
  readonly cid: string;
  /** The request's JSON text, forwarded unchanged to each provider tried. */
  readonly data: string | undefined;
  /** Local providers this request was sent to; a reroute never picks one again. */
  readonly tried: Set<Connection>;
  /** Other nodes this request was sent to (a client's call only). */
  readonly triedNodes: Set<string>;
  /** The local provider holding the call, if one does. */
  provider: Connection | null;
  /** The id the current provider knows the request by. */
  providerCid: string;
  /** The node holding the call when its provider is on another node. */
  remote: string | null;
  accepted: boolean;
  acceptTimer: NodeJS.Timeout | undefined;
  responseTimer: NodeJS.Timeout | undefined;
  /** Over: a routing step that comes back from Redis has nothing left to do. */
  ended: boolean;
};

/**
 * A provider may still answer an RPC that ended without it (timed out, or
 * its requestor left). Those late replies are expected, not errors, so they
 * are dropped silently instead of answered with INVALID_RPC_CORRELATION_ID,
 * which the official client reports as an `error`. Bounded per provider.
 */
const MAX_ABANDONED_PER_PROVIDER = 1000;

const callKey = (node: string, id: string) => `${node}\u0000${id}`;

/**
 * The RPCs in flight in one app on this node: its clients' calls, indexed
 * by (requestor, requestor's id) and by bus id; calls served for other
 * nodes, by (node, id); and all of them by (local provider, provider's id).
 * Correlation ids are chosen by clients, so they are only unique per
 * connection: two requestors may use the same id, and a provider must never
 * see two open requests under one id.
 */
export class RpcTable {
  readonly #byRequestor = new Map<Connection, Map<string, Rpc>>();
  readonly #byId = new Map<string, Rpc>();
  readonly #served = new Map<string, Rpc>();
  readonly #byProvider = new Map<Connection, Map<string, Rpc>>();
  readonly #abandoned = new Map<Connection, Set<string>>();
  #sequence = 0;

  /** A fresh bus id for a call of one of this node's clients. */
  nextId(): string {
    return (++this.#sequence).toString(36);
  }

  /** How many RPCs the connection has in flight (for CONNECTION_MAX_PENDING_RPCS). */
  pendingOf(requestor: Connection): number {
    return this.#byRequestor.get(requestor)?.size ?? 0;
  }

  ofRequestor(requestor: Connection, cid: string): Rpc | undefined {
    return this.#byRequestor.get(requestor)?.get(cid);
  }

  /** This node's client call with that bus id. */
  ofId(id: string): Rpc | undefined {
    return this.#byId.get(id);
  }

  /** The call served here for `node` under its id. */
  servedFor(node: string, id: string): Rpc | undefined {
    return this.#served.get(callKey(node, id));
  }

  ofProvider(provider: Connection, cid: string): Rpc | undefined {
    return this.#byProvider.get(provider)?.get(cid);
  }

  /** RPCs the connection asked for. */
  requestedBy(requestor: Connection): Rpc[] {
    return [...(this.#byRequestor.get(requestor)?.values() ?? [])];
  }

  /** RPCs the connection currently holds as provider. */
  heldBy(provider: Connection): Rpc[] {
    return [...(this.#byProvider.get(provider)?.values() ?? [])];
  }

  /** This node's client calls that `node` holds now. */
  heldAt(node: string): Rpc[] {
    return [...this.#byId.values()].filter((rpc) => rpc.remote === node);
  }

  /** Calls served here for `node`. */
  servedForNode(node: string): Rpc[] {
    return [...this.#served.values()].filter(
      (rpc) => rpc.caller.kind === 'node' && rpc.caller.node === node,
    );
  }

  /** This node's client calls in flight. */
  get size(): number {
    return this.#byId.size;
  }

  /** Calls served here for other nodes. */
  get servedSize(): number {
    return this.#served.size;
  }

  add(rpc: Rpc): void {
    const caller = rpc.caller;
    if (caller.kind === 'node') {
      this.#served.set(callKey(caller.node, rpc.id), rpc);
      return;
    }
    let rpcs = this.#byRequestor.get(caller.connection);
    if (!rpcs) {
      rpcs = new Map();
      this.#byRequestor.set(caller.connection, rpcs);
    }
    rpcs.set(caller.cid, rpc);
    this.#byId.set(rpc.id, rpc);
  }

  /**
   * Hands the RPC to a local provider. The provider sees the requestor's own
   * id (the REQUEST is forwarded as sent) unless that id is already taken at
   * this provider, by another RPC or a late reply it may still send; then it
   * gets a fresh one.
   */
  assign(rpc: Rpc, provider: Connection): void {
    let held = this.#byProvider.get(provider);
    if (!held) {
      held = new Map();
      this.#byProvider.set(provider, held);
    }
    let cid = rpc.cid;
    while (held.has(cid) || this.isAbandoned(provider, cid)) cid = `${rpc.cid}~${++this.#sequence}`;
    rpc.provider = provider;
    rpc.providerCid = cid;
    rpc.remote = null;
    rpc.accepted = false;
    held.set(cid, rpc);
  }

  /** Hands the RPC to another node, which picks one of its providers. */
  assignRemote(rpc: Rpc, node: string): void {
    rpc.triedNodes.add(node);
    rpc.remote = node;
    rpc.accepted = false;
  }

  /** Takes the RPC away from whoever holds it (a reject, a reroute, or the end). */
  release(rpc: Rpc): void {
    rpc.remote = null;
    const provider = rpc.provider;
    if (!provider) return;
    const held = this.#byProvider.get(provider);
    held?.delete(rpc.providerCid);
    if (held?.size === 0) this.#byProvider.delete(provider);
    rpc.provider = null;
  }

  /** The RPC is over; `abandoned` when its local provider may still answer. */
  remove(rpc: Rpc, abandoned: boolean): void {
    rpc.ended = true;
    const provider = rpc.provider;
    if (provider && abandoned) {
      let ids = this.#abandoned.get(provider);
      if (!ids) {
        ids = new Set();
        this.#abandoned.set(provider, ids);
      }
      ids.add(rpc.providerCid);
      if (ids.size > MAX_ABANDONED_PER_PROVIDER) {
        const oldest = ids.values().next().value;
        if (oldest !== undefined) ids.delete(oldest);
      }
    }
    this.release(rpc);
    const caller = rpc.caller;
    if (caller.kind === 'node') {
      this.#served.delete(callKey(caller.node, rpc.id));
      return;
    }
    this.#byId.delete(rpc.id);
    const rpcs = this.#byRequestor.get(caller.connection);
    rpcs?.delete(caller.cid);
    if (rpcs?.size === 0) this.#byRequestor.delete(caller.connection);
  }

  isAbandoned(provider: Connection, cid: string): boolean {
    return this.#abandoned.get(provider)?.has(cid) ?? false;
  }

  /** The provider's final word on an abandoned RPC arrived: nothing more to expect. */
  forget(provider: Connection, cid: string): void {
    const ids = this.#abandoned.get(provider);
    ids?.delete(cid);
    if (ids?.size === 0) this.#abandoned.delete(provider);
  }

  /** The connection is gone: no late replies can come from it. */
  forgetProvider(provider: Connection): void {
    this.#abandoned.delete(provider);
  }

  all(): Rpc[] {
    return [...this.#byId.values(), ...this.#served.values()];
  }
}

/** A call not yet sent anywhere. */
export function newRpc(
  id: string,
  name: string,
  caller: Rpc['caller'],
  request: { cid: string; data?: string | undefined },
): Rpc {
  return {
    id,
    name,
    caller,
    cid: request.cid,
    data: request.data,
    tried: new Set(),
    triedNodes: new Set(),
    provider: null,
    providerCid: request.cid,
    remote: null,
    accepted: false,
    acceptTimer: undefined,
    responseTimer: undefined,
    ended: false,
  };
}
