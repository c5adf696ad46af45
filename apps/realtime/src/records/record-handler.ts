import {
  type Message,
  RECORD_ACTION,
  type RecordListen,
  type RecordMessage,
  type RecordRead,
  type RecordSubscribe,
  type RecordUnsubscribe,
  TOPIC,
} from '@hubstream/protocol';
import {
  andThen,
  KeyedQueue,
  type MaybePromise,
  type RecordChange,
  type StoredRecord,
} from '@hubstream/records';
import type { ValveLoaders } from '@hubstream/valve';
import type { AppScope } from '../core/app-scope.ts';
import type { Connection } from '../core/connection.ts';
import { withinNamesCap, withinSubscriptionCaps } from '../core/connection-caps.ts';
import { listOf, SubscriptionRegistry } from '../core/subscriptions.ts';
import type { TopicHandler } from '../core/topic-handler.ts';
import { ListenRegistry } from '../listen/listen-registry.ts';
import { authorize, sendDenial } from '../permissions/authorize.ts';
import { type DeliveryScope, deleted, RecordDelivery } from './record-delivery.ts';
import { notify } from './record-notify.ts';
import { type RecordScope, RecordWrites } from './record-writes.ts';
import { errorReply, fanOut, readResponse, sendAck } from './replies.ts';

// Records (PROTOCOL.md 4): subscriptions, reads, writes (record-writes.ts),
// delete, notify and active providers, for one app. Everything that reads a
// record and then tells subscribers about it runs alone on that record
// (a queue per name), so a new subscriber never sees a version that is
// then broadcast to it again, and deletes never race writes.

const CREATED: StoredRecord = Object.freeze({ version: 0, data: Object.freeze({}) });

type SubscribeState = {
  allowed: number;
  /** SUBSCRIBEANDHEAD versions gathered while the bulk runs without waiting. */
  heads: Record<string, number>;
  gathering: boolean;
};

export class RecordHandler implements TopicHandler, RecordScope, DeliveryScope {
  readonly app: AppScope;
  readonly subscriptions = new SubscriptionRegistry<Connection>();
  readonly listeners: ListenRegistry;
  readonly locks = new KeyedQueue();
  readonly delivery: RecordDelivery;
  /** How rules load records for `_()` and oldData: this app's records only. */
  readonly ruleLoaders: ValveLoaders;
  readonly #writes: RecordWrites;

  constructor(app: AppScope) {
    this.app = app;
    this.delivery = new RecordDelivery(this);
    this.#writes = new RecordWrites(this);
    this.ruleLoaders = {
      // Synchronous on a hot record, so the rule stays synchronous too.
      loadRecord: (name: string) =>
        andThen(this.current(name), (record) => (record === null ? null : record.data)),
    };
    this.listeners = new ListenRegistry({
      app,
      topic: 'record',
      actions: {
        topic: TOPIC.RECORD,
        listen: RECORD_ACTION.LISTEN,
        unlisten: RECORD_ACTION.UNLISTEN,
        accept: RECORD_ACTION.LISTEN_ACCEPT,
        reject: RECORD_ACTION.LISTEN_REJECT,
        found: RECORD_ACTION.SUBSCRIPTION_FOR_PATTERN_FOUND,
        removed: RECORD_ACTION.SUBSCRIPTION_FOR_PATTERN_REMOVED,
        invalidRegex: RECORD_ACTION.INVALID_LISTEN_REGEX,
      },
      timeoutMs: app.node.settings.listenResponseTimeoutMs,
      hasSubscribers: (name) => this.subscriptions.subscribers(name) !== undefined,
      allNames: () => this.subscriptions.names(),
      onProviderChanged: (name, provided) => {
        fanOut(this.subscriptions.subscribers(name), providerMessage(name, provided));
      },
    });
  }

