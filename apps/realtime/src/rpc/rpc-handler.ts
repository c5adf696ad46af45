import { type Message, RPC_ACTION, TOPIC } from '@hubstream/protocol';
import type { AppRuntime } from '../core/app-runtime.ts';
import type { Connection } from '../core/connection.ts';
import { SubscriptionRegistry } from '../core/subscriptions.ts';
import type { TopicHandler } from '../core/types.ts';
import { authorize, authorizeNames, sendDenial } from '../permissions/authorize.ts';
import { type Rpc, RpcTable } from './rpc-table.ts';

/**
 * RPC (PROTOCOL.md 5): providers register names; a request goes to one
 * provider at a time, chosen at random among those it has not tried; ACCEPT,
 * RESPONSE and REQUEST_ERROR are relayed back; REJECT or a provider leaving
 * moves it on to the next. The server owns the timeouts: the official client
 * has none, so without them `make()` could hang forever.
 */
export class RpcHandler implements TopicHandler {
  readonly #app: AppRuntime;
  /** Who provides which RPC on this node. */
  readonly providers = new SubscriptionRegistry<Connection>();
  readonly #rpcs = new RpcTable();

  constructor(app: AppRuntime) {
    this.#app = app;
  }

  /** RPCs in flight (for tests and metrics). */
  get inFlight(): number {
    return this.#rpcs.size;
  }

  handle(connection: Connection, message: Message): void | Promise<void> {
    switch (message.action) {
      case RPC_ACTION.PROVIDE:
        return this.#provide(connection, message);
      case RPC_ACTION.UNPROVIDE:
        return this.#unprovide(connection, message);
      case RPC_ACTION.REQUEST:
        return this.#request(connection, message);
      case RPC_ACTION.ACCEPT:
      case RPC_ACTION.RESPONSE:
      case RPC_ACTION.REQUEST_ERROR:
      case RPC_ACTION.REJECT:
        return this.#providerReply(connection, message);
      default:
        return this.#invalid(connection, message);
    }
  }

  /**
   * The provider for the next attempt of an RPC: a random one among those
   * not tried yet, or none. Cross-node routing replaces this one method.
   */
  selectProvider(name: string, tried: ReadonlySet<Connection>): Connection | undefined {
    const candidates = this.providers.subscribers(name);
    if (!candidates) return undefined;
    const untried = [...candidates].filter((c) => !tried.has(c));
    return untried[Math.floor(Math.random() * untried.length)];
  }

