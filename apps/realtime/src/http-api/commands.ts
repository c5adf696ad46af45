import { randomUUID } from 'node:crypto';
import {
  EVENT_ACTION,
  type Message,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
} from '@hubstream/protocol';
import { parsePath } from '../records/json-path.ts';

// The commands of the HTTP data API, in deepstream's JSON format
// (docs/client-http/v1): each one is checked here and turned into the
// protocol message a WebSocket client would send for the same thing, so it
// runs through the same handlers, rules and limits.

/** What a command does; says which reply ends it and how the reply reads. */
export type CommandKind =
  | 'emit'
  | 'read'
  | 'head'
  | 'write'
  | 'delete'
  | 'notify'
  | 'rpc'
  | 'queryAll'
  | 'query';

export type Command = {
  kind: CommandKind;
  /** The JSON topic (`record`, `list`), for metrics. */
  topic: string;
  /** The JSON action (`write`), for denial texts. */
  action: string;
  message: Message;
};

export type ParsedCommand = { ok: true; command: Command } | { ok: false; reason: string };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The fields each topic and action takes (required ones marked). */
const SHAPES: Record<string, Record<string, Record<string, 'required' | 'optional'>>> = {
  event: { emit: { eventName: 'required', data: 'optional' } },
  rpc: { make: { rpcName: 'required', data: 'optional' } },
  record: {
    read: { recordName: 'required' },
    head: { recordName: 'required' },
    delete: { recordName: 'required' },
    write: { recordName: 'required', data: 'required', path: 'optional', version: 'optional' },
    notify: { recordNames: 'required' },
  },
  list: {
    read: { listName: 'required' },
    delete: { listName: 'required' },
    write: { listName: 'required', data: 'required', version: 'optional' },
  },
  presence: { query: { names: 'optional' } },
};

const quoted = (values: string[]) => values.map((v) => `'${v}'`).join(', ');

/** The command at one index of the request's `body`, or why it is not one. */
export function parseCommand(raw: unknown): ParsedCommand {
  const fail = (reason: string): ParsedCommand => ({ ok: false, reason });
  if (!isObject(raw)) return fail('a command must be an object');
  const { topic, action } = raw;
  if (topic === undefined) return fail("property 'topic' is required");
  if (typeof topic !== 'string' || !Object.hasOwn(SHAPES, topic)) {
    return fail(`unknown topic ${JSON.stringify(topic)}: one of ${quoted(Object.keys(SHAPES))}`);
  }
  const actions = SHAPES[topic]!;
  if (action === undefined) return fail(`property 'action' is required for topic '${topic}'`);
  if (typeof action !== 'string' || !Object.hasOwn(actions, action)) {
    return fail(
      `unknown action ${JSON.stringify(action)} for topic '${topic}': one of ${quoted(Object.keys(actions))}`,
    );
  }
  const shape = actions[action]!;
  for (const key of Object.keys(raw)) {
    if (key !== 'topic' && key !== 'action' && !Object.hasOwn(shape, key)) {
      return fail(`property '${key}' is not allowed for topic '${topic}' action '${action}'`);
    }
  }
  for (const [key, need] of Object.entries(shape)) {
    if (need === 'required' && raw[key] === undefined) {
      return fail(`property '${key}' is required for topic '${topic}' action '${action}'`);
    }
  }
  for (const key of ['eventName', 'rpcName', 'recordName', 'listName'] as const) {
    const value = raw[key];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
      return fail(`property '${key}' must be a non-empty string`);
    }
  }
  const build = BUILDERS[`${topic}.${action}`]!;
  const built = build(raw);
  if (typeof built === 'string') return fail(built);
  return { ok: true, command: { ...built, topic, action } };
}

const json = (value: unknown) => (value === undefined ? {} : { data: JSON.stringify(value) });

/** A version as deepstream takes it: absent or 0 means "any" (-1). */
function versionOf(raw: Json): number | string {
  const { version } = raw;
  if (version === undefined) return -1;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < -1) {
    return "property 'version' must be an integer of at least -1";
  }
  return version === 0 ? -1 : version;
}

function names(raw: Json, key: string, allowEmpty: boolean): string[] | string {
  const value = raw[key];
  if (!Array.isArray(value) || (!allowEmpty && value.length === 0)) {
    return `property '${key}' must be ${allowEmpty ? 'an' : 'a non-empty'} array of strings`;
  }
  if (!value.every((n) => typeof n === 'string' && n.length > 0)) {
    return `property '${key}' must hold non-empty strings only`;
  }
  return value as string[];
}

type Built = Omit<Command, 'topic' | 'action'> | string;