  /** The record, synchronously when this node has it at hand. */
  current(name: string): MaybePromise<StoredRecord | null> {
    const { records } = this.app.node;
    const hot = records.peek(this.app.appId, name);
    return hot !== undefined ? hot : records.get(this.app.appId, name);
  }

  /** A checked message (@hubstream/protocol's ClientMessage): its fields are there. */
  handle(connection: Connection, message: RecordMessage): MaybePromise<void> {
    switch (message.action) {
      case RECORD_ACTION.UPDATE:
      case RECORD_ACTION.PATCH:
      case RECORD_ACTION.ERASE:
      case RECORD_ACTION.CREATEANDUPDATE:
      case RECORD_ACTION.CREATEANDPATCH:
        return this.#writes.handle(connection, message);
      case RECORD_ACTION.SUBSCRIBECREATEANDREAD:
      case RECORD_ACTION.SUBSCRIBEANDREAD:
      case RECORD_ACTION.SUBSCRIBEANDHEAD:
        return this.#guard(connection, message, RECORD_ACTION.RECORD_LOAD_ERROR, () =>
          this.#subscribe(connection, message),
        );
      case RECORD_ACTION.UNSUBSCRIBE:
        return this.#unsubscribe(connection, message);
      case RECORD_ACTION.READ:
      case RECORD_ACTION.HEAD:
        return this.#guard(connection, message, RECORD_ACTION.RECORD_LOAD_ERROR, () =>
          this.#read(connection, message),
        );
      case RECORD_ACTION.DELETE:
        return this.#guard(connection, message, RECORD_ACTION.RECORD_DELETE_ERROR, () =>
          this.#delete(connection, message),
        );
      case RECORD_ACTION.NOTIFY:
        return notify(this, connection, message);
      case RECORD_ACTION.LISTEN:
        return this.#listen(connection, message);
      case RECORD_ACTION.UNLISTEN:
        this.listeners.unlisten(connection, message);
        return;
      case RECORD_ACTION.LISTEN_ACCEPT:
        this.listeners.accept(connection, message);
        return;
      case RECORD_ACTION.LISTEN_REJECT:
        this.listeners.reject(connection, message);
        return;
    }
  }

  /** Runs an operation; if storage fails, logs it and answers with `errorAction`. */
  #guard(
    connection: Connection,
    message: Message,
    errorAction: number,
    run: () => MaybePromise<void>,
  ): MaybePromise<void> {
    const failed = (error: unknown) => {
      this.app.log.error(
        { err: error, app: this.app.appId, record: message.name },
        'record failed',
      );
      connection.send(errorReply(message, errorAction));
    };
    try {
      const result = run();
      return result instanceof Promise ? result.catch(failed) : result;
    } catch (error) {
      failed(error);
    }
  }

  // Subscribing ---------------------------------------------------------------

  #subscribe(connection: Connection, message: RecordSubscribe): MaybePromise<void> {
    const names = message.names;
    // Before anything is loaded: a refused message costs no record reads.
    if (!withinSubscriptionCaps(connection, message, this.subscriptions)) return;
    const state: SubscribeState = { allowed: 0, heads: {}, gathering: true };
    const { records } = this.app.node;
    const cold = names.filter((name) => records.peek(this.app.appId, name) === undefined);
    if (cold.length > 0) {
      // Load what is not at hand in parallel, so the loop below usually runs
      // without waiting (one round trip, one HEAD_RESPONSE_BULK).
      return Promise.all(cold.map((name) => records.get(this.app.appId, name))).then(() =>
        this.#subscribeLoaded(connection, message, names, state),
      );
    }
    return this.#subscribeLoaded(connection, message, names, state);
  }

  #subscribeLoaded(
    connection: Connection,
    message: Message,
    names: string[],
    state: SubscribeState,
  ): MaybePromise<void> {
    const from = (start: number): MaybePromise<void> => {
      for (let i = start; i < names.length; i++) {
        const name = names[i]!;
        state.gathering = true;
        const pending = this.locks.run(name, () =>
          this.#subscribeOne(connection, message, name, state),
        );
        state.gathering = false;
        if (pending instanceof Promise) {
          // What was gathered so far goes out before anything can interleave.
          this.#sendHeads(connection, state);
          return pending.then(() => from(i + 1));
        }
      }
      this.#sendHeads(connection, state);
      // Every name denied: no ack, as for events (PROTOCOL.md 3.2).
      if (state.allowed > 0) sendAck(connection, message);
    };
    return from(0);
  }

  #subscribeOne(
    connection: Connection,
    message: Message,
    name: string,
    state: SubscribeState,
  ): MaybePromise<void> {
    return andThen(this.current(name), (record) => {
      // A missing record needs create, then read (VALVE.md A.5): Valve plans
      // both from the action and the null oldData.
      const question = { action: message.action, name, oldData: record ? record.data : null };
      return andThen(authorize(connection, message, question), (allowed): MaybePromise<void> => {
        if (!allowed || !connection.isOpen) return;
        if (record === null && message.action === RECORD_ACTION.SUBSCRIBECREATEANDREAD) {
          const { app } = this;
          return app.node.records.set(app.appId, name, -1, CREATED).then((result) => {
            this.#subscribed(
              connection,
              message,
              name,
              result.ok ? CREATED : result.current,
              state,
            );
          });
        }
        this.#subscribed(connection, message, name, record, state);
      });
    });
  }

  #subscribed(
    connection: Connection,
    message: Message,
    name: string,
    record: StoredRecord | null,
    state: SubscribeState,
  ) {
    if (!connection.isOpen) return;
    state.allowed++;
    this.#add(name, connection);
    this.delivery.read(name, record, connection);
    if (message.action === RECORD_ACTION.SUBSCRIBEANDHEAD) {
      const version = record === null ? -1 : record.version;
      if (state.gathering) state.heads[name] = version;
      else connection.send(headResponse(name, version));
    } else {
      connection.send(readResponse(name, record));
    }
    if (this.listeners.hasProvider(name)) connection.send(providerMessage(name, true));
  }

  #sendHeads(connection: Connection, state: SubscribeState) {
    if (Object.keys(state.heads).length === 0) return;
    connection.send({
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.HEAD_RESPONSE_BULK,
      versions: state.heads,
    });
    state.heads = {};
  }

  #add(name: string, connection: Connection) {
    if (!this.subscriptions.add(name, connection)) return; // subscribing again just re-reads
    if (this.subscriptions.count(name) === 1) {
      this.app.node.records.hold(this.app.appId, name);
      this.listeners.subscribed(name);
    }
  }

  #remove(name: string, connection: Connection) {
    if (!this.subscriptions.remove(name, connection)) return;
    if (!this.subscriptions.subscribers(name)) this.#lastGone(name);
  }

  #lastGone(name: string) {
    this.delivery.forget(name);
    this.app.node.records.release(this.app.appId, name);
    this.listeners.unsubscribed(name);
  }

  #unsubscribe(connection: Connection, message: RecordUnsubscribe) {
    const names = message.names;
    if (!withinNamesCap(connection, message)) return;
    for (const name of names) this.#remove(name, connection);
    sendAck(connection, message);
  }

  // Reading -------------------------------------------------------------------

  #read(connection: Connection, message: RecordRead): MaybePromise<void> {
    const name = message.name;
    return andThen(this.current(name), (record) => {
      const question = { action: message.action, name, oldData: record ? record.data : null };
      return andThen(authorize(connection, message, question), (allowed) => {
        if (!allowed) return;
        if (message.action === RECORD_ACTION.HEAD) {
          connection.send(headResponse(name, record === null ? -1 : record.version));
        } else if (record === null) {
          connection.send(errorReply(message, RECORD_ACTION.RECORD_NOT_FOUND));
        } else {
          connection.send(readResponse(name, record));
        }
      });
    });
  }

  // Deleting and notifying ----------------------------------------------------

  #delete(connection: Connection, message: RecordRead): MaybePromise<void> {
    const name = message.name;
    return this.locks.run(name, () =>
      andThen(this.current(name), (record) => {
        const question = { action: message.action, name, oldData: record ? record.data : null };
        return andThen(authorize(connection, message, question), async (allowed) => {
          if (!allowed) return;
          // Deleting a record that does not exist succeeds: the outcome is the same.
          await this.app.node.records.delete(this.app.appId, name);
          connection.send({ topic: TOPIC.RECORD, action: RECORD_ACTION.DELETE_SUCCESS, name });
          this.dropAll(name, deleted(name), connection);
        });
      }),
    );
  }

  /** Tells the subscribers (but one) and unsubscribes them all. */
  dropAll(name: string, notice: Message, except?: Connection) {
    const all = listOf(this.subscriptions.subscribers(name));
    if (all.length === 0) return;
    fanOut(all, notice, except);
    for (const subscriber of all) this.subscriptions.remove(name, subscriber);
    this.#lastGone(name);
  }

  // Listening -----------------------------------------------------------------

  #listen(connection: Connection, message: RecordListen): MaybePromise<void> {
    const pattern = message.name;
    // The cap first: a connection at its cap costs no rule evaluation (listen-registry.ts).
    if (this.listeners.refusedOverCap(connection, message)) return;
    return andThen(
      authorize(connection, message, { action: message.action, name: pattern }),
      (ok) => {
        if (ok && connection.isOpen) this.listeners.listen(connection, message);
      },
    );
  }

  // Lifecycle -----------------------------------------------------------------

  /** Another node changed one of this app's records. */
  changedElsewhere(change: RecordChange): void {
    this.delivery.heard(change);
  }

  connectionClosed(connection: Connection): void {
    this.subscriptions.removeConnectionInTurns(connection, (name) => this.#lastGone(name));
    this.listeners.connectionClosed(connection);
  }

  /** New rules: subscriptions must still be readable, listens still allowed. */
  async permissionsChanged(): Promise<void> {
    const subscribe = (name: string): Message => ({
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.SUBSCRIBE,
      name,
    });
    for (const [name, connection] of [...this.subscriptions.entries()]) {
      if (!this.subscriptions.has(name, connection)) continue;
      let verdict: 'allowed' | 'denied' | 'error';
      try {
        const record = await this.current(name);
        verdict = await this.app.check(connection, TOPIC.RECORD, {
          action: RECORD_ACTION.SUBSCRIBE,
          name,
          oldData: record ? record.data : null,
        });
      } catch {
        verdict = 'error';
      }
      if (verdict === 'allowed') continue;
      this.#remove(name, connection);
      sendDenial(connection, subscribe(name), name, verdict);
    }
    for (const { connection, pattern } of [...this.listeners.listenersOf()]) {
      const verdict = await this.app.check(connection, TOPIC.RECORD, {
        action: RECORD_ACTION.LISTEN,
        name: pattern,
      });
      if (verdict === 'allowed') continue;
      this.listeners.removeListener(connection, pattern);
      const listen: Message = { topic: TOPIC.RECORD, action: RECORD_ACTION.LISTEN, name: pattern };
      sendDenial(connection, listen, pattern, verdict);
    }
  }

  close(): void {
    this.listeners.close();
    this.delivery.close();
  }
}

function headResponse(name: string, version: number): Message {
  return { topic: TOPIC.RECORD, action: RECORD_ACTION.HEAD_RESPONSE, name, version };
}

function providerMessage(name: string, provided: boolean): Message {
  return {
    topic: TOPIC.RECORD,
    action: provided
      ? RECORD_ACTION.SUBSCRIPTION_HAS_PROVIDER
      : RECORD_ACTION.SUBSCRIPTION_HAS_NO_PROVIDER,
    name,
  };
}
