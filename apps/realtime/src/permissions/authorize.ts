import type { Message } from '@hubstream/protocol';
import type { ValveLoaders } from '@hubstream/valve';
import type { Connection } from '../core/connection.ts';
import type { PermissionQuestion } from '../core/connection-host.ts';
import { denialReply } from '../core/denials.ts';

// Every action passes Valve before it has any effect; the refusals are
// core/denials.ts's.

export function sendDenial(
  connection: Connection,
  message: Message,
  name: string | undefined,
  verdict: 'denied' | 'error',
): void {
  // Only the four topics with rules are ever asked about.
  const reply = denialReply(message, name, verdict)!;
  const denied = connection.app.hooks.messageDenied;
  for (let i = 0; i < denied.length; i++) {
    denied[i]!(connection, message.topic, verdict, message, name);
  }
  connection.send(reply);
}

/**
 * Asks the app's rules; on refusal sends the denial and returns false. An
 * app without rules denies everything. Synchronous when no record must be
 * loaded, so the hot path allocates no promise.
 */
export function authorize(
  connection: Connection,
  message: Message,
  question: PermissionQuestion,
  loaders?: ValveLoaders,
): boolean | Promise<boolean> {
  const verdict = connection.app.check(connection, message.topic, question, loaders);
  if (verdict === 'allowed') return true;
  if (verdict === 'denied' || verdict === 'error') {
    sendDenial(connection, message, question.name, verdict);
    return false;
  }
  return verdict.then((v) => {
    if (v === 'allowed') return true;
    sendDenial(connection, message, question.name, v);
    return false;
  });
}

/**
 * Names a bulk message has checked per turn of the event loop. A rule costs
 * tens of microseconds per name: a 1,000-name SUBSCRIBE checked in one go
 * would hold every other connection of the node for tens of milliseconds.
 */
export const NAMES_CHECKED_PER_TURN = 100;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Bulk messages are checked name by name; the allowed names are returned.
 * Past NAMES_CHECKED_PER_TURN names the event loop turns between groups:
 * callers look at `connection.isOpen` afterwards, as after a record load.
 */
export async function authorizeNames(
  connection: Connection,
  message: Message,
  names: readonly string[],
  question: Omit<PermissionQuestion, 'name'> = {},
): Promise<string[]> {
  const allowed: string[] = [];
  for (let i = 0; i < names.length; i++) {
    if (i > 0 && i % NAMES_CHECKED_PER_TURN === 0) {
      await nextTurn();
      if (!connection.isOpen) return allowed;
    }
    const name = names[i]!;
    const verdict = authorize(connection, message, { ...question, name });
    if (verdict === true || (verdict !== false && (await verdict))) allowed.push(name);
  }
  return allowed;
}
