import type * as T from '@deepstream/protobuf/dist/types/all.js';
import { EVENT_ACTION, PRESENCE_ACTION, RECORD_ACTION, RPC_ACTION, TOPIC } from './actions.ts';
import type { Message } from './message.ts';

// What a client may send, one member per (topic, action) with exactly the
// fields that action carries, the required ones required (PROTOCOL.md 3-6).
// Both codecs check a decoded message against it (checkClientMessage) before
// anything handles it: a message missing a required field, or with one of
// the wrong type, is answered with the reply the topic's handler used to send
// for it, and never reaches the handler. The checks are plain field tests on
// the decoded object itself, which is handed on as it is (no copy).
//
// Fields a handler reads with a default (an UNSUBSCRIBE without names is
// acknowledged, a LISTEN_ACCEPT without a subscription is ignored) stay
// optional: requiring them would change what the client is answered.

/** One member per action (distributed), so that a test of `action` narrows. */
type Base<Topic, Action> = Action extends unknown ? { topic: Topic; action: Action } : never;

/** A bulk subscription: at least one name. */
type Bulk = { names: string[]; correlationId?: string };

export type EventEmit = Base<T.TOPIC.EVENT, T.EVENT_ACTION.EMIT> & { name: string; data?: string };
export type EventSubscribe = Base<T.TOPIC.EVENT, T.EVENT_ACTION.SUBSCRIBE> & Bulk;
export type EventUnsubscribe = Base<T.TOPIC.EVENT, T.EVENT_ACTION.UNSUBSCRIBE> & {
  names?: string[];
  correlationId?: string;
};
export type EventListen = Base<T.TOPIC.EVENT, T.EVENT_ACTION.LISTEN | T.EVENT_ACTION.UNLISTEN> & {
  name: string;
};
export type EventListenAnswer = Base<
  T.TOPIC.EVENT,
  T.EVENT_ACTION.LISTEN_ACCEPT | T.EVENT_ACTION.LISTEN_REJECT
> & { name?: string; subscription?: string };
export type EventMessage =
  | EventEmit
  | EventSubscribe
  | EventUnsubscribe
  | EventListen
  | EventListenAnswer;

/** What every record request may carry for its reply (PROTOCOL.md 4.5). */
type RecordReplyFields = { correlationId?: string; isWriteAck?: boolean };

export type RecordSubscribe = Base<
  T.TOPIC.RECORD,
  | T.RECORD_ACTION.SUBSCRIBECREATEANDREAD
  | T.RECORD_ACTION.SUBSCRIBEANDREAD
  | T.RECORD_ACTION.SUBSCRIBEANDHEAD
> &
  Bulk;
export type RecordUnsubscribe = Base<T.TOPIC.RECORD, T.RECORD_ACTION.UNSUBSCRIBE> & Bulk;
export type RecordNotify = Base<T.TOPIC.RECORD, T.RECORD_ACTION.NOTIFY> & Bulk;
export type RecordRead = Base<
  T.TOPIC.RECORD,
  T.RECORD_ACTION.READ | T.RECORD_ACTION.HEAD | T.RECORD_ACTION.DELETE
> & { name: string } & RecordReplyFields;
export type RecordListen = Base<
  T.TOPIC.RECORD,
  T.RECORD_ACTION.LISTEN | T.RECORD_ACTION.UNLISTEN
> & { name: string };
export type RecordListenAnswer = Base<
  T.TOPIC.RECORD,
  T.RECORD_ACTION.LISTEN_ACCEPT | T.RECORD_ACTION.LISTEN_REJECT
> & { name?: string; subscription?: string };
/** UPDATE and setData's CREATEANDUPDATE: the whole record; a path, if any, is empty. */
export type RecordWholeWrite = Base<
  T.TOPIC.RECORD,
  T.RECORD_ACTION.UPDATE | T.RECORD_ACTION.CREATEANDUPDATE
> & { name: string; version: number; data: string; path?: string } & RecordReplyFields;
/** PATCH and setData's CREATEANDPATCH: a value at a path. */
export type RecordPatch = Base<
  T.TOPIC.RECORD,
  T.RECORD_ACTION.PATCH | T.RECORD_ACTION.CREATEANDPATCH
> & { name: string; version: number; path: string; data: string } & RecordReplyFields;
export type RecordErase = Base<T.TOPIC.RECORD, T.RECORD_ACTION.ERASE> & {
  name: string;
  version: number;
  path: string;
} & RecordReplyFields;
export type RecordWrite = RecordWholeWrite | RecordPatch | RecordErase;
export type RecordMessage =
  | RecordSubscribe
  | RecordUnsubscribe
  | RecordNotify
  | RecordRead
  | RecordListen
  | RecordListenAnswer
  | RecordWrite;

