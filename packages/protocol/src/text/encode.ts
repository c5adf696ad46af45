import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  EVENT_ACTION,
  PARSER_ACTION,
  PRESENCE_ACTION,
  RPC_ACTION,
  TOPIC,
} from '../actions.ts';
import type { Message } from '../message.ts';
import { hasSeparator } from './constants.ts';
import {
  ack,
  actionName,
  EVENT_TEXT,
  freeText,
  isDenial,
  msg,
  ORIGINAL_TEXT,
  plainText,
  topicError,
} from './encode-parts.ts';
import { record } from './encode-record.ts';
import type { TextConnectionState } from './state.ts';
import { jsonToTyped } from './typed.ts';

// Internal messages into the text the deepstream.io-client-js 2.3.4 client
// reads (its message-parser.js and the handlers that take each message).
// One internal message may become two text messages where the 2.x client
// needs both: an error event and the answer that settles the waiting call
// (a denied snapshot, has or head; a refused write that asked for an
// acknowledgement). A message the 2.x client has no form for, or whose
// names hold a separator, encodes to null: it is not sent.
//
// Records are in encode-record.ts, what the topics share in encode-parts.ts,
// batching into frames in encode-batch.ts.

export { DEFAULT_TEXT_BATCH_CHARS, TextBatch } from './encode-batch.ts';

/**
 * Encodes one message for a 2.x client; null when it has no text form.
 * `state` is the connection's (decode.ts), for answers to has and head.
 */
export function encodeTextMessage(message: Message, state?: TextConnectionState): string | null {
  switch (message.topic) {
    case TOPIC.CONNECTION:
      return connection(message);
    case TOPIC.AUTH:
      return auth(message);
    case TOPIC.EVENT:
      return event(message);
    case TOPIC.RECORD:
      return record(message, state);
    case TOPIC.RPC:
      return rpc(message);
    case TOPIC.PRESENCE:
      return presence(message);
    case TOPIC.PARSER:
    case TOPIC.ERROR: {
      // The 2.x client reports X|E|<event>|<detail> as an error event.
      const name = actionName(PARSER_ACTION as unknown as Record<number, string>, message.action);
      return message.data === undefined
        ? msg('X', 'E', name)
        : msg('X', 'E', name, freeText(plainText(message.data)));
    }
    default:
      return null;
  }
}

function connection(message: Message): string | null {
  switch (message.action) {
    case CONNECTION_ACTION.CHALLENGE:
      return msg('C', 'CH');
    case CONNECTION_ACTION.ACCEPT:
      return msg('C', 'A');
    case CONNECTION_ACTION.REJECT:
      return msg('C', 'REJ');
    case CONNECTION_ACTION.REDIRECT:
      return msg('C', 'RED', message.url);
    case CONNECTION_ACTION.PING:
      return msg('C', 'PI');
    case CONNECTION_ACTION.PONG:
      return msg('C', 'PO');
    case CONNECTION_ACTION.AUTHENTICATION_TIMEOUT:
      // The one connection error the 2.x client acts on: it stops and does not reconnect.
      return msg(
        'C',
        'E',
        'CONNECTION_AUTHENTICATION_TIMEOUT',
        'Sconnection has not authenticated successfully in the expected time',
      );
    case CONNECTION_ACTION.INVALID_MESSAGE:
      return msg('C', 'E', 'INVALID_MESSAGE', 'invalid connection message');
    default:
      return null;
  }
}

function auth(message: Message): string | null {
  switch (message.action) {
    case AUTH_ACTION.AUTH_SUCCESSFUL:
      // A|A, or A|A|<typed clientData>: login's callback gets the clientData.
      return message.data === undefined
        ? msg('A', 'A')
        : msg('A', 'A', jsonToTyped(message.data) ?? undefined);
    case AUTH_ACTION.AUTH_UNSUCCESSFUL:
      // The callback gets the typed value as its reason; the client may log in again.
      return msg(
        'A',
        'E',
        'INVALID_AUTH_DATA',
        message.data === undefined
          ? 'Sinvalid authentication data'
          : (jsonToTyped(message.data) ?? undefined),
      );
    case AUTH_ACTION.TOO_MANY_AUTH_ATTEMPTS:
      return msg('A', 'E', 'TOO_MANY_AUTH_ATTEMPTS', 'Stoo many authentication attempts');
    case AUTH_ACTION.INVALID_MESSAGE:
    case AUTH_ACTION.INVALID_MESSAGE_DATA:
      // The 2.x client stops on INVALID_AUTH_MSG (its login fails, no reconnect).
      return msg('A', 'E', 'INVALID_AUTH_MSG', 'invalid authentication message');
    default:
      return null;
  }
}

