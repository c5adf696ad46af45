import { EVENT_ACTION, PRESENCE_ACTION, RECORD_ACTION, RPC_ACTION, TOPIC } from '../actions.ts';
import type { Message } from '../message.ts';
import { hasSeparator, RS, US } from './constants.ts';

// What every topic's text encoder shares (encode.ts has the overview): how a
// message's parts are joined, free text, action names, acknowledgements of
// single-name subscriptions and the error and denial forms.

export const WRITE_SUCCESS = '{"writeSuccess":true}';

/** Joins one message's parts; null when one is missing or holds a separator. */
export function msg(...parts: (string | undefined)[]): string | null {
  for (const part of parts) {
    if (part === undefined || hasSeparator(part)) return null;
  }
  return parts.join(US) + RS;
}

/** Free text (error messages) with any separator replaced, so it always fits. */
export function freeText(text: string): string {
  return hasSeparator(text) ? text.replaceAll(RS, ' ').replaceAll(US, ' ') : text;
}

/** The name of an action, as the 2.x client reports errors (e.g. MESSAGE_DENIED). */
export function actionName(names: Record<number, string>, action: number): string {
  return names[action] ?? 'ERROR';
}

/** JSON text holding a string gives the string; other JSON is kept as it is. */
export function plainText(json: string): string {
  if (json.charCodeAt(0) !== 34) return json;
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'string' ? value : json;
  } catch {
    return json;
  }
}

export const EVENT_TEXT: Readonly<Record<number, string>> = {
  [EVENT_ACTION.EMIT]: 'EVT',
  [EVENT_ACTION.SUBSCRIBE]: 'S',
  [EVENT_ACTION.UNSUBSCRIBE]: 'US',
  [EVENT_ACTION.LISTEN]: 'L',
  [EVENT_ACTION.UNLISTEN]: 'UL',
  [EVENT_ACTION.LISTEN_ACCEPT]: 'LA',
  [EVENT_ACTION.LISTEN_REJECT]: 'LR',
};

/** The ack of a single-name subscription: its correlation id is the name (decode.ts). */
export function ack(topic: string, action: string, message: Message): string | null {
  return msg(topic, 'A', action, message.correlationId ?? message.name);
}

export const ORIGINAL_TEXT: Readonly<Record<number, Readonly<Record<number, string>>>> = {
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

export function isDenial(message: Message): boolean {
  const name = ACTION_NAMES[message.topic]?.[message.action];
  return name === 'MESSAGE_DENIED' || name === 'MESSAGE_PERMISSION_ERROR';
}

/**
 * `<T>|E|<ERROR_NAME>|<name>`, as the 2.x client reports errors (event
 * `error` with the name). Denials add the original action as the 2.x server
 * sent it (`E|E|MESSAGE_DENIED|news|S`); the 2.x client reads it to undo a
 * subscription.
 */
export function topicError(topic: string, message: Message, name = message.name): string | null {
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