function write(name: string, raw: Json, list: boolean): Built {
  const version = versionOf(raw);
  if (typeof version === 'string') return version;
  const { data, path } = raw;
  if (path !== undefined && typeof path !== 'string') return "property 'path' must be a string";
  const whole = path === undefined || path === '';
  if (list) {
    if (!Array.isArray(data) || !data.every((entry) => typeof entry === 'string')) {
      return "property 'data' must be an array of strings (a list's entries)";
    }
  } else if (whole && (typeof data !== 'object' || data === null)) {
    return "property 'data' must be an object or an array when no 'path' is given";
  }
  if (!whole && parsePath(path!) === null) {
    return `property 'path' is not a valid record path: ${JSON.stringify(path)}`;
  }
  return {
    kind: 'write',
    message: {
      topic: TOPIC.RECORD,
      action: whole ? RECORD_ACTION.CREATEANDUPDATE : RECORD_ACTION.CREATEANDPATCH,
      name,
      version,
      ...(whole ? {} : { path: path as string }),
      data: JSON.stringify(data),
      // Acknowledged once durable, as a client's write with a callback is.
      isWriteAck: true,
      correlationId: randomUUID(),
    },
  };
}

const BUILDERS: Record<string, (raw: Json) => Built> = {
  'event.emit': (raw) => ({
    kind: 'emit',
    message: {
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.EMIT,
      name: raw.eventName as string,
      ...json(raw.data),
    },
  }),
  'rpc.make': (raw) => ({
    kind: 'rpc',
    message: {
      topic: TOPIC.RPC,
      action: RPC_ACTION.REQUEST,
      name: raw.rpcName as string,
      correlationId: randomUUID(),
      ...json(raw.data),
    },
  }),
  'record.read': (raw) => record('read', RECORD_ACTION.READ, raw.recordName as string),
  'record.head': (raw) => record('head', RECORD_ACTION.HEAD, raw.recordName as string),
  'record.delete': (raw) => record('delete', RECORD_ACTION.DELETE, raw.recordName as string),
  'record.write': (raw) => write(raw.recordName as string, raw, false),
  'record.notify': (raw) => {
    const recordNames = names(raw, 'recordNames', false);
    if (typeof recordNames === 'string') return recordNames;
    return {
      kind: 'notify',
      message: {
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.NOTIFY,
        names: recordNames,
        correlationId: randomUUID(),
      },
    };
  },
  // A list is a record whose data is the array of its entries.
  'list.read': (raw) => record('read', RECORD_ACTION.READ, raw.listName as string),
  'list.delete': (raw) => record('delete', RECORD_ACTION.DELETE, raw.listName as string),
  'list.write': (raw) => write(raw.listName as string, raw, true),
  'presence.query': (raw) => {
    if (raw.names === undefined) {
      return {
        kind: 'queryAll',
        message: { topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY_ALL },
      };
    }
    const users = names(raw, 'names', true);
    if (typeof users === 'string') return users;
    return {
      kind: 'query',
      message: {
        topic: TOPIC.PRESENCE,
        action: PRESENCE_ACTION.QUERY,
        names: users,
        correlationId: randomUUID(),
      },
    };
  },
};

function record(kind: CommandKind, action: number, name: string): Built {
  return { kind, message: { topic: TOPIC.RECORD, action, name } };
}

const RPC_ENDS: ReadonlySet<number> = new Set([
  RPC_ACTION.RESPONSE,
  RPC_ACTION.REQUEST_ERROR,
  RPC_ACTION.NO_RPC_PROVIDER,
  RPC_ACTION.ACCEPT_TIMEOUT,
  RPC_ACTION.RESPONSE_TIMEOUT,
]);

/**
 * Whether `reply` (sent to the command's virtual client) is the command's
 * answer. An emit has none on success: it is over when its handler is.
 */
export function endsCommand(command: Command, reply: Message): boolean {
  const { message } = command;
  if (reply.topic !== message.topic) return false;
  if (message.correlationId !== undefined && reply.correlationId !== undefined) {
    if (reply.correlationId !== message.correlationId) return false;
  }
  if (reply.isError) return true;
  switch (command.kind) {
    case 'emit':
      return true;
    case 'read':
      return reply.action === RECORD_ACTION.READ_RESPONSE;
    case 'head':
      return reply.action === RECORD_ACTION.HEAD_RESPONSE;
    case 'write':
      return (
        reply.action === RECORD_ACTION.WRITE_ACKNOWLEDGEMENT ||
        reply.action === RECORD_ACTION.VERSION_EXISTS
      );
    case 'delete':
      return reply.action === RECORD_ACTION.DELETE_SUCCESS;
    case 'notify':
      return reply.action === RECORD_ACTION.NOTIFY && reply.isAck === true;
    case 'rpc':
      return reply.correlationId === message.correlationId && RPC_ENDS.has(reply.action);
    case 'queryAll':
      return reply.action === PRESENCE_ACTION.QUERY_ALL_RESPONSE;
    case 'query':
      return reply.action === PRESENCE_ACTION.QUERY_RESPONSE;
  }
}
