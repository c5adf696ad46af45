import { RECORD_ACTION, TOPIC } from '../actions.ts';
import type { Message } from '../message.ts';
import { arity, failure, type Parsed, single, type TextDecodeOptions } from './decode-parts.ts';
import { typedToJson } from './typed.ts';

// The record topic of a 2.x text frame (decode.ts): subscriptions, reads,
// has/head, deletes, listens and the three write forms.

const VERSION = /^-?\d{1,10}$/;
const INT32_MAX = 2 ** 31 - 1;

export function record(parts: string[], options: TextDecodeOptions): Parsed {
  const topic = TOPIC.RECORD;
  const name = parts[2] as string;
  const plain = (action: number): Parsed =>
    arity(parts, 1) ? { topic, action, name } : failure('MESSAGE_PARSE_ERROR', topic);
  switch (parts[1]) {
    case 'CR':
    case 'US':
      if (!arity(parts, 1)) return failure('MESSAGE_PARSE_ERROR', topic);
      return single(
        topic,
        parts[1] === 'CR' ? RECORD_ACTION.SUBSCRIBECREATEANDREAD : RECORD_ACTION.UNSUBSCRIBE,
        name,
      );
    case 'SN':
      return plain(RECORD_ACTION.READ);
    case 'D':
      return plain(RECORD_ACTION.DELETE);
    case 'H':
    case 'HD': {
      // Has and head are both HEAD; the correlation id says which form answers (encode.ts).
      if (!arity(parts, 1)) return failure('MESSAGE_PARSE_ERROR', topic);
      options.state?.asked(name, parts[1]);
      return { topic, action: RECORD_ACTION.HEAD, name, correlationId: parts[1] };
    }
    case 'U':
    case 'P':
    case 'CU':
      return write(parts);
    case 'L':
      return plain(RECORD_ACTION.LISTEN);
    case 'UL':
      return plain(RECORD_ACTION.UNLISTEN);
    case 'LA':
    case 'LR':
      if (!arity(parts, 2)) return failure('MESSAGE_PARSE_ERROR', topic);
      return {
        topic,
        action: parts[1] === 'LA' ? RECORD_ACTION.LISTEN_ACCEPT : RECORD_ACTION.LISTEN_REJECT,
        name,
        subscription: parts[3] as string,
      };
    default:
      return failure('UNKNOWN_ACTION', topic);
  }
}

/**
 * R|U|name|version|json[|config], R|P|name|version|path|typed[|config] and
 * setData's R|CU|name|-1|json|config or R|CU|name|-1|path|typed|config. A
 * config is a JSON object (`{"writeSuccess":true}` asks for an
 * acknowledgement), told from a typed value by its `{`. A patch to `U`
 * (undefined) erases the path, as the protobuf client's ERASE.
 */
function write(parts: string[]): Parsed {
  const topic = TOPIC.RECORD;
  const kind = parts[1];
  if (!arity(parts, 3, 5)) return failure('MESSAGE_PARSE_ERROR', topic);
  const name = parts[2] as string;
  let fields = parts.length - 4; // after the version
  const last = parts[parts.length - 1] as string;
  const hasConfig = fields > 1 && last.charCodeAt(0) === 123; // {
  if (hasConfig) fields--;
  const isPatch = kind === 'P' || (kind === 'CU' && fields === 2);
  if (fields !== (isPatch ? 2 : 1) || (kind === 'U' && isPatch)) {
    return failure('MESSAGE_PARSE_ERROR', topic);
  }
  const upsert = kind === 'CU';
  const message: Message = {
    topic,
    action: isPatch
      ? upsert
        ? RECORD_ACTION.CREATEANDPATCH
        : RECORD_ACTION.PATCH
      : upsert
        ? RECORD_ACTION.CREATEANDUPDATE
        : RECORD_ACTION.UPDATE,
    name,
  };
  const versionText = parts[3] as string;
  const version = VERSION.test(versionText) ? Number(versionText) : Number.NaN;
  if (!(Math.abs(version) <= INT32_MAX)) return failure('INVALID_MESSAGE_DATA', topic, message);
  message.version = version;
  if (hasConfig) {
    let config: unknown;
    try {
      config = JSON.parse(last);
    } catch {
      return failure('INVALID_MESSAGE_DATA', topic, message);
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) {
      return failure('INVALID_MESSAGE_DATA', topic, message);
    }
    if ((config as { writeSuccess?: unknown }).writeSuccess === true) {
      message.isWriteAck = true;
      message.correlationId = String(version);
    }
  }
  if (!isPatch) {
    // Whole record data is plain JSON; the record handler parses and checks it.
    message.data = parts[4] as string;
    return message;
  }
  message.path = parts[4] as string;
  const value = typedToJson(parts[5] as string);
  if (!value.ok) return failure('INVALID_MESSAGE_DATA', topic, message);
  if (value.json === undefined) {
    // set(path, undefined): the path is erased.
    message.action = RECORD_ACTION.ERASE;
  } else {
    message.data = value.json;
  }
  return message;
}
