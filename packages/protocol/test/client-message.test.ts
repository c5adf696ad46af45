import { describe, expect, it } from 'vitest';
import {
  checkClientMessage,
  decodeFrame,
  decodeTextFrame,
  EVENT_ACTION,
  encodeMessage,
  type Message,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
} from '../src/index.ts';
import { t } from './text-helpers.ts';

// The edge check (client-message.ts): every action a client sends, well
// formed and then missing each field its action requires.

const E = TOPIC.EVENT;
const R = TOPIC.RECORD;
const P = TOPIC.RPC;
const U = TOPIC.PRESENCE;

/** Well-formed messages of every client action. */
const VALID: Message[] = [
  { topic: E, action: EVENT_ACTION.EMIT, name: 'e' },
  { topic: E, action: EVENT_ACTION.EMIT, name: 'e', data: '1' },
  { topic: E, action: EVENT_ACTION.SUBSCRIBE, names: ['e'], correlationId: '1' },
  { topic: E, action: EVENT_ACTION.UNSUBSCRIBE, names: ['e'] },
  { topic: E, action: EVENT_ACTION.UNSUBSCRIBE },
  { topic: E, action: EVENT_ACTION.LISTEN, name: 'e/.*' },
  { topic: E, action: EVENT_ACTION.UNLISTEN, name: 'e/.*' },
  { topic: E, action: EVENT_ACTION.LISTEN_ACCEPT, name: 'e/.*', subscription: 'e/1' },
  { topic: E, action: EVENT_ACTION.LISTEN_REJECT, name: 'e/.*', subscription: 'e/1' },
  { topic: R, action: RECORD_ACTION.SUBSCRIBECREATEANDREAD, names: ['r'], correlationId: '1' },
  { topic: R, action: RECORD_ACTION.SUBSCRIBEANDREAD, names: ['r'] },
  { topic: R, action: RECORD_ACTION.SUBSCRIBEANDHEAD, names: ['r', 's'] },
  { topic: R, action: RECORD_ACTION.UNSUBSCRIBE, names: ['r'] },
  { topic: R, action: RECORD_ACTION.NOTIFY, names: ['r'], correlationId: '1' },
  { topic: R, action: RECORD_ACTION.READ, name: 'r' },
  { topic: R, action: RECORD_ACTION.HEAD, name: 'r' },
  { topic: R, action: RECORD_ACTION.DELETE, name: 'r', correlationId: '1' },
  { topic: R, action: RECORD_ACTION.LISTEN, name: 'r/.*' },
  { topic: R, action: RECORD_ACTION.UNLISTEN, name: 'r/.*' },
  { topic: R, action: RECORD_ACTION.LISTEN_ACCEPT, name: 'r/.*', subscription: 'r/1' },
  { topic: R, action: RECORD_ACTION.UPDATE, name: 'r', version: 1, data: '{}' },
  { topic: R, action: RECORD_ACTION.UPDATE, name: 'r', version: -1, data: '{}', path: '' },
  {
    topic: R,
    action: RECORD_ACTION.CREATEANDUPDATE,
    name: 'r',
    version: -1,
    data: '{}',
    isWriteAck: true,
    correlationId: '2',
  },
  { topic: R, action: RECORD_ACTION.PATCH, name: 'r', version: 2, path: 'a', data: '1' },
  { topic: R, action: RECORD_ACTION.CREATEANDPATCH, name: 'r', version: -1, path: 'a', data: '1' },
  { topic: R, action: RECORD_ACTION.ERASE, name: 'r', version: 3, path: 'a' },
  { topic: P, action: RPC_ACTION.PROVIDE, names: ['f'], correlationId: '1' },
  { topic: P, action: RPC_ACTION.UNPROVIDE, names: ['f'] },
  { topic: P, action: RPC_ACTION.REQUEST, name: 'f', correlationId: 'c', data: '1' },
  { topic: P, action: RPC_ACTION.ACCEPT, name: 'f', correlationId: 'c' },
  { topic: P, action: RPC_ACTION.RESPONSE, name: 'f', correlationId: 'c', data: '2' },
  { topic: P, action: RPC_ACTION.REQUEST_ERROR, name: 'f', correlationId: 'c', data: '"x"' },
  { topic: P, action: RPC_ACTION.REJECT, name: 'f', correlationId: 'c' },
  { topic: U, action: PRESENCE_ACTION.SUBSCRIBE, names: ['u'], correlationId: '1' },
  { topic: U, action: PRESENCE_ACTION.UNSUBSCRIBE, names: ['u'] },
  { topic: U, action: PRESENCE_ACTION.SUBSCRIBE_ALL },
  { topic: U, action: PRESENCE_ACTION.UNSUBSCRIBE_ALL },
  { topic: U, action: PRESENCE_ACTION.QUERY_ALL },
  { topic: U, action: PRESENCE_ACTION.QUERY, correlationId: '1', names: ['u'] },
  { topic: TOPIC.CONNECTION, action: 1 },
  { topic: TOPIC.AUTH, action: 1, data: '{}' },
];