function event(message: Message): string | null {
  const { action } = message;
  switch (action) {
    case EVENT_ACTION.EMIT:
      return msg('E', 'EVT', message.name, jsonToTyped(message.data) ?? undefined);
    case EVENT_ACTION.SUBSCRIBE:
    case EVENT_ACTION.UNSUBSCRIBE:
      return message.isAck ? ack('E', EVENT_TEXT[action] as string, message) : null;
    case EVENT_ACTION.LISTEN:
    case EVENT_ACTION.UNLISTEN:
      // The ack echoes the pattern: E|A|L|pattern.
      return message.isAck ? msg('E', 'A', EVENT_TEXT[action], message.name) : null;
    case EVENT_ACTION.SUBSCRIPTION_FOR_PATTERN_FOUND:
      return msg('E', 'SP', message.name, message.subscription);
    case EVENT_ACTION.SUBSCRIPTION_FOR_PATTERN_REMOVED:
      return msg('E', 'SR', message.name, message.subscription);
    case EVENT_ACTION.LISTEN_RESPONSE_TIMEOUT:
    case EVENT_ACTION.SUBSCRIPTION_HAS_PROVIDER:
    case EVENT_ACTION.SUBSCRIPTION_HAS_NO_PROVIDER:
      // The 2.x client would report these as unsolicited.
      return null;
    default:
      return action >= 100 || action === EVENT_ACTION.ERROR ? topicError('E', message) : null;
  }
}

// RPC -------------------------------------------------------------------------

function rpc(message: Message): string | null {
  const { action, name, correlationId } = message;
  switch (action) {
    case RPC_ACTION.REQUEST:
      // The 2.x provider has no place for requestorName/requestorData.
      return msg('P', 'REQ', name, correlationId, jsonToTyped(message.data) ?? undefined);
    case RPC_ACTION.ACCEPT:
      return msg('P', 'A', 'REQ', name, correlationId);
    case RPC_ACTION.RESPONSE:
      return msg('P', 'RES', name, correlationId, jsonToTyped(message.data) ?? undefined);
    case RPC_ACTION.REQUEST_ERROR:
      // The requestor's make() fails with the provider's message as it is.
      return msg(
        'P',
        'E',
        freeText(message.data === undefined ? 'undefined' : plainText(message.data)),
        name,
        correlationId,
      );
    case RPC_ACTION.PROVIDE:
    case RPC_ACTION.UNPROVIDE:
      return message.isAck ? ack('P', action === RPC_ACTION.PROVIDE ? 'S' : 'US', message) : null;
    default: {
      if (action < 100 && action !== RPC_ACTION.ERROR) return null;
      const error = actionName(RPC_ACTION as unknown as Record<number, string>, action);
      if (isDenial(message)) {
        // P|E|MESSAGE_DENIED|name|REQ|correlationId fails that make(); P|E|…|name|S a provide.
        const original =
          message.originalAction === undefined
            ? undefined
            : ORIGINAL_TEXT[TOPIC.RPC]?.[message.originalAction];
        if (original === undefined) return msg('P', 'E', error, name ?? '');
        return original === 'S' || original === 'US' || correlationId === undefined
          ? msg('P', 'E', error, name ?? correlationId ?? '', original)
          : msg('P', 'E', error, name ?? '', original, correlationId);
      }
      // P|E|NO_RPC_PROVIDER|name|correlationId (and the timeouts) fail that make().
      return correlationId === undefined
        ? msg('P', 'E', error, name ?? '')
        : msg('P', 'E', error, name ?? '', correlationId);
    }
  }
}

// Presence --------------------------------------------------------------------

function presence(message: Message): string | null {
  const { action, correlationId } = message;
  switch (action) {
    case PRESENCE_ACTION.QUERY_ALL_RESPONSE: {
      // U|Q|user1|user2…: a user name that cannot be a part is left out, not the answer.
      const users = (message.names ?? []).filter((user) => !hasSeparator(user));
      return msg('U', 'Q', ...users);
    }
    case PRESENCE_ACTION.QUERY_RESPONSE:
      return msg('U', 'Q', correlationId, message.data);
    case PRESENCE_ACTION.SUBSCRIBE_ALL:
      return message.isAck ? msg('U', 'A', 'S', 'S') : null;
    case PRESENCE_ACTION.UNSUBSCRIBE_ALL:
      return message.isAck ? msg('U', 'A', 'US', 'US') : null;
    case PRESENCE_ACTION.SUBSCRIBE:
      return message.isAck ? msg('U', 'A', 'S', correlationId) : null;
    case PRESENCE_ACTION.UNSUBSCRIBE:
      return message.isAck ? msg('U', 'A', 'US', correlationId) : null;
    case PRESENCE_ACTION.PRESENCE_JOIN:
    case PRESENCE_ACTION.PRESENCE_JOIN_ALL:
      return msg('U', 'PNJ', message.name);
    case PRESENCE_ACTION.PRESENCE_LEAVE:
    case PRESENCE_ACTION.PRESENCE_LEAVE_ALL:
      return msg('U', 'PNL', message.name);
    default:
      return action >= 100 || action === PRESENCE_ACTION.ERROR
        ? topicError('U', message, message.name ?? correlationId ?? presenceSubject(message))
        : null;
  }
}

/** What a presence error names when the request named no user: its action (Q, S or US). */
function presenceSubject(message: Message): string {
  const original =
    message.originalAction === undefined
      ? undefined
      : ORIGINAL_TEXT[TOPIC.PRESENCE]?.[message.originalAction];
  return original ?? 'U';
}

/** Encodes messages into one frame, leaving out those without a text form; null when none has one. */
export function encodeTextFrame(messages: Message[], state?: TextConnectionState): string | null {
  let frame = '';
  for (const message of messages) frame += encodeTextMessage(message, state) ?? '';
  return frame === '' ? null : frame;
}
