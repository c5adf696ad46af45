import { describe, expect, it } from 'vitest';
import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  decodeTextFrame,
  EVENT_ACTION,
  encodeTextFrame,
  encodeTextMessage,
  jsonToTyped,
  type Message,
  PARSER_ACTION,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TextBatch,
  TextConnectionState,
  TOPIC,
  typedToJson,
} from '../src/index.ts';
import { parser, t } from './text-helpers.ts';

// Every message of the text protocol (PROTOCOL.md 10.3) both ways: what the
// 2.3.4 client sends decodes to the internal message the protobuf codec
// would produce; what the server sends encodes to the trace, which the real
// 2.x client's parser reads without an error.

/** Parses with the 2.x client's parser; fails on any error it reports. */
function parse2x(frame: string) {
  const errors: unknown[] = [];
  const client = { _$onError: (...args: unknown[]) => errors.push(args) };
  const messages = parser.parse(frame, client);
  expect(errors).toEqual([]);
  expect(messages).not.toContain(null);
  return messages;
}

const { CONNECTION, AUTH, EVENT, RECORD, RPC, PRESENCE } = TOPIC;

const CLIENT_MESSAGES: [string, Message][] = [
  // Handshake and heartbeat.
  [
    'C|CHR|ws://localhost:6020/deepstream?apiKey=app',
    {
      topic: CONNECTION,
      action: CONNECTION_ACTION.CHALLENGE,
      url: 'ws://localhost:6020/deepstream?apiKey=app',
    },
  ],
  ['C|PO', { topic: CONNECTION, action: CONNECTION_ACTION.PONG }],
  [
    'A|REQ|{"username":"userA","password":"x"}',
    { topic: AUTH, action: AUTH_ACTION.REQUEST, data: '{"username":"userA","password":"x"}' },
  ],
  // Events.
  [
    'E|S|news',
    { topic: EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['news'], correlationId: 'news' },
  ],
  [
    'E|US|news',
    { topic: EVENT, action: EVENT_ACTION.UNSUBSCRIBE, names: ['news'], correlationId: 'news' },
  ],
  [
    'E|EVT|news|O{"headline":"hi"}',
    { topic: EVENT, action: EVENT_ACTION.EMIT, name: 'news', data: '{"headline":"hi"}' },
  ],
  ['E|EVT|news|Sstr', { topic: EVENT, action: EVENT_ACTION.EMIT, name: 'news', data: '"str"' }],
  ['E|EVT|news|N42', { topic: EVENT, action: EVENT_ACTION.EMIT, name: 'news', data: '42' }],
  ['E|EVT|news|U', { topic: EVENT, action: EVENT_ACTION.EMIT, name: 'news' }],
  ['E|EVT|news', { topic: EVENT, action: EVENT_ACTION.EMIT, name: 'news' }],
  ['E|L|news/.*', { topic: EVENT, action: EVENT_ACTION.LISTEN, name: 'news/.*' }],
  ['E|UL|news/.*', { topic: EVENT, action: EVENT_ACTION.UNLISTEN, name: 'news/.*' }],
  [
    'E|LA|news/.*|news/a',
    { topic: EVENT, action: EVENT_ACTION.LISTEN_ACCEPT, name: 'news/.*', subscription: 'news/a' },
  ],
  [
    'E|LR|news/.*|news/a',
    { topic: EVENT, action: EVENT_ACTION.LISTEN_REJECT, name: 'news/.*', subscription: 'news/a' },
  ],
  // Records.
  [
    'R|CR|rec1',
    {
      topic: RECORD,
      action: RECORD_ACTION.SUBSCRIBECREATEANDREAD,
      names: ['rec1'],
      correlationId: 'rec1',
    },
  ],
  [
    'R|US|rec1',
    { topic: RECORD, action: RECORD_ACTION.UNSUBSCRIBE, names: ['rec1'], correlationId: 'rec1' },
  ],
  [
    'R|U|rec1|1|{"a":1}',
    { topic: RECORD, action: RECORD_ACTION.UPDATE, name: 'rec1', version: 1, data: '{"a":1}' },
  ],
  [
    'R|U|rec1|2|[1,2]|{"writeSuccess":true}',
    {
      topic: RECORD,
      action: RECORD_ACTION.UPDATE,
      name: 'rec1',
      version: 2,
      data: '[1,2]',
      isWriteAck: true,
      correlationId: '2',
    },
  ],
  [
    'R|P|rec1|3|nested.b|N3',
    {
      topic: RECORD,
      action: RECORD_ACTION.PATCH,
      name: 'rec1',
      version: 3,
      path: 'nested.b',
      data: '3',
    },
  ],
  [
    'R|P|rec1|4|a|SMax|{"writeSuccess":true}',
    {
      topic: RECORD,
      action: RECORD_ACTION.PATCH,
      name: 'rec1',
      version: 4,
      path: 'a',
      data: '"Max"',
      isWriteAck: true,
      correlationId: '4',
    },
  ],
  [
    'R|P|rec1|5|nested|U',
    { topic: RECORD, action: RECORD_ACTION.ERASE, name: 'rec1', version: 5, path: 'nested' },
  ],
  [
    'R|P|rec1|6|a|L|{}',
    {
      topic: RECORD,
      action: RECORD_ACTION.PATCH,
      name: 'rec1',
      version: 6,
      path: 'a',
      data: 'null',
    },
  ],
  [
    'R|CU|rec3|-1|{"z":1}|{"writeSuccess":true}',
    {
      topic: RECORD,
      action: RECORD_ACTION.CREATEANDUPDATE,
      name: 'rec3',
      version: -1,
      data: '{"z":1}',
      isWriteAck: true,
      correlationId: '-1',
    },
  ],
  [
    'R|CU|rec3|-1|{"z":1}|{}',
    {
      topic: RECORD,
      action: RECORD_ACTION.CREATEANDUPDATE,
      name: 'rec3',
      version: -1,
      data: '{"z":1}',
    },
  ],
  [
    'R|CU|rec3|-1|z|N2|{}',
    {
      topic: RECORD,
      action: RECORD_ACTION.CREATEANDPATCH,
      name: 'rec3',
      version: -1,
      path: 'z',
      data: '2',
    },
  ],
  [
    'R|CU|rec3|-1|z|U|{"writeSuccess":true}',
    {
      topic: RECORD,
      action: RECORD_ACTION.ERASE,
      name: 'rec3',
      version: -1,
      path: 'z',
      isWriteAck: true,
      correlationId: '-1',
    },
  ],
  ['R|SN|rec2', { topic: RECORD, action: RECORD_ACTION.READ, name: 'rec2' }],
  ['R|H|rec2', { topic: RECORD, action: RECORD_ACTION.HEAD, name: 'rec2', correlationId: 'H' }],
  ['R|HD|rec2', { topic: RECORD, action: RECORD_ACTION.HEAD, name: 'rec2', correlationId: 'HD' }],
  ['R|D|rec1', { topic: RECORD, action: RECORD_ACTION.DELETE, name: 'rec1' }],
  ['R|L|rec/.*', { topic: RECORD, action: RECORD_ACTION.LISTEN, name: 'rec/.*' }],
  ['R|UL|rec/.*', { topic: RECORD, action: RECORD_ACTION.UNLISTEN, name: 'rec/.*' }],
  [
    'R|LA|rec/.*|rec/a',
    { topic: RECORD, action: RECORD_ACTION.LISTEN_ACCEPT, name: 'rec/.*', subscription: 'rec/a' },
  ],
  [
    'R|LR|rec/.*|rec/a',
    { topic: RECORD, action: RECORD_ACTION.LISTEN_REJECT, name: 'rec/.*', subscription: 'rec/a' },
  ],
  // RPC.
  ['P|S|add', { topic: RPC, action: RPC_ACTION.PROVIDE, names: ['add'], correlationId: 'add' }],
  ['P|US|add', { topic: RPC, action: RPC_ACTION.UNPROVIDE, names: ['add'], correlationId: 'add' }],
  [
    'P|REQ|add|k1|O{"a":1,"b":2}',
    {
      topic: RPC,
      action: RPC_ACTION.REQUEST,
      name: 'add',
      correlationId: 'k1',
      data: '{"a":1,"b":2}',
    },
  ],
  ['P|REQ|add|k2|U', { topic: RPC, action: RPC_ACTION.REQUEST, name: 'add', correlationId: 'k2' }],
  ['P|A|REQ|add|k1', { topic: RPC, action: RPC_ACTION.ACCEPT, name: 'add', correlationId: 'k1' }],
  [
    'P|RES|add|k1|N3',
    { topic: RPC, action: RPC_ACTION.RESPONSE, name: 'add', correlationId: 'k1', data: '3' },
  ],
  [
    'P|E|no such thing|add|k1',
    {
      topic: RPC,
      action: RPC_ACTION.REQUEST_ERROR,
      name: 'add',
      correlationId: 'k1',
      data: '"no such thing"',
    },
  ],
  ['P|REJ|add|k1', { topic: RPC, action: RPC_ACTION.REJECT, name: 'add', correlationId: 'k1' }],
  // Presence.
  ['U|Q|Q', { topic: PRESENCE, action: PRESENCE_ACTION.QUERY_ALL }],
  [
    'U|Q|1|["a","b"]',
    { topic: PRESENCE, action: PRESENCE_ACTION.QUERY, correlationId: '1', names: ['a', 'b'] },
  ],
  ['U|S|S', { topic: PRESENCE, action: PRESENCE_ACTION.SUBSCRIBE_ALL }],
  ['U|US|US', { topic: PRESENCE, action: PRESENCE_ACTION.UNSUBSCRIBE_ALL }],
  [
    'U|S|2|["a"]',
    { topic: PRESENCE, action: PRESENCE_ACTION.SUBSCRIBE, correlationId: '2', names: ['a'] },
  ],
  [
    'U|US|3|["a","b"]',
    { topic: PRESENCE, action: PRESENCE_ACTION.UNSUBSCRIBE, correlationId: '3', names: ['a', 'b'] },
  ],
];

