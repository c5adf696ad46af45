import type { BusTopics } from '@hubstream/cluster';
import {
  RPC_ACTION,
  type RpcMessage,
  type RpcProviderReply,
  type RpcRequest,
  TOPIC,
} from '@hubstream/protocol';
import type { AppScope } from '../core/app-scope.ts';
import type { Connection } from '../core/connection.ts';
import { refuseOverCap } from '../core/connection-caps.ts';
import type { SubscriptionRegistry } from '../core/subscriptions.ts';
import type { TopicHandler } from '../core/topic-handler.ts';
import { authorize } from '../permissions/authorize.ts';
import { RpcProviders } from './rpc-providers.ts';
import { invalidCorrelation, invalidMessage } from './rpc-replies.ts';
import { newRpc, type Rpc, RpcTable } from './rpc-table.ts';

/**
 * RPC (PROTOCOL.md 5): providers register names; a request goes to one
 * provider at a time, chosen at random among those it has not tried; ACCEPT,
 * RESPONSE and REQUEST_ERROR are relayed back; REJECT or a provider leaving
 * moves it on to the next. The server owns the timeouts: the official client
 * has none, so without them `make()` could hang forever.
 *
 * Across nodes: the registry says which nodes provide a name. The
 * requester's node owns the call (its correlation, what was tried, the
 * clocks): it tries its own providers first, as deepstream does, then the
 * other nodes one at a time. The node a call is sent to offers it to its own
 * untried providers and relays their replies; when it has none left it says
 * NO_RPC_PROVIDER and the requester's node moves on. The requesting client
 * sees the same messages as with a provider on its own node.
 */
export class RpcHandler implements TopicHandler {
  readonly #app: AppScope;
  readonly #providers: RpcProviders;
  /** Who provides which RPC on this node. */
  readonly providers: SubscriptionRegistry<Connection>;
  readonly #rpcs = new RpcTable();

  constructor(app: AppScope) {
    this.#app = app;
    this.#providers = new RpcProviders(app);
    this.providers = this.#providers.registry;
  }

  /** RPCs this node's clients have in flight (for tests and metrics). */
  get inFlight(): number {
    return this.#rpcs.size;
  }

  /** RPCs of other nodes' clients that this node's providers hold. */
  get serving(): number {
    return this.#rpcs.servedSize;
  }

  /** A checked message (@hubstream/protocol's ClientMessage): its fields are there. */
  handle(connection: Connection, message: RpcMessage): void | Promise<void> {
    switch (message.action) {
      case RPC_ACTION.PROVIDE:
        return this.#providers.provide(connection, message);
      case RPC_ACTION.UNPROVIDE:
        return this.#providers.unprovide(connection, message);
      case RPC_ACTION.REQUEST:
        return this.#request(connection, message);
      case RPC_ACTION.ACCEPT:
      case RPC_ACTION.RESPONSE:
      case RPC_ACTION.REQUEST_ERROR:
      case RPC_ACTION.REJECT:
        return this.#providerReply(connection, message);
    }
  }