/** Fields each action requires: without any of them, the message is refused. */
const REQUIRED: Record<number, Record<number, (keyof Message)[]>> = {
  [E]: {
    [EVENT_ACTION.EMIT]: ['name'],
    [EVENT_ACTION.SUBSCRIBE]: ['names'],
    [EVENT_ACTION.LISTEN]: ['name'],
    [EVENT_ACTION.UNLISTEN]: ['name'],
  },
  [R]: {
    [RECORD_ACTION.SUBSCRIBEANDREAD]: ['names'],
    [RECORD_ACTION.UNSUBSCRIBE]: ['names'],
    [RECORD_ACTION.NOTIFY]: ['names'],
    [RECORD_ACTION.READ]: ['name'],
    [RECORD_ACTION.DELETE]: ['name'],
    [RECORD_ACTION.LISTEN]: ['name'],
    [RECORD_ACTION.UPDATE]: ['name', 'version', 'data'],
    [RECORD_ACTION.PATCH]: ['name', 'version', 'path', 'data'],
    [RECORD_ACTION.ERASE]: ['name', 'version', 'path'],
  },
  [P]: {
    [RPC_ACTION.PROVIDE]: ['names'],
    [RPC_ACTION.REQUEST]: ['name', 'correlationId'],
    [RPC_ACTION.RESPONSE]: ['correlationId'],
    [RPC_ACTION.REJECT]: ['correlationId'],
  },
  [U]: {
    [PRESENCE_ACTION.SUBSCRIBE]: ['names'],
    [PRESENCE_ACTION.QUERY]: ['correlationId'],
  },
};

const INVALID_ACTION: Record<number, number> = {
  [E]: EVENT_ACTION.INVALID_MESSAGE_DATA,
  [R]: RECORD_ACTION.INVALID_MESSAGE_DATA,
  [P]: RPC_ACTION.INVALID_MESSAGE_DATA,
  [U]: PRESENCE_ACTION.INVALID_PRESENCE_USERS,
};

