import { isAnonymous } from '@hubstream/auth';
import {
  encodeMessage,
  type Message,
  PRESENCE_ACTION,
  type PresenceMessage,
  type PresenceQuery,
  type PresenceSubscribe,
  TOPIC,
} from '@hubstream/protocol';
import type { AppScope } from '../core/app-scope.ts';
import type { Connection } from '../core/connection.ts';
import {
  countOverCap,
  overNamesCap,
  withinNamesCap,
  withinSubscriptionCaps,
} from '../core/connection-caps.ts';
import { denialReply } from '../core/denials.ts';
import { listOf, SubscriptionRegistry } from '../core/subscriptions.ts';
import type { TopicHandler } from '../core/topic-handler.ts';
import { authorize, authorizeNames, sendDenial } from '../permissions/authorize.ts';
import { OnlineUsers } from './online-users.ts';

/**
 * The user id a connection counts as for presence, or undefined when it does
 * not count.
 *
 * Anonymous open-auth connections (no username: the open strategy gives each
 * connection a fresh `open:anonymous-<uuid>` id and isAuthenticated false) are not
 * tracked, as deepstream does not track its 'OPEN' user. Their id names a
 * connection, not a person: nobody can subscribe to it meaningfully, a join
 * and a leave per page view would be noise to every subscriber, and getAll()
 * would list every anonymous visitor. They can still subscribe and query.
 * An open-auth login that picks a username starting with 'anonymous-' is
 * treated the same way; that name was chosen by the client, unverified.
 */
function presenceId(connection: Connection): string | undefined {
  const user = connection.user;
  if (!user) return undefined;
  if (isAnonymous(user)) return undefined;
  return user.id;
}

/**
 * Presence (PROTOCOL.md 6): who is online, subscriptions to one user's or
 * everyone's comings and goings, and queries. A subscriber is never told
 * about its own user, and getAll() leaves the caller's own id out.
 */
export class PresenceHandler implements TopicHandler {
  readonly #app: AppScope;
  readonly online = new OnlineUsers<Connection>();
  /** Subscriptions to named users. */
  readonly subscriptions = new SubscriptionRegistry<Connection>();
  /** Connections subscribed to everyone. */
  readonly everyone = new Set<Connection>();

  /** Registry updates per user, in order: a quick join-leave must not arrive reversed. */
  readonly #pending = new Map<string, Promise<void>>();

  constructor(app: AppScope) {
    this.#app = app;
  }

  /** A connection logged in: its user may have come online. */
  userJoined(connection: Connection): void {
    const id = presenceId(connection);
    if (id !== undefined && this.online.add(id, connection)) this.#update(id, true);
  }