  async #provide(connection: Connection, message: Message) {
    const names = message.names ?? [];
    if (names.length === 0) return this.#invalid(connection, message);
    const allowed = await authorizeNames(connection, message, names, { action: message.action });
    // Closed while a rule loaded a record: its cleanup already ran.
    if (!connection.isOpen) return;
    for (const name of allowed) {
      if (!this.providers.add(name, connection)) {
        connection.send({
          topic: TOPIC.RPC,
          action: RPC_ACTION.MULTIPLE_PROVIDERS,
          name,
          originalAction: message.action,
        });
      }
    }
    // Every name denied: the denials cleared the client's ack timer; no ack.
    if (allowed.length > 0) this.#ack(connection, message);
  }

  #unprovide(connection: Connection, message: Message) {
    const names = message.names ?? [];
    if (names.length === 0) return this.#invalid(connection, message);
    for (const name of names) {
      if (this.providers.remove(name, connection)) continue;
      connection.send({
        topic: TOPIC.RPC,
        action: RPC_ACTION.NOT_PROVIDED,
        name,
        originalAction: message.action,
      });
    }
    // Requests already routed to it stay with it: the provider may still answer them.
    this.#ack(connection, message);
  }

  #request(connection: Connection, message: Message): void | Promise<void> {
    const { name, correlationId: cid } = message;
    if (!name || !cid) return this.#invalid(connection, message);
    if (this.#rpcs.ofRequestor(connection, cid)) {
      // The id would no longer say which call a reply belongs to.
      return this.#invalidCorrelation(connection, message, name, cid);
    }
    let data: unknown;
    try {
      data = message.data === undefined ? undefined : JSON.parse(message.data);
    } catch {
      return this.#invalid(connection, message);
    }
    const allowed = authorize(connection, message, { action: message.action, name, data });
    if (allowed === true) return this.#start(connection, name, cid, message.data);
    if (allowed === false) return;
    return allowed.then((ok) => {
      if (ok && connection.isOpen) this.#start(connection, name, cid, message.data);
    });
  }

  #start(requestor: Connection, name: string, cid: string, data: string | undefined) {
    const rpc: Rpc = {
      name,
      requestor,
      requestorCid: cid,
      data,
      tried: new Set(),
      provider: null,
      providerCid: cid,
      accepted: false,
      acceptTimer: undefined,
      responseTimer: undefined,
    };
    this.#rpcs.add(rpc);
    this.#route(rpc);
  }

  /** Sends the RPC to its next provider, or ends it with NO_RPC_PROVIDER. */
  #route(rpc: Rpc) {
    this.#stopTimers(rpc);
    this.#rpcs.release(rpc);
    const provider = this.selectProvider(rpc.name, rpc.tried);
    if (!provider) {
      this.#rpcs.remove(rpc, false);
      this.#toRequestor(rpc, RPC_ACTION.NO_RPC_PROVIDER);
      return;
    }
    rpc.tried.add(provider);
    this.#rpcs.assign(rpc, provider);
    // Both clocks run from the moment this provider gets the request, so a
    // slow provider cannot hold a call longer than the response timeout.
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
    provider.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.REQUEST,
      name: rpc.name,
      correlationId: rpc.providerCid,
      ...(rpc.data === undefined ? {} : { data: rpc.data }),
    });
  }

  #timedOut(rpc: Rpc, action: number) {
    this.#stopTimers(rpc);
    this.#rpcs.remove(rpc, true);
    this.#toRequestor(rpc, action);
  }

  #providerReply(provider: Connection, message: Message) {
    const cid = message.correlationId;
    if (!cid) return this.#invalid(provider, message);
    const rpc = this.#rpcs.ofProvider(provider, cid);
    if (!rpc) {
      if (this.#rpcs.isAbandoned(provider, cid)) {
        // A late reply to an RPC that already ended: nobody waits for it.
        if (message.action !== RPC_ACTION.ACCEPT) this.#rpcs.forget(provider, cid);
        return;
      }
      return this.#invalidCorrelation(provider, message, message.name, cid);
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
        rpc.accepted = true;
        clearTimeout(rpc.acceptTimer);
        rpc.acceptTimer = undefined;
        this.#toRequestor(rpc, RPC_ACTION.ACCEPT);
        return;
      case RPC_ACTION.REJECT:
        this.#route(rpc);
        return;
      default:
        // RESPONSE or REQUEST_ERROR, relayed as sent; the RPC is over. The
        // client sends REQUEST_ERROR without an ACCEPT first; that is fine.
        this.#stopTimers(rpc);
        this.#rpcs.remove(rpc, false);
        this.#toRequestor(rpc, message.action, message.data);
    }
  }

  #toRequestor(rpc: Rpc, action: number, data?: string) {
    rpc.requestor.send({
      topic: TOPIC.RPC,
      action,
      name: rpc.name,
      correlationId: rpc.requestorCid,
      ...(data === undefined ? {} : { data }),
    });
  }

  #stopTimers(rpc: Rpc) {
    clearTimeout(rpc.acceptTimer);
    clearTimeout(rpc.responseTimer);
    rpc.acceptTimer = undefined;
    rpc.responseTimer = undefined;
  }

  #ack(connection: Connection, message: Message) {
    connection.send({
      topic: TOPIC.RPC,
      action: message.action,
      ...(message.correlationId === undefined ? {} : { correlationId: message.correlationId }),
      isAck: true,
    });
  }

  #invalidCorrelation(
    connection: Connection,
    message: Message,
    name: string | undefined,
    cid: string,
  ) {
    connection.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.INVALID_RPC_CORRELATION_ID,
      originalAction: message.action,
      ...(name === undefined ? {} : { name }),
      correlationId: cid,
      isError: true,
    });
  }

  #invalid(connection: Connection, message: Message) {
    connection.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.INVALID_MESSAGE_DATA,
      originalAction: message.action,
      ...(message.name === undefined ? {} : { name: message.name }),
      ...(message.correlationId === undefined ? {} : { correlationId: message.correlationId }),
      isError: true,
    });
  }

  connectionClosed(connection: Connection): void {
    this.providers.removeConnection(connection);
    // Its own calls are cancelled: nobody is left to answer. Providers that
    // hold them may still reply; those replies are dropped quietly.
    for (const rpc of this.#rpcs.requestedBy(connection)) {
      this.#stopTimers(rpc);
      this.#rpcs.remove(rpc, rpc.provider !== connection);
    }
    // Calls it was serving move on to a provider they have not tried.
    for (const rpc of this.#rpcs.heldBy(connection)) this.#route(rpc);
    this.#rpcs.forgetProvider(connection);
  }

  async permissionsChanged(): Promise<void> {
    for (const [name, connection] of [...this.providers.entries()]) {
      const verdict = await this.#app.check(connection, TOPIC.RPC, {
        action: RPC_ACTION.PROVIDE,
        name,
      });
      if (verdict === 'allowed') continue;
      // Left meanwhile (the check may have loaded a record): nothing to tell.
      if (!this.providers.remove(name, connection)) continue;
      const provide: Message = { topic: TOPIC.RPC, action: RPC_ACTION.PROVIDE, name };
      sendDenial(connection, provide, name, verdict);
    }
  }

  close(): void {
    for (const rpc of this.#rpcs.all()) {
      this.#stopTimers(rpc);
      this.#rpcs.remove(rpc, false);
    }
  }
}
