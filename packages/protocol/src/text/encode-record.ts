import { RECORD_ACTION } from '../actions.ts';
import type { Message } from '../message.ts';
import { ack, actionName, isDenial, msg, topicError, WRITE_SUCCESS } from './encode-parts.ts';
import type { HeadKind, TextConnectionState } from './state.ts';
import { jsonToTyped } from './typed.ts';

// The record topic for a 2.x text client (encode.ts): reads, has and head
// (answered in the form they were asked, state.ts), writes and their
// acknowledgements, deletes, listens and record errors.

/** Integer text, as a write's correlation id holds its version (decode.ts). */
const VERSION = /^-?\d{1,10}$/;

export function record(message: Message, state: TextConnectionState | undefined): string | null {
  const { action, name } = message;
  const version = message.version === undefined ? undefined : String(message.version);
  switch (action) {
    case RECORD_ACTION.READ_RESPONSE:
      // Whole record data is plain JSON.
      return msg('R', 'R', name, version, message.data);
    case RECORD_ACTION.HEAD_RESPONSE: {
      if (name === undefined) return null;
      const kind = headKind(message, state, name);
      if (kind === 'HD') return msg('R', 'HD', name, version);
      return msg('R', 'H', name, message.version === -1 ? 'F' : 'T');
    }
    case RECORD_ACTION.UPDATE:
    case RECORD_ACTION.CREATEANDUPDATE:
      return msg('R', 'U', name, version, message.data);
    case RECORD_ACTION.PATCH:
    case RECORD_ACTION.CREATEANDPATCH:
    case RECORD_ACTION.ERASE:
      // A patch without data (an erase) is a patch to undefined for the 2.x client.
      return msg(
        'R',
        'P',
        name,
        version,
        message.path,
        action === RECORD_ACTION.ERASE ? 'U' : (jsonToTyped(message.data) ?? undefined),
      );
    case RECORD_ACTION.WRITE_ACKNOWLEDGEMENT:
      return writeAck(message, 'L');
    case RECORD_ACTION.DELETE_SUCCESS:
    case RECORD_ACTION.DELETED:
      // The deleter and every other subscriber read R|A|D|name alike.
      return msg('R', 'A', 'D', name);
    case RECORD_ACTION.SUBSCRIBECREATEANDREAD:
    case RECORD_ACTION.SUBSCRIBEANDREAD:
    case RECORD_ACTION.SUBSCRIBE:
      return message.isAck ? ack('R', 'S', message) : null;
    case RECORD_ACTION.UNSUBSCRIBE:
      return message.isAck ? ack('R', 'US', message) : null;
    case RECORD_ACTION.LISTEN:
    case RECORD_ACTION.UNLISTEN:
      return message.isAck
        ? msg('R', 'A', action === RECORD_ACTION.LISTEN ? 'L' : 'UL', name)
        : null;
    case RECORD_ACTION.SUBSCRIPTION_FOR_PATTERN_FOUND:
      return msg('R', 'SP', name, message.subscription);
    case RECORD_ACTION.SUBSCRIPTION_FOR_PATTERN_REMOVED:
      return msg('R', 'SR', name, message.subscription);
    case RECORD_ACTION.SUBSCRIPTION_HAS_PROVIDER:
      return msg('R', 'SH', name, 'T');
    case RECORD_ACTION.SUBSCRIPTION_HAS_NO_PROVIDER:
      return msg('R', 'SH', name, 'F');
    case RECORD_ACTION.VERSION_EXISTS: {
      // The 2.x client merges with the current version and data, and, when the
      // write asked for an acknowledgement, moves its callback to the retry.
      const text = message.isWriteAck
        ? msg('R', 'E', 'VERSION_EXISTS', name, version, message.data, WRITE_SUCCESS)
        : msg('R', 'E', 'VERSION_EXISTS', name, version, message.data);
      return text;
    }
    case RECORD_ACTION.LISTEN_RESPONSE_TIMEOUT:
    case RECORD_ACTION.HEAD_RESPONSE_BULK:
      // Never asked for by a 2.x client (it sends no SUBSCRIBEANDHEAD).
      return null;
    default:
      return action >= 100 || action === RECORD_ACTION.ERROR ? recordError(message, state) : null;
  }
}

function headKind(
  message: Message,
  state: TextConnectionState | undefined,
  name: string,
): HeadKind {
  const known =
    message.correlationId === 'H' || message.correlationId === 'HD'
      ? message.correlationId
      : undefined;
  return state ? state.answered(name, known) : (known ?? 'HD');
}

/** R|WA|name|[version]|<L or typed error>: settles the write callback for that version. */
function writeAck(message: Message, result: string): string | null {
  const cid = message.correlationId;
  if (cid === undefined || !VERSION.test(cid)) return null;
  return msg('R', 'WA', message.name, `[${Number(cid)}]`, result);
}

function recordError(message: Message, state: TextConnectionState | undefined): string | null {
  const { name, originalAction } = message;
  const error = actionName(RECORD_ACTION as unknown as Record<number, string>, message.action);
  if (originalAction === RECORD_ACTION.READ || originalAction === RECORD_ACTION.HEAD) {
    // snapshot(), has() and head() wait for R|E|<SN|H|HD>|name|<error>.
    if (name === undefined) return null;
    const form = originalAction === RECORD_ACTION.READ ? 'SN' : headKind(message, state, name);
    const settle = msg('R', 'E', form, name, error);
    if (message.action === RECORD_ACTION.RECORD_NOT_FOUND) return settle;
    const report = isDenial(message)
      ? msg('R', 'E', error, name, form)
      : msg('R', 'E', error, name);
    return report === null || settle === null ? null : report + settle;
  }
  const report = topicError('R', message);
  if (!message.isWriteAck || message.correlationId === undefined) return report;
  // setWithAck and setDataWithAck wait for their acknowledgement, also when refused.
  const settle = writeAck(message, `S${error}`);
  if (report === null) return settle;
  return settle === null ? report : report + settle;
}