const SERVER_MESSAGES: [Message, string][] = [
  // Handshake, heartbeat, login.
  [{ topic: CONNECTION, action: CONNECTION_ACTION.CHALLENGE }, 'C|CH'],
  [{ topic: CONNECTION, action: CONNECTION_ACTION.ACCEPT }, 'C|A'],
  [{ topic: CONNECTION, action: CONNECTION_ACTION.REJECT }, 'C|REJ'],
  [
    { topic: CONNECTION, action: CONNECTION_ACTION.REDIRECT, url: 'wss://other/deepstream' },
    'C|RED|wss://other/deepstream',
  ],
  [{ topic: CONNECTION, action: CONNECTION_ACTION.PING }, 'C|PI'],
  [
    { topic: CONNECTION, action: CONNECTION_ACTION.AUTHENTICATION_TIMEOUT },
    'C|E|CONNECTION_AUTHENTICATION_TIMEOUT|Sconnection has not authenticated successfully in the expected time',
  ],
  [
    { topic: CONNECTION, action: CONNECTION_ACTION.INVALID_MESSAGE },
    'C|E|INVALID_MESSAGE|invalid connection message',
  ],
  [
    { topic: AUTH, action: AUTH_ACTION.AUTH_SUCCESSFUL, data: '{"id":"userA"}' },
    'A|A|O{"id":"userA"}',
  ],
  [{ topic: AUTH, action: AUTH_ACTION.AUTH_SUCCESSFUL }, 'A|A'],
  [
    { topic: AUTH, action: AUTH_ACTION.AUTH_UNSUCCESSFUL },
    'A|E|INVALID_AUTH_DATA|Sinvalid authentication data',
  ],
  [
    { topic: AUTH, action: AUTH_ACTION.AUTH_UNSUCCESSFUL, data: '{"reason":"expired"}' },
    'A|E|INVALID_AUTH_DATA|O{"reason":"expired"}',
  ],
  [
    { topic: AUTH, action: AUTH_ACTION.TOO_MANY_AUTH_ATTEMPTS },
    'A|E|TOO_MANY_AUTH_ATTEMPTS|Stoo many authentication attempts',
  ],
  [
    { topic: AUTH, action: AUTH_ACTION.INVALID_MESSAGE_DATA },
    'A|E|INVALID_AUTH_MSG|invalid authentication message',
  ],
  // Events.
  [
    { topic: EVENT, action: EVENT_ACTION.SUBSCRIBE, correlationId: 'news', isAck: true },
    'E|A|S|news',
  ],
  [
    { topic: EVENT, action: EVENT_ACTION.UNSUBSCRIBE, correlationId: 'news', isAck: true },
    'E|A|US|news',
  ],
  [
    { topic: EVENT, action: EVENT_ACTION.EMIT, name: 'news', data: '{"headline":"hi"}' },
    'E|EVT|news|O{"headline":"hi"}',
  ],
  [{ topic: EVENT, action: EVENT_ACTION.EMIT, name: 'news', data: '"str"' }, 'E|EVT|news|Sstr'],
  [{ topic: EVENT, action: EVENT_ACTION.EMIT, name: 'news', data: '42' }, 'E|EVT|news|N42'],
  [{ topic: EVENT, action: EVENT_ACTION.EMIT, name: 'news' }, 'E|EVT|news|U'],
  [{ topic: EVENT, action: EVENT_ACTION.LISTEN, name: 'news/.*', isAck: true }, 'E|A|L|news/.*'],
  [{ topic: EVENT, action: EVENT_ACTION.UNLISTEN, name: 'news/.*', isAck: true }, 'E|A|UL|news/.*'],
  [
    {
      topic: EVENT,
      action: EVENT_ACTION.SUBSCRIPTION_FOR_PATTERN_FOUND,
      name: 'news/.*',
      subscription: 'news/a',
    },
    'E|SP|news/.*|news/a',
  ],
  [
    {
      topic: EVENT,
      action: EVENT_ACTION.SUBSCRIPTION_FOR_PATTERN_REMOVED,
      name: 'news/.*',
      subscription: 'news/a',
    },
    'E|SR|news/.*|news/a',
  ],
  [
    {
      topic: EVENT,
      action: EVENT_ACTION.MESSAGE_DENIED,
      originalAction: EVENT_ACTION.SUBSCRIBE,
      name: 'news',
      isError: true,
      correlationId: 'news',
    },
    'E|E|MESSAGE_DENIED|news|S',
  ],
  [
    {
      topic: EVENT,
      action: EVENT_ACTION.MESSAGE_PERMISSION_ERROR,
      originalAction: EVENT_ACTION.EMIT,
      name: 'news',
      isError: true,
    },
    'E|E|MESSAGE_PERMISSION_ERROR|news|EVT',
  ],
  [
    {
      topic: EVENT,
      action: EVENT_ACTION.MULTIPLE_SUBSCRIPTIONS,
      originalAction: EVENT_ACTION.SUBSCRIBE,
      name: 'news',
    },
    'E|E|MULTIPLE_SUBSCRIPTIONS|news',
  ],
  [
    { topic: EVENT, action: EVENT_ACTION.INVALID_LISTEN_REGEX, name: '(' },
    'E|E|INVALID_LISTEN_REGEX|(',
  ],
  // Records.
  [
    {
      topic: RECORD,
      action: RECORD_ACTION.SUBSCRIBECREATEANDREAD,
      correlationId: 'rec1',
      isAck: true,
    },
    'R|A|S|rec1',
  ],
  [
    { topic: RECORD, action: RECORD_ACTION.READ_RESPONSE, name: 'rec1', version: 0, data: '{}' },
    'R|R|rec1|0|{}',
  ],
  [
    {
      topic: RECORD,
      action: RECORD_ACTION.UPDATE,
      name: 'rec1',
      version: 1,
      data: '{"a":1,"nested":{"b":2}}',
    },
    'R|U|rec1|1|{"a":1,"nested":{"b":2}}',
  ],
  [
    {
      topic: RECORD,
      action: RECORD_ACTION.PATCH,
      name: 'rec1',
      version: 2,
      path: 'nested.b',
      data: '3',
    },
    'R|P|rec1|2|nested.b|N3',
  ],
  [
    { topic: RECORD, action: RECORD_ACTION.PATCH, name: 'rec1', version: 4, path: 'nested' },
    'R|P|rec1|4|nested|U',
  ],
  [
    { topic: RECORD, action: RECORD_ACTION.ERASE, name: 'rec1', version: 4, path: 'nested' },
    'R|P|rec1|4|nested|U',
  ],
  [
    {
      topic: RECORD,
      action: RECORD_ACTION.WRITE_ACKNOWLEDGEMENT,
      name: 'rec1',
      correlationId: '3',
      isWriteAck: true,
    },
    'R|WA|rec1|[3]|L',
  ],
  [
    {
      topic: RECORD,
      action: RECORD_ACTION.RECORD_UPDATE_ERROR,
      originalAction: RECORD_ACTION.UPDATE,
      name: 'rec1',
      correlationId: '4',
      isWriteAck: true,
      isError: true,
    },
    'R|E|RECORD_UPDATE_ERROR|rec1+R|WA|rec1|[4]|SRECORD_UPDATE_ERROR',
  ],
  [
    {
      topic: RECORD,
      action: RECORD_ACTION.VERSION_EXISTS,
      originalAction: RECORD_ACTION.UPDATE,
      name: 'rec1',
      version: 5,
      data: '{"x":1}',
      isError: true,
    },
    'R|E|VERSION_EXISTS|rec1|5|{"x":1}',
  ],
  [
    { topic: RECORD, action: RECORD_ACTION.UNSUBSCRIBE, correlationId: 'rec1', isAck: true },
    'R|A|US|rec1',
  ],
  [{ topic: RECORD, action: RECORD_ACTION.DELETE_SUCCESS, name: 'rec1' }, 'R|A|D|rec1'],
  [{ topic: RECORD, action: RECORD_ACTION.DELETED, name: 'rec1' }, 'R|A|D|rec1'],
  [
    {
      topic: RECORD,
      action: RECORD_ACTION.RECORD_NOT_FOUND,
      originalAction: RECORD_ACTION.READ,
      name: 'rec2',
      isError: true,
    },
    'R|E|SN|rec2|RECORD_NOT_FOUND',
  ],
  [
    {
      topic: RECORD,
      action: RECORD_ACTION.MESSAGE_DENIED,
      originalAction: RECORD_ACTION.READ,
      name: 'rec2',
      isError: true,
    },
    'R|E|MESSAGE_DENIED|rec2|SN+R|E|SN|rec2|MESSAGE_DENIED',
  ],
  [
    {
      topic: RECORD,
      action: RECORD_ACTION.MESSAGE_DENIED,
      originalAction: RECORD_ACTION.HEAD,
      name: 'rec2',
      correlationId: 'H',
      isError: true,
    },
    'R|E|MESSAGE_DENIED|rec2|H+R|E|H|rec2|MESSAGE_DENIED',
  ],
  [
    {
      topic: RECORD,
      action: RECORD_ACTION.RECORD_LOAD_ERROR,
      originalAction: RECORD_ACTION.HEAD,
      name: 'rec2',
      correlationId: 'HD',
      isError: true,
    },
    'R|E|RECORD_LOAD_ERROR|rec2+R|E|HD|rec2|RECORD_LOAD_ERROR',
  ],
  [
    {
      topic: RECORD,
      action: RECORD_ACTION.MESSAGE_DENIED,
      originalAction: RECORD_ACTION.SUBSCRIBECREATEANDREAD,
      name: 'rec9',
      correlationId: 'rec9',
      isError: true,
    },
    'R|E|MESSAGE_DENIED|rec9|CR',
  ],
  [{ topic: RECORD, action: RECORD_ACTION.HEAD_RESPONSE, name: 'rec3', version: 2 }, 'R|HD|rec3|2'],
  [
    {
      topic: RECORD,
      action: RECORD_ACTION.HEAD_RESPONSE,
      name: 'rec3',
      version: 2,
      correlationId: 'H',
    },
    'R|H|rec3|T',
  ],
  [
    {
      topic: RECORD,
      action: RECORD_ACTION.HEAD_RESPONSE,
      name: 'rec3',
      version: -1,
      correlationId: 'H',
    },
    'R|H|rec3|F',
  ],
  [{ topic: RECORD, action: RECORD_ACTION.SUBSCRIPTION_HAS_PROVIDER, name: 'rec1' }, 'R|SH|rec1|T'],
  [
    { topic: RECORD, action: RECORD_ACTION.SUBSCRIPTION_HAS_NO_PROVIDER, name: 'rec1' },
    'R|SH|rec1|F',
  ],
  [{ topic: RECORD, action: RECORD_ACTION.LISTEN, name: 'rec/.*', isAck: true }, 'R|A|L|rec/.*'],
  [
    {
      topic: RECORD,
      action: RECORD_ACTION.SUBSCRIPTION_FOR_PATTERN_FOUND,
      name: 'rec/.*',
      subscription: 'rec/a',
    },
    'R|SP|rec/.*|rec/a',
  ],
  [
    {
      topic: RECORD,
      action: RECORD_ACTION.SUBSCRIPTION_FOR_PATTERN_REMOVED,
      name: 'rec/.*',
      subscription: 'rec/a',
    },
    'R|SR|rec/.*|rec/a',
  ],
  // RPC.
  [{ topic: RPC, action: RPC_ACTION.PROVIDE, correlationId: 'add', isAck: true }, 'P|A|S|add'],
  [{ topic: RPC, action: RPC_ACTION.UNPROVIDE, correlationId: 'add', isAck: true }, 'P|A|US|add'],
  [
    {
      topic: RPC,
      action: RPC_ACTION.REQUEST,
      name: 'add',
      correlationId: 'k1',
      data: '{"a":1,"b":2}',
      requestorName: 'userA',
    },
    'P|REQ|add|k1|O{"a":1,"b":2}',
  ],
  [{ topic: RPC, action: RPC_ACTION.ACCEPT, name: 'add', correlationId: 'k1' }, 'P|A|REQ|add|k1'],
  [
    { topic: RPC, action: RPC_ACTION.RESPONSE, name: 'add', correlationId: 'k1', data: '3' },
    'P|RES|add|k1|N3',
  ],
  [
    {
      topic: RPC,
      action: RPC_ACTION.REQUEST_ERROR,
      name: 'add',
      correlationId: 'k1',
      data: '"no such thing"',
    },
    'P|E|no such thing|add|k1',
  ],
  [
    { topic: RPC, action: RPC_ACTION.NO_RPC_PROVIDER, name: 'missing', correlationId: 'k2' },
    'P|E|NO_RPC_PROVIDER|missing|k2',
  ],
  [
    { topic: RPC, action: RPC_ACTION.ACCEPT_TIMEOUT, name: 'add', correlationId: 'k3' },
    'P|E|ACCEPT_TIMEOUT|add|k3',
  ],
  [
    { topic: RPC, action: RPC_ACTION.RESPONSE_TIMEOUT, name: 'add', correlationId: 'k3' },
    'P|E|RESPONSE_TIMEOUT|add|k3',
  ],
  [
    {
      topic: RPC,
      action: RPC_ACTION.MESSAGE_DENIED,
      originalAction: RPC_ACTION.REQUEST,
      name: 'add',
      correlationId: 'k4',
      isError: true,
    },
    'P|E|MESSAGE_DENIED|add|REQ|k4',
  ],
  [
    {
      topic: RPC,
      action: RPC_ACTION.MESSAGE_DENIED,
      originalAction: RPC_ACTION.PROVIDE,
      name: 'add',
      correlationId: 'add',
      isError: true,
    },
    'P|E|MESSAGE_DENIED|add|S',
  ],
  // Presence.
  [
    { topic: PRESENCE, action: PRESENCE_ACTION.QUERY_ALL_RESPONSE, names: ['u1', 'u2'] },
    'U|Q|u1|u2',
  ],
  [{ topic: PRESENCE, action: PRESENCE_ACTION.QUERY_ALL_RESPONSE }, 'U|Q'],
  [
    {
      topic: PRESENCE,
      action: PRESENCE_ACTION.QUERY_RESPONSE,
      correlationId: '1',
      data: '{"a":true,"b":false}',
    },
    'U|Q|1|{"a":true,"b":false}',
  ],
  [{ topic: PRESENCE, action: PRESENCE_ACTION.SUBSCRIBE_ALL, isAck: true }, 'U|A|S|S'],
  [{ topic: PRESENCE, action: PRESENCE_ACTION.UNSUBSCRIBE_ALL, isAck: true }, 'U|A|US|US'],
  [
    { topic: PRESENCE, action: PRESENCE_ACTION.SUBSCRIBE, correlationId: '2', isAck: true },
    'U|A|S|2',
  ],
  [
    { topic: PRESENCE, action: PRESENCE_ACTION.UNSUBSCRIBE, correlationId: '3', isAck: true },
    'U|A|US|3',
  ],
  [{ topic: PRESENCE, action: PRESENCE_ACTION.PRESENCE_JOIN, name: 'u1' }, 'U|PNJ|u1'],
  [{ topic: PRESENCE, action: PRESENCE_ACTION.PRESENCE_JOIN_ALL, name: 'u1' }, 'U|PNJ|u1'],
  [{ topic: PRESENCE, action: PRESENCE_ACTION.PRESENCE_LEAVE, name: 'u1' }, 'U|PNL|u1'],
  [{ topic: PRESENCE, action: PRESENCE_ACTION.PRESENCE_LEAVE_ALL, name: 'u1' }, 'U|PNL|u1'],
  [
    {
      topic: PRESENCE,
      action: PRESENCE_ACTION.MESSAGE_DENIED,
      originalAction: PRESENCE_ACTION.SUBSCRIBE,
      name: 'u1',
      correlationId: '2',
      isError: true,
    },
    'U|E|MESSAGE_DENIED|u1|S',
  ],
  [
    {
      topic: PRESENCE,
      action: PRESENCE_ACTION.MESSAGE_DENIED,
      originalAction: PRESENCE_ACTION.QUERY_ALL,
      isError: true,
    },
    'U|E|MESSAGE_DENIED|Q|Q',
  ],
  // Parser errors are the 2.x client's error topic X.
  [
    { topic: TOPIC.PARSER, action: PARSER_ACTION.MESSAGE_PARSE_ERROR, data: '"bad message"' },
    'X|E|MESSAGE_PARSE_ERROR|bad message',
  ],
  [{ topic: TOPIC.PARSER, action: PARSER_ACTION.UNKNOWN_TOPIC }, 'X|E|UNKNOWN_TOPIC'],
];

