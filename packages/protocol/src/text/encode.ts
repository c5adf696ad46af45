import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  EVENT_ACTION,
  PARSER_ACTION,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
} from '../actions.ts';
import type { Message } from '../message.ts';
import { hasSeparator, RS, US } from './constants.ts';
import type { HeadKind, TextConnectionState } from './state.ts';
import { jsonToTyped } from './typed.ts';

// Internal messages into the text the deepstream.io-client-js 2.3.4 client
// reads (its message-parser.js and the handlers that take each message).
// One internal message may become two text messages where the 2.x client
// needs both: an error event and the answer that settles the waiting call
// (a denied snapshot, has or head; a refused write that asked for an
// acknowledgement). A message the 2.x client has no form for, or whose
// names hold a separator, encodes to null: it is not sent.

const WRITE_SUCCESS = '{"writeSuccess":true}';

/** Joins one message's parts; null when one is missing or holds a separator. */
function msg(...parts: (string | undefined)[]): string | null {
  for (const part of parts) {
    if (part === undefined || hasSeparator(part)) return null;
  }
  return parts.join(US) + RS;
}

/** Free text (error messages) with any separator replaced, so it always fits. */
function freeText(text: string): string {
  return hasSeparator(text) ? text.replaceAll(RS, ' ').replaceAll(US, ' ') : text;
}

/** The name of an action, as the 2.x client reports errors (e.g. MESSAGE_DENIED). */
function actionName(names: Record<number, string>, action: number): string {
  return names[action] ?? 'ERROR';
}

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