  #request(connection: Connection, message: RpcRequest): void | Promise<void> {
    const { name, correlationId: cid } = message;
    if (this.#rpcs.ofRequestor(connection, cid)) {
      // The id would no longer say which call a reply belongs to.
      return invalidCorrelation(connection, message, name, cid);
    }
    if (this.#rpcs.pendingOf(connection) >= this.#app.limits.maxPendingRpcsPerConnection) {
      return refuseOverCap(connection, message, 'pending_rpcs');
    }
    let data: unknown;
    try {
      data = message.data === undefined ? undefined : JSON.parse(message.data);
    } catch {
      return invalidMessage(connection, message);
    }
    const allowed = authorize(connection, message, { action: message.action, name, data });
    if (allowed === true) return this.#start(connection, name, cid, message.data);
    if (allowed === false) return;
    return allowed.then((ok) => {
      if (ok && connection.isOpen) this.#start(connection, name, cid, message.data);
    });
  }

  #start(requestor: Connection, name: string, cid: string, data: string | undefined) {
    const rpc = newRpc(
      this.#rpcs.nextId(),
      name,
      { kind: 'client', connection: requestor, cid },
      {
        cid,
        data,
      },
    );
    this.#rpcs.add(rpc);
    this.#route(rpc);
  }

  /**
   * Sends the RPC to its next provider: an untried one on this node, else
   * (a client's call only) an untried node. Nothing left: NO_RPC_PROVIDER to
   * whoever asked.
   */
  #route(rpc: Rpc) {
    this.#stopTimers(rpc);
    this.#rpcs.release(rpc);
    const provider = this.#providers.select(rpc.name, rpc.tried);
    if (provider) return this.#offer(rpc, provider);
    if (rpc.caller.kind === 'node') return this.#end(rpc, RPC_ACTION.NO_RPC_PROVIDER);
    // The clocks run while the other nodes are looked up, so a Redis that
    // does not answer cannot hold the call forever.
    this.#startClocks(rpc);
    this.#routeRemote(rpc).catch((error: unknown) => {
      this.#app.log.error({ err: error, app: this.#app.appId }, 'routing an rpc failed');
    });
  }

  async #routeRemote(rpc: Rpc) {
    const { appId, node } = this.#app;
    let nodes: string[] = [];
    try {
      nodes = await node.rpcProviders.nodesFor(appId, rpc.name);
    } catch (error) {
      this.#app.log.error({ err: error, app: appId }, 'looking up rpc providers failed');
    }
    // Timed out, or its requestor left, while Redis answered.
    if (rpc.ended) return;
    const self = node.bus.nodeId;
    const untried = nodes.filter((n) => n !== self && !rpc.triedNodes.has(n));
    const target = untried[Math.floor(Math.random() * untried.length)];
    if (target === undefined) return this.#end(rpc, RPC_ACTION.NO_RPC_PROVIDER);
    this.#rpcs.assignRemote(rpc, target);
    this.#startClocks(rpc);
    node.bus
      .sendTo(target, appId, 'rpc.request', {
        id: rpc.id,
        cid: rpc.cid,
        name: rpc.name,
        ...(rpc.data === undefined ? {} : { data: rpc.data }),
      })
      .catch((error: unknown) => this.#busFailed(error));
  }

  /** Hands the RPC to a provider on this node. */
  #offer(rpc: Rpc, provider: Connection) {
    rpc.tried.add(provider);
    this.#rpcs.assign(rpc, provider);
    if (rpc.caller.kind === 'client') {
      this.#startClocks(rpc);
    } else {
      // A provider here refused or left and another one gets it: the
      // requester's node restarts its clocks, as for a local reroute.
      if (rpc.tried.size > 1) this.#toCaller(rpc, RPC_ACTION.REQUEST);
      // The requester's node owns the clocks; this one only bounds how long
      // this node remembers the call if the cancel never comes.
      const { rpcAckTimeoutMs, rpcResponseTimeoutMs } = this.#app.node.settings;
      rpc.responseTimer = setTimeout(() => this.#drop(rpc), rpcAckTimeoutMs + rpcResponseTimeoutMs);
      rpc.responseTimer.unref();
    }
    provider.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.REQUEST,
      name: rpc.name,
      correlationId: rpc.providerCid,
      ...(rpc.data === undefined ? {} : { data: rpc.data }),
    });
  }

  /**
   * Both clocks (re)start when a provider, or another node, gets the
   * request, so a slow provider cannot hold a call longer than the response
   * timeout.
   */
  #startClocks(rpc: Rpc) {
    this.#stopTimers(rpc);
    const { rpcAckTimeoutMs, rpcResponseTimeoutMs } = this.#app.node.settings;
    rpc.acceptTimer = setTimeout(
      () => this.#timedOut(rpc, RPC_ACTION.ACCEPT_TIMEOUT),
      rpcAckTimeoutMs,
    );
    rpc.responseTimer = setTimeout(
      () => this.#timedOut(rpc, RPC_ACTION.RESPONSE_TIMEOUT),
      rpcResponseTimeoutMs,
    );
    rpc.acceptTimer.unref();
    rpc.responseTimer.unref();
  }

  #timedOut(rpc: Rpc, action: number) {
    this.#stopTimers(rpc);
    this.#cancelRemote(rpc);
    this.#rpcs.remove(rpc, true);
    this.#toCaller(rpc, action);
  }

  /** The RPC ends with this answer to whoever asked. */
  #end(rpc: Rpc, action: number, data?: string) {
    this.#stopTimers(rpc);
    this.#rpcs.remove(rpc, false);
    this.#toCaller(rpc, action, data);
  }

  /** Forgets the RPC without a word to anyone; its provider may still answer. */
  #drop(rpc: Rpc) {
    this.#stopTimers(rpc);
    this.#cancelRemote(rpc);
    this.#rpcs.remove(rpc, true);
  }

  /** The node holding the call no longer needs to: its answer would find nobody. */
  #cancelRemote(rpc: Rpc) {
    if (rpc.remote === null) return;
    this.#app.node.bus
      .sendTo(rpc.remote, this.#app.appId, 'rpc.cancel', { id: rpc.id })
      .catch((error: unknown) => this.#busFailed(error));
  }

  #providerReply(provider: Connection, message: RpcProviderReply) {
    const cid = message.correlationId;
    const rpc = this.#rpcs.ofProvider(provider, cid);
    if (!rpc) {
      if (this.#rpcs.isAbandoned(provider, cid)) {
        // A late reply to an RPC that already ended: nobody waits for it.
        if (message.action !== RPC_ACTION.ACCEPT) this.#rpcs.forget(provider, cid);
        return;
      }
      return invalidCorrelation(provider, message, message.name, cid);
    }
    switch (message.action) {
      case RPC_ACTION.ACCEPT:
        if (rpc.accepted) {
          provider.send({
            topic: TOPIC.RPC,
            action: RPC_ACTION.MULTIPLE_ACCEPT,
            name: rpc.name,
            correlationId: cid,
            originalAction: message.action,
            isError: true,
          });
          return;
        }
        this.#accepted(rpc);
        return;
      case RPC_ACTION.REJECT:
        this.#route(rpc);
        return;
      default:
        // RESPONSE or REQUEST_ERROR, relayed as sent; the RPC is over. The
        // client sends REQUEST_ERROR without an ACCEPT first; that is fine.
        this.#end(rpc, message.action, message.data);
    }
  }

  #accepted(rpc: Rpc) {
    rpc.accepted = true;
    clearTimeout(rpc.acceptTimer);
    rpc.acceptTimer = undefined;
    this.#toCaller(rpc, RPC_ACTION.ACCEPT);
  }

  /** Another node offers this node's providers one of its clients' calls. */
  requestFromNode(node: string, request: BusTopics['rpc.request']): void {
    // Sent twice: the first copy is already being served.
    if (this.#rpcs.servedFor(node, request.id)) return;
    const rpc = newRpc(request.id, request.name, { kind: 'node', node }, request);
    this.#rpcs.add(rpc);
    this.#route(rpc);
  }

  /** The node holding one of this node's clients' calls tells how it goes. */
  replyFromNode(node: string, reply: BusTopics['rpc.reply']): void {
    const rpc = this.#rpcs.ofId(reply.id);
    // Over already, or moved on from that node: its word no longer counts.
    if (!rpc || rpc.remote !== node) return;
    switch (reply.action) {
      case RPC_ACTION.ACCEPT:
        if (!rpc.accepted) this.#accepted(rpc);
        return;
      case RPC_ACTION.REQUEST:
        // Another provider there has it now; the previous one's ACCEPT no longer counts.
        rpc.accepted = false;
        this.#startClocks(rpc);
        return;
      case RPC_ACTION.NO_RPC_PROVIDER:
        this.#route(rpc);
        return;
      case RPC_ACTION.RESPONSE:
      case RPC_ACTION.REQUEST_ERROR:
        this.#end(rpc, reply.action, reply.data);
        return;
      default:
        this.#app.log.warn({ app: this.#app.appId, action: reply.action }, 'unknown rpc reply');
    }
  }

  /** The requester's node gave up on a call served here (timed out, requestor gone). */
  cancelFromNode(node: string, id: string): void {
    const rpc = this.#rpcs.servedFor(node, id);
    if (rpc) this.#drop(rpc);
  }

  /** A node is gone: the calls it held move on; the calls served for it are dropped. */
  nodeDead(node: string): void {
    for (const rpc of this.#rpcs.heldAt(node)) this.#route(rpc);
    for (const rpc of this.#rpcs.servedForNode(node)) this.#drop(rpc);
  }

  #toCaller(rpc: Rpc, action: number, data?: string) {
    const caller = rpc.caller;
    if (caller.kind === 'client') {
      caller.connection.send({
        topic: TOPIC.RPC,
        action,
        name: rpc.name,
        correlationId: caller.cid,
        ...(data === undefined ? {} : { data }),
      });
      return;
    }
    this.#app.node.bus
      .sendTo(caller.node, this.#app.appId, 'rpc.reply', {
        id: rpc.id,
        action,
        ...(data === undefined ? {} : { data }),
      })
      .catch((error: unknown) => this.#busFailed(error));
  }

  #busFailed(error: unknown) {
    // The requester's clocks end the call if the message is lost.
    this.#app.log.error({ err: error, app: this.#app.appId }, 'sending rpc traffic failed');
  }

  #stopTimers(rpc: Rpc) {
    clearTimeout(rpc.acceptTimer);
    clearTimeout(rpc.responseTimer);
    rpc.acceptTimer = undefined;
    rpc.responseTimer = undefined;
  }

  connectionClosed(connection: Connection): void {
    this.#providers.connectionClosed(connection);
    // Its own calls are cancelled: nobody is left to answer. Providers that
    // hold them may still reply; those replies are dropped quietly.
    for (const rpc of this.#rpcs.requestedBy(connection)) {
      this.#stopTimers(rpc);
      this.#cancelRemote(rpc);
      this.#rpcs.remove(rpc, rpc.provider !== connection);
    }
    // Calls it was serving move on to a provider they have not tried.
    for (const rpc of this.#rpcs.heldBy(connection)) this.#route(rpc);
    this.#rpcs.forgetProvider(connection);
  }

  permissionsChanged(): Promise<void> {
    return this.#providers.permissionsChanged();
  }

  /** The app is going away here: other nodes stop finding its providers and move its calls on. */
  close(): void {
    this.#providers.close();
    for (const rpc of this.#rpcs.all()) {
      if (rpc.caller.kind === 'node') {
        this.#end(rpc, RPC_ACTION.NO_RPC_PROVIDER);
      } else {
        this.#stopTimers(rpc);
        this.#cancelRemote(rpc);
        this.#rpcs.remove(rpc, false);
      }
    }
  }
}
