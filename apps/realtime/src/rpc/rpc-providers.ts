import { type Message, RPC_ACTION, type RpcProvide, TOPIC } from '@hubstream/protocol';
import type { AppScope } from '../core/app-scope.ts';
import type { Connection } from '../core/connection.ts';
import { withinNamesCap, withinRegistryCap } from '../core/connection-caps.ts';
import { listOf, SubscriptionRegistry } from '../core/subscriptions.ts';
import { authorizeNames, sendDenial } from '../permissions/authorize.ts';
import { ack } from './rpc-replies.ts';

/**
 * The RPC providers of one app on this node (PROVIDE, UNPROVIDE), and their
 * names in the cluster's provider registry: a name is registered with its
 * first provider here and unregistered with its last.
 */
export class RpcProviders {
  readonly #app: AppScope;
  /** Who provides which RPC on this node. */
  readonly registry = new SubscriptionRegistry<Connection>();

  constructor(app: AppScope) {
    this.#app = app;
  }

  /** The local provider for the next attempt of an RPC: a random untried one, or none. */
  select(name: string, tried: ReadonlySet<Connection>): Connection | undefined {
    const untried = listOf(this.registry.subscribers(name)).filter((c) => !tried.has(c));
    return untried[Math.floor(Math.random() * untried.length)];
  }

  /** PROVIDE: registered here, and cluster-wide for a name's first provider on this node. */
  async provide(connection: Connection, message: RpcProvide) {
    const names = message.names;
    if (!withinNamesCap(connection, message)) return;
    const max = this.#app.limits.maxProvidesPerConnection;
    if (!withinRegistryCap(connection, message, this.registry, max, 'provides')) return;
    const allowed = await authorizeNames(connection, message, names, { action: message.action });
    // Closed while a rule loaded a record: its cleanup already ran.
    if (!connection.isOpen) return;
    const registered: Promise<void>[] = [];
    for (const name of allowed) {
      if (!this.registry.add(name, connection)) {
        connection.send({
          topic: TOPIC.RPC,
          action: RPC_ACTION.MULTIPLE_PROVIDERS,
          name,
          originalAction: message.action,
        });
      } else if (this.registry.count(name) === 1) {
        registered.push(this.#register(name));
      }
    }
    // Acknowledged once the other nodes can find it.
    await Promise.all(registered);
    // Every name denied: the denials cleared the client's ack timer; no ack.
    if (allowed.length > 0) ack(connection, message);
  }

  async unprovide(connection: Connection, message: RpcProvide) {
    const names = message.names;
    if (!withinNamesCap(connection, message)) return;
    const unregistered: Promise<void>[] = [];
    for (const name of names) {
      if (this.registry.remove(name, connection)) {
        if (!this.registry.subscribers(name)) unregistered.push(this.#unregister(name));
        continue;
      }
      connection.send({
        topic: TOPIC.RPC,
        action: RPC_ACTION.NOT_PROVIDED,
        name,
        originalAction: message.action,
      });
    }
    await Promise.all(unregistered);
    // Requests already routed to it stay with it: the provider may still answer them.
    ack(connection, message);
  }

  // The registry's calls reach Redis in the order they are made, so a quick
  // provide-unprovide-provide ends registered; a failure is logged and the
  // registry writes its copy back when its connection is ready again.
  #register(name: string): Promise<void> {
    const { appId, node } = this.#app;
    return node.rpcProviders.register(appId, name).catch((error: unknown) => {
      this.#app.log.error({ err: error, app: appId }, 'registering an rpc provider failed');
    });
  }

  #unregister(name: string): Promise<void> {
    const { appId, node } = this.#app;
    return node.rpcProviders.unregister(appId, name).catch((error: unknown) => {
      this.#app.log.error({ err: error, app: appId }, 'unregistering an rpc provider failed');
    });
  }

  /** Unregisters the names no local provider is left for. */
  unregisterUnprovided(names: Iterable<string>) {
    for (const name of names) if (!this.registry.subscribers(name)) void this.#unregister(name);
  }

  /** The connection is gone: the names it alone provided are unregistered. */
  connectionClosed(connection: Connection): void {
    this.unregisterUnprovided(this.registry.removeConnection(connection));
  }

  /** New rules: providers no longer allowed to provide are told, and let go. */
  async permissionsChanged(): Promise<void> {
    for (const [name, connection] of [...this.registry.entries()]) {
      const verdict = await this.#app.check(connection, TOPIC.RPC, {
        action: RPC_ACTION.PROVIDE,
        name,
      });
      if (verdict === 'allowed') continue;
      // Left meanwhile (the check may have loaded a record): nothing to tell.
      if (!this.registry.remove(name, connection)) continue;
      this.unregisterUnprovided([name]);
      const provide: Message = { topic: TOPIC.RPC, action: RPC_ACTION.PROVIDE, name };
      sendDenial(connection, provide, name, verdict);
    }
  }

  /** The app is going away here: other nodes stop finding its providers. */
  close(): void {
    const names = [...this.registry.names()];
    // Its connections are closing: their cleanup finds nothing left to unregister.
    for (const [name, connection] of [...this.registry.entries()]) {
      this.registry.remove(name, connection);
    }
    for (const name of names) void this.#unregister(name);
  }
}