describe('text codec', () => {
  it.each(CLIENT_MESSAGES)('decodes %s', (text, message) => {
    expect(decodeTextFrame(t(`${text}+`))).toEqual([{ ok: true, message }]);
    // The client ends every message with the separator; a last one without it reads the same.
    expect(decodeTextFrame(t(text))).toEqual([{ ok: true, message }]);
  });

  it.each(SERVER_MESSAGES.map(([message, text]) => [text, message] as const))(
    'encodes %s',
    (text, message) => {
      const frame = encodeTextMessage(message);
      expect(frame).toBe(t(`${text}+`));
      parse2x(frame as string);
    },
  );

  it('decodes a frame of many messages in order, as the 2.x client batches them', () => {
    const frame = t(CLIENT_MESSAGES.map(([text]) => `${text}+`).join(''));
    const results = decodeTextFrame(frame, { maxMessages: CLIENT_MESSAGES.length });
    expect(results).toEqual(CLIENT_MESSAGES.map(([, message]) => ({ ok: true, message })));
  });

  it('batches replies into frames the 2.x client reads as one', () => {
    const batch = new TextBatch({ maxChars: 40, maxMessages: 3 });
    const texts = SERVER_MESSAGES.slice(13, 20).map(
      ([message]) => encodeTextMessage(message) as string,
    );
    const frames: string[] = [];
    for (const text of texts) {
      const full = batch.add(text);
      if (full !== null) frames.push(full);
    }
    const last = batch.take();
    if (last !== null) frames.push(last);
    expect(batch.take()).toBeNull();
    expect(frames.join('')).toBe(texts.join(''));
    for (const frame of frames) {
      // Within the limits unless one message alone is longer.
      const count = frame.split('\x1e').length - 1;
      expect(count).toBeLessThanOrEqual(3);
      if (count > 1) expect(frame.length).toBeLessThanOrEqual(40);
    }
    expect(frames.length).toBeGreaterThan(1);
    expect(parse2x(frames.join('')).map((m) => m?.action)).toEqual([
      'A',
      'A',
      'EVT',
      'EVT',
      'EVT',
      'EVT',
      'A',
    ]);
    expect(encodeTextFrame(SERVER_MESSAGES.slice(0, 3).map(([message]) => message))).toBe(
      t('C|CH+C|A+C|REJ+'),
    );
  });

  it('round-trips typed values through JSON', () => {
    const values = [
      'S',
      'Sa b',
      'O{"a":[1,{"b":null}]}',
      'O[]',
      'O"x"',
      'N0',
      'N-1.25',
      'N1e+21',
      'T',
      'F',
      'L',
      'U',
    ];
    for (const typed of values) {
      const json = typedToJson(typed);
      expect(json.ok).toBe(true);
      if (!json.ok) continue;
      const back = jsonToTyped(json.json);
      expect(back === null ? null : typedToJson(back)).toEqual(json);
    }
    // A string holding a separator cannot be a part: it travels as JSON.
    expect(jsonToTyped(JSON.stringify('a\x1fb'))).toBe('O"a\\u001fb"');
    expect(typedToJson('NNaN')).toEqual({ ok: true, json: 'null' });
  });

  it('answers has and head in the form each was asked, remembering the order when not told', () => {
    const state = new TextConnectionState();
    decodeTextFrame(t('R|H|a+R|HD|a+R|HD|b+'), { state });
    expect(state.pendingHeads).toBe(3);
    const response = (name: string, version: number): Message => ({
      topic: RECORD,
      action: RECORD_ACTION.HEAD_RESPONSE,
      name,
      version,
    });
    expect(encodeTextMessage(response('a', 3), state)).toBe(t('R|H|a|T+'));
    expect(encodeTextMessage(response('b', -1), state)).toBe(t('R|HD|b|-1+'));
    // An answer that echoes the form is taken at its word, and forgets that request.
    expect(encodeTextMessage({ ...response('a', 3), correlationId: 'HD' }, state)).toBe(
      t('R|HD|a|3+'),
    );
    expect(state.pendingHeads).toBe(0);
  });
});
