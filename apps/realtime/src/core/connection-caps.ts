import type { Message } from '@hubstream/protocol';
import type { Connection } from './connection.ts';
import { denialReplies } from './denials.ts';
import { fire } from './lifecycle.ts';
import { markedOverNamesCap } from './names-cap.ts';
import type { LimitName } from './node-counters.ts';
import type { SubscriptionRegistry } from './subscriptions.ts';

// Per-connection caps (ERROR_CODES.md "Per-connection caps"): names in one
// bulk message, subscriptions per topic, listen patterns per topic, provided
// RPCs and RPCs in flight. Each is checked before a message has any effect,
// so a message over a cap is refused whole and changes nothing.
//
// The refusal is MESSAGE_DENIED for each name of the message, as a denial
// by the rules: the official client matches it by name (and correlation id)
// and undoes exactly that name (an event subscription without a name would
// drop every event callback it has). A message of more than
// MAX_NAMED_DENIALS names gets one denial, naming its first name, so that
// refusing it costs less than the message did.

export type CapName = Extract<
  LimitName,
  'names_per_message' | 'subscriptions' | 'listens' | 'provides' | 'pending_rpcs'
>;

/** Counts a refusal by a cap (app usage and node metrics). */
export function countOverCap(connection: Connection, cap: CapName): void {
  fire(connection.app.hooks.limited, cap);
}

/** Refuses the whole message: MESSAGE_DENIED for each of its names (or its one name). */
export function refuseOverCap(connection: Connection, message: Message, cap: CapName): void {
  countOverCap(connection, cap);
  for (const reply of denialReplies(message, 'denied')) connection.send(reply);
}

/** Whether a bulk message carries (or carried, before it was left undecoded) more names than the app allows. */
export function overNamesCap(connection: Connection, message: Message): boolean {
  return (
    markedOverNamesCap(message) ||
    (message.names?.length ?? 0) > connection.app.limits.maxNamesPerMessage
  );
}

/** False (and the message refused) when a bulk message carries more names than the app allows. */
export function withinNamesCap(connection: Connection, message: Message): boolean {
  if (!overNamesCap(connection, message)) return true;
  refuseOverCap(connection, message, 'names_per_message');
  return false;
}

/**
 * False (and the message refused) when subscribing to the message's names
 * would take the connection past `max` names in `registry`. Names it holds
 * already do not count again.
 */
export function withinRegistryCap(
  connection: Connection,
  message: Message,
  registry: SubscriptionRegistry<Connection>,
  max: number,
  cap: 'subscriptions' | 'provides',
): boolean {
  const names = message.names ?? [];
  const held = registry.countOf(connection);
  if (held + names.length <= max || held + registry.countNew(names, connection, max - held) <= max)
    return true;
  refuseOverCap(connection, message, cap);
  return false;
}

/** A bulk message within the names cap and the subscriptions cap of `registry`. */
export function withinSubscriptionCaps(
  connection: Connection,
  message: Message,
  registry: SubscriptionRegistry<Connection>,
): boolean {
  return (
    withinNamesCap(connection, message) &&
    withinRegistryCap(
      connection,
      message,
      registry,
      connection.app.limits.maxSubscriptionsPerConnection,
      'subscriptions',
    )
  );
}
