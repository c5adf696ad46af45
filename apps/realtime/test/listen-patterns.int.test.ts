import { EVENT_ACTION, type Message, RECORD_ACTION, TOPIC } from '@hubstream/protocol';
import { connectWire } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOW_ALL, nextError, nextValue, type Stack, startStack } from './harness.ts';

// Listen patterns run under Valve's regex policy (RE2, length and size
// caps) and match anywhere in a name, as deepstream's `RegExp#test` does.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('listen patterns match anywhere in the name', () => {
  it('offers weather/london to a listener on the prefix weather/ (official client)', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'provider' });
    const subscriber = await stack.client(appId, { username: 'subscriber' });
    const found = nextValue<string>((resolve) =>
      provider.event.listen('weather/', (name, response) => {
        response.accept();
        resolve(name);
      }),
    );
    const middle = nextValue<string>((resolve) =>
      provider.record.listen('london', (name, response) => {
        response.reject();
        resolve(name);
      }),
    );
    // Either order works: a new listen is offered the names already subscribed.
    subscriber.event.subscribe('weather/london', () => {});
    subscriber.record.getRecord('cities/london/today');
    expect(await found).toBe('weather/london');
    expect(await middle).toBe('cities/london/today');
  });

  it('still honours anchors: ^weather$ does not see weather/london', async () => {
    const appId = await stack.createApp();
    const url = `${stack.realtimeUrl}/${appId}`;
    const listener = await connectWire(url, 'listener');
    const subscriber = await connectWire(url, 'subscriber');
    for (const pattern of ['^weather$', 'london$']) {
      listener.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.LISTEN, name: pattern });
      await listener.next((m) => m.isAck === true && m.name === pattern);
    }
    subscriber.send({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: ['weather/london'],
      correlationId: '1',
    });
    const offer = await listener.next(
      (m) => m.action === EVENT_ACTION.SUBSCRIPTION_FOR_PATTERN_FOUND,
    );
    expect(offer).toMatchObject({ name: 'london$', subscription: 'weather/london' });
    await listener.sync();
    expect(
      listener.received.filter((m) => m.action === EVENT_ACTION.SUBSCRIPTION_FOR_PATTERN_FOUND),
    ).toHaveLength(1);
  });
});

describe('invalid and oversized patterns', () => {
  const refused: [string, string][] = [
    ['a syntax error', 'weather/('],
    ['a lookahead (no linear-time engine runs it)', 'weather(?=/)'],
    ['a backreference', '(a)\\1'],
    ['too long (over 1024 characters)', `^${'a'.repeat(1024)}`],
    ['too big once compiled (a{1000})', 'a{1000}'],
  ];

  it.each(refused)(
    'refuses %s with INVALID_LISTEN_REGEX naming it, and holds nothing',
    async (_what, pattern) => {
      const appId = await stack.createApp();
      const wire = await connectWire(`${stack.realtimeUrl}/${appId}`, 'listener');
      for (const [topic, listen, invalid] of [
        [TOPIC.EVENT, EVENT_ACTION.LISTEN, EVENT_ACTION.INVALID_LISTEN_REGEX],
        [TOPIC.RECORD, RECORD_ACTION.LISTEN, RECORD_ACTION.INVALID_LISTEN_REGEX],
      ] as const) {
        const from = wire.received.length;
        wire.send({ topic, action: listen, name: pattern });
        await wire.sync();
        const replies = wire.received.slice(from).filter((m: Message) => m.topic === topic);
        expect(replies).toMatchObject([{ action: invalid, name: pattern, isError: true }]);
      }
      const runtime = (await stack.runtime(appId))!;
      expect([...runtime.events.listeners.listenersOf()]).toEqual([]);
      expect([...runtime.records.listeners.listenersOf()]).toEqual([]);
    },
  );

  it('refuses a pattern over the length cap before any rule reads it', async () => {
    // Rules that deny every LISTEN: a pattern they read is MESSAGE_DENIED.
    const appId = await stack.createApp({
      permissions: ALLOW_ALL.replaceAll('listen: true', 'listen: false'),
    });
    const wire = await connectWire(`${stack.realtimeUrl}/${appId}`, 'listener');
    const huge = `^lit/${'y'.repeat(200_000)}`;
    for (const [topic, listen, invalid, denied] of [
      [
        TOPIC.EVENT,
        EVENT_ACTION.LISTEN,
        EVENT_ACTION.INVALID_LISTEN_REGEX,
        EVENT_ACTION.MESSAGE_DENIED,
      ],
      [
        TOPIC.RECORD,
        RECORD_ACTION.LISTEN,
        RECORD_ACTION.INVALID_LISTEN_REGEX,
        RECORD_ACTION.MESSAGE_DENIED,
      ],
    ] as const) {
      const from = wire.received.length;
      wire.send({ topic, action: listen, name: huge });
      wire.send({ topic, action: listen, name: '^short/' });
      await wire.sync();
      const replies = wire.received.slice(from).filter((m: Message) => m.topic === topic);
      expect(replies.map((m) => [m.action, m.name])).toEqual([
        [invalid, huge],
        [denied, '^short/'],
      ]);
    }
  });

  it('reports the refused pattern to the official client by name', async () => {
    const appId = await stack.createApp();
    const client = await stack.client(appId, { username: 'listener' });
    const error = nextError(client, 'INVALID_LISTEN_REGEX');
    client.event.listen('weather/(', () => {});
    const { meta } = await error;
    expect(meta).toMatchObject({ name: 'weather/(' });
  });
});