export type RpcProvide = Base<T.TOPIC.RPC, T.RPC_ACTION.PROVIDE | T.RPC_ACTION.UNPROVIDE> & Bulk;
export type RpcRequest = Base<T.TOPIC.RPC, T.RPC_ACTION.REQUEST> & {
  name: string;
  correlationId: string;
  data?: string;
};
/** A provider's answer to a request it was offered. */
export type RpcProviderReply = Base<
  T.TOPIC.RPC,
  T.RPC_ACTION.ACCEPT | T.RPC_ACTION.RESPONSE | T.RPC_ACTION.REQUEST_ERROR | T.RPC_ACTION.REJECT
> & { name?: string; correlationId: string; data?: string };
export type RpcMessage = RpcProvide | RpcRequest | RpcProviderReply;

export type PresenceSubscribe = Base<
  T.TOPIC.PRESENCE,
  T.PRESENCE_ACTION.SUBSCRIBE | T.PRESENCE_ACTION.UNSUBSCRIBE
> &
  Bulk;
export type PresenceAll = Base<
  T.TOPIC.PRESENCE,
  T.PRESENCE_ACTION.SUBSCRIBE_ALL | T.PRESENCE_ACTION.UNSUBSCRIBE_ALL | T.PRESENCE_ACTION.QUERY_ALL
> & { correlationId?: string };
export type PresenceQuery = Base<T.TOPIC.PRESENCE, T.PRESENCE_ACTION.QUERY> & {
  correlationId: string;
  names?: string[];
};
export type PresenceMessage = PresenceSubscribe | PresenceAll | PresenceQuery;

/** The handshake and login: the login (realtime core) checks these itself. */
export type ConnectionMessage = Message & { topic: T.TOPIC.CONNECTION };
export type AuthMessage = Message & { topic: T.TOPIC.AUTH };

/** A message a client sent, checked: switch on topic, then action, to narrow it. */
export type ClientMessage =
  | ConnectionMessage
  | AuthMessage
  | EventMessage
  | RecordMessage
  | RpcMessage
  | PresenceMessage;

/** What a checked message is: the message itself, typed, or the reply refusing it. */
export type ClientCheck = { ok: true; message: ClientMessage } | { ok: false; reply: Message };

const isName = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isNames = (value: unknown): value is string[] => Array.isArray(value) && value.length > 0;
const allNames = (names: string[]): boolean => {
  for (let i = 0; i < names.length; i++) if (!isName(names[i])) return false;
  return true;
};
const isOptionalString = (value: unknown) => value === undefined || typeof value === 'string';
const isOptionalNames = (value: unknown) => value === undefined || Array.isArray(value);

/**
 * The reply refusing `message`, or null when it is a well-formed client
 * message (then it is a ClientMessage as it is). CONNECTION and AUTH pass:
 * the login answers those.
 */
export function invalidClientMessage(message: Message): Message | null {
  switch (message.topic) {
    case TOPIC.EVENT:
      return checkEvent(message);
    case TOPIC.RECORD:
      return checkRecord(message);
    case TOPIC.RPC:
      return checkRpc(message);
    case TOPIC.PRESENCE:
      return checkPresence(message);
    default:
      return null;
  }
}

/** `message` typed as the client message it is, or the reply refusing it. */
export function checkClientMessage(message: Message): ClientCheck {
  const reply = invalidClientMessage(message);
  return reply === null ? { ok: true, message: message as ClientMessage } : { ok: false, reply };
}

// Events: INVALID_MESSAGE_DATA naming the original action and the name
// (none for an action the topic does not have).

function checkEvent(message: Message): Message | null {
  const { name, data } = message;
  switch (message.action) {
    case EVENT_ACTION.EMIT:
      return isName(name) && isOptionalString(data) ? null : eventInvalid(message, name);
    case EVENT_ACTION.SUBSCRIBE:
      return isNames(message.names) ? null : eventInvalid(message, name);
    case EVENT_ACTION.UNSUBSCRIBE:
      return isOptionalNames(message.names) ? null : eventInvalid(message, name);
    case EVENT_ACTION.LISTEN:
    case EVENT_ACTION.UNLISTEN:
      return isName(name) ? null : eventInvalid(message, name);
    case EVENT_ACTION.LISTEN_ACCEPT:
    case EVENT_ACTION.LISTEN_REJECT:
      return null;
    default:
      return eventInvalid(message, undefined);
  }
}

function eventInvalid(message: Message, name: string | undefined): Message {
  const reply: Message = {
    topic: TOPIC.EVENT,
    action: EVENT_ACTION.INVALID_MESSAGE_DATA,
    originalAction: message.action,
    isError: true,
  };
  if (name !== undefined) reply.name = name;
  return reply;
}

// Records: INVALID_MESSAGE_DATA naming the original action, the name, the
// correlation id and the write-ack flag, for the client to match it
// (PROTOCOL.md 4.5, 4.6).

