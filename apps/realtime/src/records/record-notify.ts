import { type Message, RECORD_ACTION, type RecordNotify, TOPIC } from '@hubstream/protocol';
import { jsonOf, type KeyedQueue } from '@hubstream/records';
import type { AppScope } from '../core/app-scope.ts';
import type { Connection } from '../core/connection.ts';
import { countOverCap, overNamesCap } from '../core/connection-caps.ts';
import type { SubscriptionRegistry } from '../core/subscriptions.ts';
import { authorizeNames } from '../permissions/authorize.ts';
import { deleted, type RecordDelivery, wholeUpdate } from './record-delivery.ts';
import { fanOut, sendAck } from './replies.ts';

/** What NOTIFY uses of the app's RecordHandler. */
export type NotifyScope = {
  readonly app: AppScope;
  readonly subscriptions: SubscriptionRegistry<Connection>;
  readonly locks: KeyedQueue;
  readonly delivery: RecordDelivery;
  dropAll(name: string, notice: Message, except?: Connection): void;
};

/**
 * The database changed behind the node's back: read each record again and
 * tell its subscribers what it is now (PROTOCOL.md 4.6).
 */
export async function notify(
  handler: NotifyScope,
  connection: Connection,
  message: RecordNotify,
): Promise<void> {
  const names = message.names;
  const fail = (reason: string) =>
    connection.send({
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.RECORD_NOTIFY_ERROR,
      ...(message.correlationId === undefined ? {} : { correlationId: message.correlationId }),
      isError: true,
      data: JSON.stringify(reason),
    });
  // The client waits for this answer (by correlation id), not for denials by name.
  if (overNamesCap(connection, message)) {
    countOverCap(connection, 'names_per_message');
    return fail('MESSAGE_DENIED');
  }
  const allowed = await authorizeNames(connection, message, names, { action: message.action });
  // The client waits for an answer: every name denied is an error, not silence.
  if (allowed.length === 0) return fail('MESSAGE_DENIED');
  try {
    for (const name of allowed) await handler.locks.run(name, () => refresh(handler, name));
  } catch (error) {
    handler.app.log.error({ err: error, app: handler.app.appId }, 'record notify failed');
    return fail('RECORD_LOAD_ERROR');
  }
  sendAck(connection, message);
}

async function refresh(handler: NotifyScope, name: string) {
  const { app } = handler;
  const before = app.node.records.peek(app.appId, name);
  const after = await app.node.records.reload(app.appId, name);
  if (after === null) {
    if (before) handler.dropAll(name, deleted(name));
    return;
  }
  if (before && before.version === after.version && jsonOf(before) === jsonOf(after)) return;
  fanOut(handler.subscriptions.subscribers(name), wholeUpdate(name, after.version, jsonOf(after)));
  handler.delivery.reloaded(name, after.version);
}