/** JSON text holding a string gives the string; other JSON is kept as it is. */
function plainText(json: string): string {
  if (json.charCodeAt(0) !== 34) return json;
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'string' ? value : json;
  } catch {
    return json;
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

const EVENT_TEXT: Readonly<Record<number, string>> = {
  [EVENT_ACTION.EMIT]: 'EVT',
  [EVENT_ACTION.SUBSCRIBE]: 'S',
  [EVENT_ACTION.UNSUBSCRIBE]: 'US',
  [EVENT_ACTION.LISTEN]: 'L',
  [EVENT_ACTION.UNLISTEN]: 'UL',
  [EVENT_ACTION.LISTEN_ACCEPT]: 'LA',
  [EVENT_ACTION.LISTEN_REJECT]: 'LR',
};

/** The ack of a single-name subscription: its correlation id is the name (decode.ts). */
function ack(topic: string, action: string, message: Message): string | null {
  return msg(topic, 'A', action, message.correlationId ?? message.name);
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

const ORIGINAL_TEXT: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  [TOPIC.EVENT]: EVENT_TEXT,
  [TOPIC.RECORD]: {
    [RECORD_ACTION.SUBSCRIBECREATEANDREAD]: 'CR',
    [RECORD_ACTION.SUBSCRIBEANDREAD]: 'CR',
    [RECORD_ACTION.SUBSCRIBEANDHEAD]: 'CR',
    [RECORD_ACTION.SUBSCRIBE]: 'S',
    [RECORD_ACTION.UNSUBSCRIBE]: 'US',
    [RECORD_ACTION.READ]: 'SN',
    [RECORD_ACTION.HEAD]: 'HD',
    [RECORD_ACTION.DELETE]: 'D',
    [RECORD_ACTION.UPDATE]: 'U',
    [RECORD_ACTION.PATCH]: 'P',
    [RECORD_ACTION.ERASE]: 'P',
    [RECORD_ACTION.CREATEANDUPDATE]: 'CU',
    [RECORD_ACTION.CREATEANDPATCH]: 'CU',
    [RECORD_ACTION.LISTEN]: 'L',
    [RECORD_ACTION.UNLISTEN]: 'UL',
    [RECORD_ACTION.LISTEN_ACCEPT]: 'LA',
    [RECORD_ACTION.LISTEN_REJECT]: 'LR',
  },
  [TOPIC.RPC]: {
    [RPC_ACTION.REQUEST]: 'REQ',
    [RPC_ACTION.RESPONSE]: 'RES',
    [RPC_ACTION.REJECT]: 'REJ',
    [RPC_ACTION.ACCEPT]: 'A',
    [RPC_ACTION.REQUEST_ERROR]: 'E',
    [RPC_ACTION.PROVIDE]: 'S',
    [RPC_ACTION.UNPROVIDE]: 'US',
  },
  [TOPIC.PRESENCE]: {
    [PRESENCE_ACTION.QUERY]: 'Q',
    [PRESENCE_ACTION.QUERY_ALL]: 'Q',
    [PRESENCE_ACTION.SUBSCRIBE]: 'S',
    [PRESENCE_ACTION.SUBSCRIBE_ALL]: 'S',
    [PRESENCE_ACTION.UNSUBSCRIBE]: 'US',
    [PRESENCE_ACTION.UNSUBSCRIBE_ALL]: 'US',
  },
};

const ACTION_NAMES: Readonly<Record<number, Record<number, string>>> = {
  [TOPIC.EVENT]: EVENT_ACTION as unknown as Record<number, string>,
  [TOPIC.RECORD]: RECORD_ACTION as unknown as Record<number, string>,
  [TOPIC.RPC]: RPC_ACTION as unknown as Record<number, string>,
  [TOPIC.PRESENCE]: PRESENCE_ACTION as unknown as Record<number, string>,
};

function isDenial(message: Message): boolean {
  const name = ACTION_NAMES[message.topic]?.[message.action];
  return name === 'MESSAGE_DENIED' || name === 'MESSAGE_PERMISSION_ERROR';
}

/**
 * `<T>|E|<ERROR_NAME>|<name>`, as the 2.x client reports errors (event
 * `error` with the name). Denials add the original action as the 2.x server
 * sent it (`E|E|MESSAGE_DENIED|news|S`); the 2.x client reads it to undo a
 * subscription.
 */
function topicError(topic: string, message: Message, name = message.name): string | null {
  const error = actionName(ACTION_NAMES[message.topic] ?? {}, message.action);
  const subject = name ?? message.correlationId ?? '';
  if (!isDenial(message)) return msg(topic, 'E', error, subject);
  const original =
    message.originalAction === undefined
      ? undefined
      : ORIGINAL_TEXT[message.topic]?.[message.originalAction];
  return original === undefined
    ? msg(topic, 'E', error, subject)
    : msg(topic, 'E', error, subject, original);
}

// Records ---------------------------------------------------------------------

/** Integer text, as a write's correlation id holds its version (decode.ts). */
const VERSION = /^-?\d{1,10}$/;

function record(message: Message, state: TextConnectionState | undefined): string | null {
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

// Batching --------------------------------------------------------------------

/** Characters one batched frame holds at most unless told otherwise. */
export const DEFAULT_TEXT_BATCH_CHARS = 64 * 1024;

/**
 * Gathers encoded messages into frames (the 2.x client splits a frame on the
 * record separator). Encode a fan-out once with encodeTextMessage and add the
 * same text to each connection's batch; send what `add` returns at once and
 * what `take` returns when the turn ends. A single message longer than
 * `maxChars` is a frame of its own.
 */
export class TextBatch {
  readonly #maxChars: number;
  readonly #maxMessages: number;
  #texts: string[] = [];
  #chars = 0;

  constructor(options: { maxChars?: number; maxMessages?: number } = {}) {
    this.#maxChars = options.maxChars ?? DEFAULT_TEXT_BATCH_CHARS;
    this.#maxMessages = options.maxMessages ?? 100;
  }

  /** Adds one encoded message; returns the frame to send first when this one did not fit. */
  add(text: string): string | null {
    let full: string | null = null;
    if (
      this.#texts.length > 0 &&
      (this.#chars + text.length > this.#maxChars || this.#texts.length >= this.#maxMessages)
    ) {
      full = this.take();
    }
    this.#texts.push(text);
    this.#chars += text.length;
    return full;
  }

  /** The gathered messages as one frame (null when there are none); the batch is then empty. */
  take(): string | null {
    if (this.#texts.length === 0) return null;
    const frame = this.#texts.length === 1 ? (this.#texts[0] as string) : this.#texts.join('');
    this.#texts = [];
    this.#chars = 0;
    return frame;
  }

  /** Messages waiting in the batch. */
  get size(): number {
    return this.#texts.length;
  }

  /** Characters waiting in the batch. */
  get chars(): number {
    return this.#chars;
  }
}

/** Encodes messages into one frame, leaving out those without a text form; null when none has one. */
export function encodeTextFrame(messages: Message[], state?: TextConnectionState): string | null {
  let frame = '';
  for (const message of messages) frame += encodeTextMessage(message, state) ?? '';
  return frame === '' ? null : frame;
}