function checkRecord(message: Message): Message | null {
  switch (message.action) {
    case RECORD_ACTION.SUBSCRIBECREATEANDREAD:
    case RECORD_ACTION.SUBSCRIBEANDREAD:
    case RECORD_ACTION.SUBSCRIBEANDHEAD:
    case RECORD_ACTION.NOTIFY:
      return isNames(message.names) && allNames(message.names) ? null : recordInvalid(message);
    case RECORD_ACTION.UNSUBSCRIBE:
      return isNames(message.names) ? null : recordInvalid(message);
    case RECORD_ACTION.READ:
    case RECORD_ACTION.HEAD:
    case RECORD_ACTION.DELETE:
    case RECORD_ACTION.LISTEN:
    case RECORD_ACTION.UNLISTEN:
      return isName(message.name) ? null : recordInvalid(message);
    case RECORD_ACTION.LISTEN_ACCEPT:
    case RECORD_ACTION.LISTEN_REJECT:
      return null;
    case RECORD_ACTION.UPDATE:
    case RECORD_ACTION.CREATEANDUPDATE:
    case RECORD_ACTION.PATCH:
    case RECORD_ACTION.CREATEANDPATCH:
    case RECORD_ACTION.ERASE:
      return validWrite(message) ? null : recordInvalid(message);
    default:
      return recordInvalid(message);
  }
}

/** The fields of a write; its path and data are parsed where they are used. */
function validWrite(message: Message): boolean {
  const { action, version, path } = message;
  if (!isName(message.name) || typeof version !== 'number' || version < -1) return false;
  if (action === RECORD_ACTION.UPDATE || action === RECORD_ACTION.CREATEANDUPDATE) {
    // The whole record: no path, or an empty one.
    if (path !== undefined && path !== '') return false;
  } else if (typeof path !== 'string') {
    return false;
  }
  return action === RECORD_ACTION.ERASE || typeof message.data === 'string';
}

/** A record request refused by its fields (also a handler's, for data it cannot use). */
export function recordInvalid(message: Message): Message {
  const reply: Message = {
    topic: TOPIC.RECORD,
    action: RECORD_ACTION.INVALID_MESSAGE_DATA,
    originalAction: message.action,
    isError: true,
  };
  if (message.name !== undefined) reply.name = message.name;
  if (message.correlationId !== undefined) reply.correlationId = message.correlationId;
  if (message.isWriteAck) reply.isWriteAck = true;
  return reply;
}

// RPC: INVALID_MESSAGE_DATA naming the original action, the name and the
// correlation id.

function checkRpc(message: Message): Message | null {
  switch (message.action) {
    case RPC_ACTION.PROVIDE:
    case RPC_ACTION.UNPROVIDE:
      return isNames(message.names) ? null : rpcInvalid(message);
    case RPC_ACTION.REQUEST:
      return isName(message.name) && isName(message.correlationId) && isOptionalString(message.data)
        ? null
        : rpcInvalid(message);
    case RPC_ACTION.ACCEPT:
    case RPC_ACTION.RESPONSE:
    case RPC_ACTION.REQUEST_ERROR:
    case RPC_ACTION.REJECT:
      return isName(message.correlationId) && isOptionalString(message.data)
        ? null
        : rpcInvalid(message);
    default:
      return rpcInvalid(message);
  }
}

/** An RPC message refused by its fields (also a handler's, for data it cannot use). */
export function rpcInvalid(message: Message): Message {
  const reply: Message = {
    topic: TOPIC.RPC,
    action: RPC_ACTION.INVALID_MESSAGE_DATA,
    originalAction: message.action,
    isError: true,
  };
  if (message.name !== undefined) reply.name = message.name;
  if (message.correlationId !== undefined) reply.correlationId = message.correlationId;
  return reply;
}

// Presence: INVALID_PRESENCE_USERS naming the original action and the
// correlation id.

function checkPresence(message: Message): Message | null {
  switch (message.action) {
    case PRESENCE_ACTION.SUBSCRIBE:
    case PRESENCE_ACTION.UNSUBSCRIBE:
      return isNames(message.names) ? null : presenceInvalid(message);
    case PRESENCE_ACTION.SUBSCRIBE_ALL:
    case PRESENCE_ACTION.UNSUBSCRIBE_ALL:
    case PRESENCE_ACTION.QUERY_ALL:
      return null;
    case PRESENCE_ACTION.QUERY:
      return typeof message.correlationId === 'string' && isOptionalNames(message.names)
        ? null
        : presenceInvalid(message);
    default:
      return presenceInvalid(message);
  }
}

function presenceInvalid(message: Message): Message {
  const reply: Message = {
    topic: TOPIC.PRESENCE,
    action: PRESENCE_ACTION.INVALID_PRESENCE_USERS,
    originalAction: message.action,
    isError: true,
  };
  if (message.correlationId !== undefined) reply.correlationId = message.correlationId;
  return reply;
}