describe('client messages checked at the edge', () => {
  it('passes every well-formed client action as it is (no copy)', () => {
    for (const message of VALID) {
      const checked = checkClientMessage(message);
      expect(checked, JSON.stringify(message)).toEqual({ ok: true, message });
      if (checked.ok) expect(checked.message).toBe(message);
    }
  });

  it('refuses a message missing any required field with its topic invalid reply', () => {
    let cases = 0;
    for (const message of VALID) {
      for (const field of REQUIRED[message.topic]?.[message.action] ?? []) {
        const broken: Message = { ...message };
        delete broken[field];
        const checked = checkClientMessage(broken);
        expect(checked.ok, `${JSON.stringify(broken)} without ${field}`).toBe(false);
        if (checked.ok) continue;
        expect(checked.reply).toMatchObject({
          topic: message.topic,
          action: INVALID_ACTION[message.topic],
          originalAction: message.action,
          isError: true,
        });
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(20);
  });

  it('refuses empty names, empty name lists and wrong types', () => {
    const refused: Message[] = [
      { topic: E, action: EVENT_ACTION.EMIT, name: '' },
      { topic: E, action: EVENT_ACTION.SUBSCRIBE, names: [] },
      { topic: R, action: RECORD_ACTION.SUBSCRIBEANDREAD, names: ['r', ''] },
      { topic: R, action: RECORD_ACTION.UPDATE, name: 'r', version: -2, data: '{}' },
      { topic: R, action: RECORD_ACTION.UPDATE, name: 'r', version: 1, data: '{}', path: 'a' },
      { topic: P, action: RPC_ACTION.REQUEST, name: 'f', correlationId: '' },
      { topic: U, action: PRESENCE_ACTION.UNSUBSCRIBE, names: [] },
      { topic: E, action: EVENT_ACTION.EMIT, name: 7 as unknown as string },
      {
        topic: R,
        action: RECORD_ACTION.PATCH,
        name: 'r',
        version: '1' as unknown as number,
        path: 'a',
        data: '1',
      },
    ];
    for (const message of refused) {
      expect(checkClientMessage(message).ok, JSON.stringify(message)).toBe(false);
    }
  });

  it('answers as the handlers did: the name, correlation id and write-ack flag echoed', () => {
    const write: Message = {
      topic: R,
      action: RECORD_ACTION.PATCH,
      name: 'r',
      version: 1,
      data: '1',
      isWriteAck: true,
      correlationId: '9',
    };
    expect(checkClientMessage(write)).toEqual({
      ok: false,
      reply: {
        topic: R,
        action: RECORD_ACTION.INVALID_MESSAGE_DATA,
        originalAction: RECORD_ACTION.PATCH,
        isError: true,
        name: 'r',
        correlationId: '9',
        isWriteAck: true,
      },
    });
    // An action the topic does not have: no name (events), as the handlers' default.
    expect(checkClientMessage({ topic: E, action: 99, name: 'x' })).toEqual({
      ok: false,
      reply: {
        topic: E,
        action: EVENT_ACTION.INVALID_MESSAGE_DATA,
        originalAction: 99,
        isError: true,
      },
    });
    expect(checkClientMessage({ topic: U, action: 99, correlationId: '3' })).toEqual({
      ok: false,
      reply: {
        topic: U,
        action: PRESENCE_ACTION.INVALID_PRESENCE_USERS,
        originalAction: 99,
        correlationId: '3',
        isError: true,
      },
    });
  });

  it('decodeFrame and decodeTextFrame refuse the same way; anyTopic reads unchecked', () => {
    const frame = encodeMessage({ topic: P, action: RPC_ACTION.REQUEST, name: 'f' });
    expect(decodeFrame(frame)).toMatchObject({
      ok: false,
      reason: 'INVALID_MESSAGE',
      topic: P,
      message: { name: 'f' },
      reply: { action: RPC_ACTION.INVALID_MESSAGE_DATA, name: 'f' },
    });
    expect(decodeFrame(frame, { anyTopic: true })).toMatchObject({ ok: true });
    const [emit] = decodeTextFrame(t('E|EVT||S1+'));
    expect(emit).toMatchObject({
      ok: false,
      reason: 'INVALID_MESSAGE',
      reply: { topic: E, action: EVENT_ACTION.INVALID_MESSAGE_DATA, name: '' },
    });
    expect(decodeTextFrame(t('E|EVT|a|S1+'))).toEqual([
      { ok: true, message: { topic: E, action: EVENT_ACTION.EMIT, name: 'a', data: '"1"' } },
    ]);
  });
});
