import type { Message } from '@hubstream/protocol';
import type { ValveLoaders } from '@hubstream/valve';
import { BulkSlices } from '../core/bulk-slices.ts';
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
 * Bulk messages are checked name by name; the allowed names are returned.
 * Once a slice of TURN_SLICE_MS is spent the event loop turns before the
 * next name: callers look at `connection.isOpen` afterwards, as after a
 * record load.
 */
export async function authorizeNames(
  connection: Connection,
  message: Message,
  names: readonly string[],
  question: Omit<PermissionQuestion, 'name'> = {},
): Promise<string[]> {
  const allowed: string[] = [];
  const slices = new BulkSlices();
  // One question for every name, its name set before each check: a copy per
  // name was ~250 bytes of garbage a name (sampling heap profile,
  // bench:attacks huge SUBSCRIBE). Safe because nothing keeps the question
  // past its check: a check that goes async (a record to load) is awaited
  // before the next name, and the request Valve gets is a copy (check).
  const asked: PermissionQuestion = { ...question, name: undefined };
  for (let i = 0; i < names.length; i++) {
    if (slices.due(i)) {
      await slices.next();
      if (!connection.isOpen) return allowed;
    }
    const name = names[i]!;
    asked.name = name;
    const verdict = authorize(connection, message, asked);
    if (verdict === true || (verdict !== false && (await verdict))) allowed.push(name);
  }
  return allowed;
}
