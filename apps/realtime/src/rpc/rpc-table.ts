import type { Connection } from '../core/connection.ts';

/** One `make()` in flight: who asked, which provider holds it now, who refused it. */
export type Rpc = {
  readonly name: string;
  readonly requestor: Connection;
  /** The id the requestor chose; every reply to the requestor carries it. */
  readonly requestorCid: string;
  /** The request's JSON text, forwarded unchanged to each provider tried. */
  readonly data: string | undefined;
  /** Providers this request was sent to; a reroute never picks one again. */
  readonly tried: Set<Connection>;
  provider: Connection | null;
  /** The id the current provider knows the request by. */
  providerCid: string;
  accepted: boolean;
  acceptTimer: NodeJS.Timeout | undefined;
  responseTimer: NodeJS.Timeout | undefined;
};

/**
 * A provider may still answer an RPC that ended without it (timed out, or
 * its requestor left). Those late replies are expected, not errors, so they
 * are dropped silently instead of answered with INVALID_RPC_CORRELATION_ID,
 * which the official client reports as an `error`. Bounded per provider.
 */
const MAX_ABANDONED_PER_PROVIDER = 1000;

/**
 * The RPCs in flight in one app, indexed by (requestor, requestor's id) and
 * by (provider, provider's id). Correlation ids are chosen by clients, so
 * they are only unique per connection: two requestors may use the same id,
 * and a provider must never see two open requests under one id.
 */
export class RpcTable {
  readonly #byRequestor = new Map<Connection, Map<string, Rpc>>();
  readonly #byProvider = new Map<Connection, Map<string, Rpc>>();
  readonly #abandoned = new Map<Connection, Set<string>>();
  #sequence = 0;

  ofRequestor(requestor: Connection, cid: string): Rpc | undefined {
    return this.#byRequestor.get(requestor)?.get(cid);
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

  get size(): number {
    let n = 0;
    for (const rpcs of this.#byRequestor.values()) n += rpcs.size;
    return n;
  }

  add(rpc: Rpc): void {
    let rpcs = this.#byRequestor.get(rpc.requestor);
    if (!rpcs) {
      rpcs = new Map();
      this.#byRequestor.set(rpc.requestor, rpcs);
    }
    rpcs.set(rpc.requestorCid, rpc);
  }

  /**
   * Hands the RPC to a provider. The provider sees the requestor's own id
   * (the REQUEST is forwarded as sent) unless that id is already taken at
   * this provider, by another requestor's RPC or a late reply it may still
   * send; then it gets a fresh one.
   */
  assign(rpc: Rpc, provider: Connection): void {
    let held = this.#byProvider.get(provider);
    if (!held) {
      held = new Map();
      this.#byProvider.set(provider, held);
    }
    const taken = (cid: string) => held.has(cid) || this.isAbandoned(provider, cid);
    let cid = rpc.requestorCid;
    while (taken(cid)) cid = `${rpc.requestorCid}~${++this.#sequence}`;
    rpc.provider = provider;
    rpc.providerCid = cid;
    rpc.accepted = false;
    held.set(cid, rpc);
  }

  /** Takes the RPC away from its provider (a reject, a reroute, or the end). */
  release(rpc: Rpc): void {
    const provider = rpc.provider;
    if (!provider) return;
    const held = this.#byProvider.get(provider);
    held?.delete(rpc.providerCid);
    if (held?.size === 0) this.#byProvider.delete(provider);
    rpc.provider = null;
  }

  /** The RPC is over; `abandoned` when its provider may still answer. */
  remove(rpc: Rpc, abandoned: boolean): void {
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
    const rpcs = this.#byRequestor.get(rpc.requestor);
    rpcs?.delete(rpc.requestorCid);
    if (rpcs?.size === 0) this.#byRequestor.delete(rpc.requestor);
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
    return [...this.#byRequestor.values()].flatMap((rpcs) => [...rpcs.values()]);
  }
}
