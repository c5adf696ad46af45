import {
  EVENT_ACTION,
  type Message,
  PRESENCE_ACTION,
  RPC_ACTION,
  TOPIC,
} from '@hubstream/protocol';
import { connectWire, until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextError, type Stack, startStack } from './harness.ts';

// A denial names what it refuses (ERROR_CODES.md "Denials"): the name and,
// where the request had one, its correlation id, so the official client can
// tell which call failed and undo exactly that one.

const RULES = `record:
  "*":
    create: false
    read: false
  "open/*":
    create: true
    read: true
    write: true
event:
  "*":
    publish: false
    subscribe: false
  "open/*":
    publish: true
    subscribe: true
rpc:
  "*":
    provide: false
    request: false
  "open/*":
    provide: true
    request: true
presence:
  "*":
    allow: name != 'hidden'
`;

let stack: Stack;
let appId: string;
beforeAll(async () => {
  stack = await startStack();
  appId = await stack.createApp({ permissions: RULES });
});
afterAll(async () => {
  await stack?.close();
});

describe('denials name the refused call for the official client', () => {
  it('record: the error carries the record name', async () => {
    const client = await stack.client(appId, { username: 'reader' });
    const error = nextError(client, 'MESSAGE_DENIED');
    client.record.getRecord('secret/plans');
    const { topic, meta } = await error;
    expect(topic).toBe('RECORD');
    expect(meta).toMatchObject({ name: 'secret/plans' });
  });

  it('rpc: a denied make() rejects that call only; a denied provide names the rpc', async () => {
    const client = await stack.client(appId, { username: 'caller' });
    const provided = nextError(client, 'MESSAGE_DENIED');
    client.rpc.provide('secret/rpc', () => {});
    expect((await provided).meta).toMatchObject({ name: 'secret/rpc' });
    const denied = client.rpc.make('secret/add', 1);
    await expect(denied).rejects.toBe('MESSAGE_DENIED');
  });

  it('presence: the error carries the user refused', async () => {
    const client = await stack.client(appId, { username: 'watcher' });
    const error = nextError(client, 'MESSAGE_DENIED');
    client.presence.subscribe('hidden', () => {});
    expect((await error).meta).toMatchObject({ name: 'hidden' });
  });

  it('event: a denied subscription is dropped by name, the others in its batch stay', async () => {
    const client = await stack.client(appId, { username: 'listener' });
    const error = nextError(client, 'MESSAGE_DENIED');
    // Both go out in one SUBSCRIBE (the client batches within 100 ms).
    client.event.subscribe('open/news', () => {});
    client.event.subscribe('secret/news', () => {});
    await error;
    await until(() => !client.event.eventNames().includes('secret/news'), 'the drop');
    expect(client.event.eventNames()).toEqual(['open/news']);
    const runtime = (await stack.runtime(appId))!;
    await until(() => runtime.events.subscriptions.count('open/news') === 1, 'ack');
  });
});

describe('denials on the wire', () => {
  const cases: [string, Message, Partial<Message>[]][] = [
    [
      'event EMIT',
      { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'secret/e', data: '1' },
      [{ action: EVENT_ACTION.MESSAGE_DENIED, name: 'secret/e' }],
    ],
    [
      'event SUBSCRIBE, name by name',
      {
        topic: TOPIC.EVENT,
        action: EVENT_ACTION.SUBSCRIBE,
        names: ['secret/a', 'open/b', 'secret/c'],
        correlationId: '4',
      },
      [
        { action: EVENT_ACTION.MESSAGE_DENIED, name: 'secret/a', correlationId: '4' },
        { action: EVENT_ACTION.MESSAGE_DENIED, name: 'secret/c', correlationId: '4' },
        { action: EVENT_ACTION.SUBSCRIBE, isAck: true, correlationId: '4' },
      ],
    ],
    [
      'rpc REQUEST',
      {
        topic: TOPIC.RPC,
        action: RPC_ACTION.REQUEST,
        name: 'secret/r',
        correlationId: '9',
        data: '1',
      },
      [{ action: RPC_ACTION.MESSAGE_DENIED, name: 'secret/r', correlationId: '9' }],
    ],
    [
      'presence QUERY',
      {
        topic: TOPIC.PRESENCE,
        action: PRESENCE_ACTION.QUERY,
        names: ['hidden'],
        correlationId: '5',
      },
      [{ action: PRESENCE_ACTION.MESSAGE_DENIED, name: 'hidden', correlationId: '5' }],
    ],
  ];

  it.each(cases)(
    '%s: MESSAGE_DENIED with the original action, name and correlation id',
    async (_what, message, expected) => {
      const wire = await connectWire(`${stack.realtimeUrl}/${appId}`, 'raw');
      const from = wire.received.length;
      wire.send(message);
      await wire.sync();
      const replies = wire.received.slice(from).filter((m) => m.topic === message.topic);
      expect(replies).toMatchObject(
        expected.map((e) =>
          e.isAck ? e : { ...e, originalAction: message.action, isError: true },
        ),
      );
      await wire.close();
    },
  );

  it('a rate-limited bulk SUBSCRIBE is denied name by name, never without a name', async () => {
    const limited = await stack.createApp({ permissions: RULES });
    await stack.api('PUT', `/v1/apps/${limited}/limits`, { connectionMessagesPerSecond: 1 });
    const wire = await connectWire(`${stack.realtimeUrl}/${limited}`, 'fast');
    const runtime = (await stack.runtime(limited))!;
    await until(() => runtime.limiter.limits.connectionMessagesPerSecond === 1, 'the limit');
    const subscribe = (names: string[], correlationId: string): Message => ({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names,
      correlationId,
    });
    wire.send(subscribe(['open/1'], '1'));
    wire.send(subscribe(['open/2', 'open/3'], '2'));
    await wire.sync();
    const denials = wire.received.filter((m) => m.action === EVENT_ACTION.MESSAGE_DENIED);
    expect(denials.map((m) => [m.name, m.correlationId])).toEqual([
      ['open/2', '2'],
      ['open/3', '2'],
    ]);
  });
});
