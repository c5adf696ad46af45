import {
  EVENT_ACTION,
  type EventEmit,
  type EventListen,
  type EventMessage,
  type EventSubscribe,
  type EventUnsubscribe,
  type Message,
  TOPIC,
} from '@hubstream/protocol';
import type { AppScope } from '../core/app-scope.ts';
import { BulkSlices } from '../core/bulk-slices.ts';
import type { Connection } from '../core/connection.ts';
import { withinNamesCap, withinSubscriptionCaps } from '../core/connection-caps.ts';
import { isSeveral, SubscriptionRegistry } from '../core/subscriptions.ts';
import type { TopicHandler } from '../core/topic-handler.ts';
import { ListenRegistry } from '../listen/listen-registry.ts';
import { authorize, authorizeNames, sendDenial } from '../permissions/authorize.ts';
import { encodeEmit } from './emit-frame.ts';

/** Parses a message's JSON data for the rules; `undefined` when absent. */
export function parseData(message: Message): { ok: true; value: unknown } | { ok: false } {
  if (message.data === undefined) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(message.data) };
  } catch {
    return { ok: false };
  }
}

/** Events: subscribe, emit to every other subscriber, listen (PROTOCOL.md 3). */
export class EventHandler implements TopicHandler {
  readonly #app: AppScope;
  readonly subscriptions = new SubscriptionRegistry<Connection>();
  readonly listeners: ListenRegistry;

  constructor(app: AppScope) {
    this.#app = app;
    this.listeners = new ListenRegistry({
      app,
      topic: 'event',
      actions: {
        topic: TOPIC.EVENT,
        listen: EVENT_ACTION.LISTEN,
        unlisten: EVENT_ACTION.UNLISTEN,
        accept: EVENT_ACTION.LISTEN_ACCEPT,
        reject: EVENT_ACTION.LISTEN_REJECT,
        found: EVENT_ACTION.SUBSCRIPTION_FOR_PATTERN_FOUND,
        removed: EVENT_ACTION.SUBSCRIPTION_FOR_PATTERN_REMOVED,
        invalidRegex: EVENT_ACTION.INVALID_LISTEN_REGEX,
      },
      timeoutMs: app.node.settings.listenResponseTimeoutMs,
      hasSubscribers: (name) => this.subscriptions.subscribers(name) !== undefined,
      allNames: () => this.subscriptions.names(),
    });
  }

  /** A checked message (@hubstream/protocol's ClientMessage): its fields are there. */
  handle(connection: Connection, message: EventMessage): void | Promise<void> {
    switch (message.action) {
      case EVENT_ACTION.EMIT:
        return this.#emit(connection, message);
      case EVENT_ACTION.SUBSCRIBE:
        return this.#subscribe(connection, message);
      case EVENT_ACTION.UNSUBSCRIBE:
        return this.#unsubscribe(connection, message);
      case EVENT_ACTION.LISTEN:
      case EVENT_ACTION.UNLISTEN:
        return this.#listen(connection, message);
      case EVENT_ACTION.LISTEN_ACCEPT:
        this.listeners.accept(connection, message);
        return;
      case EVENT_ACTION.LISTEN_REJECT:
        this.listeners.reject(connection, message);
        return;
    }
  }