  /**
   * The user's first connection on this node opened, or its last one closed.
   * The cluster registry says whether that changed the user's presence for
   * the whole cluster; if so every node (this one too) hears it on the bus.
   */
  #update(userId: string, online: boolean) {
    const { appId, node } = this.#app;
    const previous = this.#pending.get(userId) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        const changed = online
          ? await node.presence.join(appId, userId)
          : await node.presence.leave(appId, userId);
        if (changed) await node.bus.publish(appId, 'presence.changed', { user: userId, online });
      })
      .catch((error: unknown) => {
        this.#app.log.error({ err: error, app: appId }, 'updating presence failed');
      })
      .finally(() => {
        if (this.#pending.get(userId) === next) this.#pending.delete(userId);
      });
    this.#pending.set(userId, next);
  }

  /** A user came online or went offline somewhere in the cluster. */
  presenceChanged(userId: string, online: boolean): void {
    this.#announce(userId, online);
  }

  /** A checked message (@hubstream/protocol's ClientMessage): its fields are there. */
  handle(connection: Connection, message: PresenceMessage): void | Promise<void> {
    switch (message.action) {
      case PRESENCE_ACTION.SUBSCRIBE:
        return this.#subscribe(connection, message);
      case PRESENCE_ACTION.UNSUBSCRIBE:
        return this.#unsubscribe(connection, message);
      case PRESENCE_ACTION.SUBSCRIBE_ALL:
        return this.#subscribeAll(connection, message);
      case PRESENCE_ACTION.UNSUBSCRIBE_ALL:
        // Silent when not subscribed: the client's unsubscribe() sends it unconditionally.
        this.everyone.delete(connection);
        this.#ack(connection, message);
        return;
      case PRESENCE_ACTION.QUERY_ALL:
        return this.#queryAll(connection, message);
      case PRESENCE_ACTION.QUERY:
        return this.#query(connection, message);
    }
  }

  async #subscribe(connection: Connection, message: PresenceSubscribe) {
    const names = message.names;
    if (!withinSubscriptionCaps(connection, message, this.subscriptions)) return;
    const allowed = await authorizeNames(connection, message, names, { action: message.action });
    if (!connection.isOpen) return;
    for (const name of allowed) {
      if (this.subscriptions.add(name, connection)) continue;
      connection.send({
        topic: TOPIC.PRESENCE,
        action: PRESENCE_ACTION.MULTIPLE_SUBSCRIPTIONS,
        name,
        originalAction: message.action,
      });
    }
    // Every name denied: the denials cleared the client's ack timer; no ack.
    if (allowed.length > 0) this.#ack(connection, message);
  }

  #unsubscribe(connection: Connection, message: PresenceSubscribe) {
    const names = message.names;
    if (!withinNamesCap(connection, message)) return;
    // Unknown names are ignored, as for events (PROTOCOL.md 3.2).
    for (const name of names) this.subscriptions.remove(name, connection);
    this.#ack(connection, message);
  }

  #subscribeAll(connection: Connection, message: Message): void | Promise<void> {
    const subscribe = (ok: boolean) => {
      if (!ok || !connection.isOpen) return;
      if (this.everyone.has(connection)) {
        connection.send({
          topic: TOPIC.PRESENCE,
          action: PRESENCE_ACTION.MULTIPLE_SUBSCRIPTIONS,
          originalAction: message.action,
        });
      }
      this.everyone.add(connection);
      this.#ack(connection, message);
    };
    const allowed = authorize(connection, message, { action: message.action });
    if (typeof allowed === 'boolean') return subscribe(allowed);
    return allowed.then(subscribe);
  }

  async #queryAll(connection: Connection, message: Message) {
    if (!(await authorize(connection, message, { action: message.action }))) return;
    const self = connection.user?.id;
    const online = await this.#app.node.presence.online(this.#app.appId);
    const names = online.filter((id) => id !== self);
    connection.send({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY_ALL_RESPONSE, names });
  }

  async #query(connection: Connection, message: PresenceQuery) {
    const cid = message.correlationId;
    const names = message.names ?? [];
    if (overNamesCap(connection, message)) {
      // The client matches the answer by correlation id: one refusal rejects the query.
      countOverCap(connection, 'names_per_message');
      sendRefusal(connection, message);
      return;
    }
    // One refused name refuses the query: the first denial already rejects
    // the client's promise, and the answer must not reveal that user.
    for (const name of names) {
      if (!(await authorize(connection, message, { action: message.action, name }))) return;
    }
    const online = await this.#app.node.presence.areOnline(this.#app.appId, names);
    const result: Record<string, boolean> = {};
    for (const [i, name] of names.entries()) result[name] = online[i] ?? false;
    connection.send({
      topic: TOPIC.PRESENCE,
      action: PRESENCE_ACTION.QUERY_RESPONSE,
      correlationId: cid,
      data: JSON.stringify(result),
    });
  }

  /** Tells subscribers that a user came online or went offline. */
  #announce(userId: string, joined: boolean) {
    const named = listOf(this.subscriptions.subscribers(userId));
    if (named.length > 0) {
      const frame = encodeMessage({
        topic: TOPIC.PRESENCE,
        action: joined ? PRESENCE_ACTION.PRESENCE_JOIN : PRESENCE_ACTION.PRESENCE_LEAVE,
        name: userId,
      });
      for (const subscriber of named) {
        if (subscriber.user?.id !== userId) subscriber.sendFrame(frame, TOPIC.PRESENCE);
      }
    }
    if (this.everyone.size === 0) return;
    const frame = encodeMessage({
      topic: TOPIC.PRESENCE,
      action: joined ? PRESENCE_ACTION.PRESENCE_JOIN_ALL : PRESENCE_ACTION.PRESENCE_LEAVE_ALL,
      name: userId,
    });
    for (const subscriber of this.everyone) {
      if (subscriber.user?.id !== userId) subscriber.sendFrame(frame, TOPIC.PRESENCE);
    }
  }

  #ack(connection: Connection, message: Message) {
    connection.send({
      topic: TOPIC.PRESENCE,
      action: message.action,
      ...(message.correlationId === undefined ? {} : { correlationId: message.correlationId }),
      isAck: true,
    });
  }

  connectionClosed(connection: Connection): void {
    this.subscriptions.removeConnection(connection);
    this.everyone.delete(connection);
    const id = presenceId(connection);
    if (id !== undefined && this.online.remove(id, connection)) this.#update(id, false);
  }

  async permissionsChanged(): Promise<void> {
    for (const [name, connection] of [...this.subscriptions.entries()]) {
      const verdict = await this.#app.check(connection, TOPIC.PRESENCE, {
        action: PRESENCE_ACTION.SUBSCRIBE,
        name,
      });
      if (verdict === 'allowed' || !this.subscriptions.remove(name, connection)) continue;
      const subscribe: Message = { topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.SUBSCRIBE, name };
      sendDenial(connection, subscribe, name, verdict);
    }
    for (const connection of [...this.everyone]) {
      const verdict = await this.#app.check(connection, TOPIC.PRESENCE, {
        action: PRESENCE_ACTION.SUBSCRIBE_ALL,
      });
      if (verdict === 'allowed' || !this.everyone.delete(connection)) continue;
      const subscribeAll: Message = {
        topic: TOPIC.PRESENCE,
        action: PRESENCE_ACTION.SUBSCRIBE_ALL,
      };
      sendDenial(connection, subscribeAll, undefined, verdict);
    }
  }
}

function sendRefusal(connection: Connection, message: Message): void {
  const reply = denialReply(message, undefined, 'denied');
  if (reply) connection.send(reply);
}