  #emit(connection: Connection, message: EventEmit): void | Promise<void> {
    const name = message.name;
    const data = parseData(message);
    if (!data.ok) return this.#invalid(connection, message);
    const allowed = authorize(connection, message, {
      action: message.action,
      name,
      data: data.value,
    });
    if (allowed === true) return this.#fanOut(connection, message, name);
    if (allowed === false) return;
    return allowed.then((ok) => {
      if (ok) this.#fanOut(connection, message, name);
    });
  }

  #fanOut(sender: Connection | null, message: Message, name: string) {
    // Alone, there is nobody to tell: no payload, promise or handler per emit.
    if (sender && this.#app.node.bus.isClustered) {
      const remote = message.data === undefined ? { name } : { name, data: message.data };
      this.#app.node.bus
        .publishRemote(this.#app.appId, 'event.emit', remote)
        .catch((error: unknown) => {
          this.#app.log.error(
            { err: error, app: this.#app.appId },
            'publishing an event to the cluster failed',
          );
        });
    }
    if (sender) {
      const emitted = this.#app.hooks.eventEmitted;
      for (let i = 0; i < emitted.length; i++) emitted[i]!(sender, name, message.data);
    }
    const subscribers = this.subscriptions.subscribers(name);
    if (!subscribers) return;
    if (!isSeveral(subscribers)) {
      if (subscribers !== sender)
        subscribers.sendFrame(encodeEmit(name, message.data), TOPIC.EVENT);
      return;
    }
    let frame: Uint8Array | undefined;
    for (const subscriber of subscribers) {
      if (subscriber === sender) continue;
      frame ??= encodeEmit(name, message.data);
      subscriber.sendFrame(frame, TOPIC.EVENT);
    }
  }

  /** An emit from another node: every local subscriber gets it. */
  deliverRemote(event: { name: string; data?: string }): void {
    const message: Message = { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: event.name };
    if (event.data !== undefined) message.data = event.data;
    this.#fanOut(null, message, event.name);
  }

  async #subscribe(connection: Connection, message: EventSubscribe) {
    const names = message.names;
    if (!withinSubscriptionCaps(connection, message, this.subscriptions)) return;
    const allowed = await authorizeNames(connection, message, names, { action: message.action });
    // The connection may have closed while a rule loaded a record.
    if (!connection.isOpen) return;
    // A registry entry each and, for a name new to the node, a listen-registry
    // call: sliced (TURN_SLICE_MS) as the checks were.
    const slices = new BulkSlices();
    for (let i = 0; i < allowed.length; i++) {
      if (slices.due(i)) {
        await slices.next();
        // Closed meanwhile: its subscriptions so far were removed with it; add no more.
        if (!connection.isOpen) return;
      }
      const name = allowed[i]!;
      if (!this.subscriptions.add(name, connection)) {
        connection.send({
          topic: TOPIC.EVENT,
          action: EVENT_ACTION.MULTIPLE_SUBSCRIPTIONS,
          name,
          originalAction: message.action,
        });
        continue;
      }
      if (this.subscriptions.count(name) === 1) this.listeners.subscribed(name);
    }
    // Every name denied: no ack (PROTOCOL.md 3.2).
    if (allowed.length > 0) this.#ack(connection, message);
  }

  #unsubscribe(connection: Connection, message: EventUnsubscribe) {
    if (!withinNamesCap(connection, message)) return;
    for (const name of message.names ?? []) {
      if (this.subscriptions.remove(name, connection) && !this.subscriptions.subscribers(name)) {
        this.listeners.unsubscribed(name);
      }
    }
    this.#ack(connection, message);
  }

  async #listen(connection: Connection, message: EventListen) {
    const pattern = message.name;
    if (message.action === EVENT_ACTION.UNLISTEN) {
      this.listeners.unlisten(connection, message);
      return;
    }
    // The cap first: a connection at its cap costs no rule evaluation (listen-registry.ts).
    if (this.listeners.refusedOverCap(connection, message)) return;
    const allowed = await authorize(connection, message, { action: message.action, name: pattern });
    if (allowed && connection.isOpen) this.listeners.listen(connection, message);
  }

  #ack(connection: Connection, message: Message) {
    connection.send({
      topic: TOPIC.EVENT,
      action: message.action,
      ...(message.correlationId === undefined ? {} : { correlationId: message.correlationId }),
      isAck: true,
    });
  }

  /** Data that is not JSON (the codec checked the fields, not the JSON). */
  #invalid(connection: Connection, message: EventEmit) {
    connection.send({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.INVALID_MESSAGE_DATA,
      originalAction: message.action,
      ...(message.name === undefined ? {} : { name: message.name }),
      isError: true,
    });
  }

  connectionClosed(connection: Connection): void {
    this.subscriptions.removeConnectionInTurns(connection, (name) =>
      this.listeners.unsubscribed(name),
    );
    this.listeners.connectionClosed(connection);
  }

  async permissionsChanged(): Promise<void> {
    const fake = (action: number, name: string): Message => ({ topic: TOPIC.EVENT, action, name });
    for (const [name, connection] of [...this.subscriptions.entries()]) {
      const message = fake(EVENT_ACTION.SUBSCRIBE, name);
      const verdict = await this.#app.check(connection, TOPIC.EVENT, {
        action: EVENT_ACTION.SUBSCRIBE,
        name,
      });
      if (verdict === 'allowed') continue;
      this.subscriptions.remove(name, connection);
      if (!this.subscriptions.subscribers(name)) this.listeners.unsubscribed(name);
      sendDenial(connection, message, name, verdict);
    }
    for (const { connection, pattern } of [...this.listeners.listenersOf()]) {
      const verdict = await this.#app.check(connection, TOPIC.EVENT, {
        action: EVENT_ACTION.LISTEN,
        name: pattern,
      });
      if (verdict === 'allowed') continue;
      this.listeners.removeListener(connection, pattern);
      sendDenial(connection, fake(EVENT_ACTION.LISTEN, pattern), pattern, verdict);
    }
  }

  close(): void {
    this.listeners.close();
  }
}
