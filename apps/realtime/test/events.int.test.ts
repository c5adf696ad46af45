import { readFileSync } from 'node:fs';
import type { DeepstreamClient } from '@deepstream/client';
import { EVENT_ACTION, PARSER_ACTION, TOPIC } from '@hubstream/protocol';
import { busyFor, connectWire, openWire, until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOW_ALL, nextError, nextValue, type Stack, startStack } from './harness.ts';

const SEED = readFileSync(
  new URL('../../../../shared/fixtures/seed-permissions.yml', import.meta.url),
  'utf8',
);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

async function subscribed(appId: string, name: string, count: number) {
  const runtime = (await stack.runtime(appId))!;
  await until(() => runtime.events.subscriptions.count(name) === count, `${count} on ${name}`);
}

/** The typings want a callback; the client also drops every callback of the name without one. */
function unsubscribe(client: DeepstreamClient, name: string) {
  (client.event.unsubscribe as (name: string) => void)(name);
}

/** Emits any value, `undefined` included (the typings allow only JSON values). */
function emit(client: DeepstreamClient, name: string, data: unknown) {
  client.event.emit(name, data as never);
}

/** Collects what a subscriber receives on a name. */
function collect(client: DeepstreamClient, name: string): unknown[] {
  const seen: unknown[] = [];
  client.event.subscribe(name, (data: unknown) => seen.push(data));
  return seen;
}

describe('events with the official client', () => {
  it('delivers an emit to every other subscriber, never back to the sender', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const a = await stack.client(appId, { username: 'a' });
    const b = await stack.client(appId, { username: 'b' });
    const c = await stack.client(appId, { username: 'c' });
    const seenByA = collect(a, 'news');
    const atB = nextValue<unknown>((cb) => b.event.subscribe('news', cb));
    const atC = nextValue<unknown>((cb) => c.event.subscribe('news', cb));
    await subscribed(appId, 'news', 3);
    a.event.emit('news', { headline: 'hi' });
    expect(await atB).toEqual({ headline: 'hi' });
    expect(await atC).toEqual({ headline: 'hi' });
    // A's own listener fired locally, once; the server did not echo.
    expect(seenByA).toEqual([{ headline: 'hi' }]);
  });

  it('forwards emits without data and stops after unsubscribe', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const a = await stack.client(appId, { username: 'a' });
    const b = await stack.client(appId, { username: 'b' });
    const seen = collect(b, 'ping');
    await subscribed(appId, 'ping', 1);
    emit(a, 'ping', undefined);
    a.event.emit('ping', 42);
    await until(() => seen.length === 2, 'two emits');
    expect(seen).toEqual([undefined, 42]);
    unsubscribe(b, 'ping');
    await subscribed(appId, 'ping', 0);
    a.event.emit('ping', 'lost');
    const later = collect(b, 'after');
    await subscribed(appId, 'after', 1);
    a.event.emit('after', 'kept');
    await until(() => later.length === 1, 'after');
    expect(seen).toEqual([undefined, 42]);
  });

  it('asks listening providers, which accept, reject and hear when the last subscriber leaves', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const provider = await stack.client(appId, { username: 'provider' });
    const subscriber = await stack.client(appId, { username: 'sub' });
    const calls: string[] = [];
    provider.event.listen(
      'weather/.*',
      (
        name: string,
        response: { accept(): void; reject(): void; onStop(cb: () => void): void },
      ) => {
        calls.push(`found ${name}`);
        if (name === 'weather/rain') {
          response.reject();
          return;
        }
        response.accept();
        response.onStop(() => calls.push(`stopped ${name}`));
      },
    );
    const runtime = (await stack.runtime(appId))!;
    await until(() => [...runtime.events.listeners.listenersOf()].length === 1, 'listener');
    subscriber.event.subscribe('weather/sun', () => {});
    subscriber.event.subscribe('weather/rain', () => {});
    await until(() => calls.length === 2, 'offers');
    expect(calls.sort()).toEqual(['found weather/rain', 'found weather/sun']);
    await until(() => runtime.events.listeners.hasProvider('weather/sun'), 'provider accepted');
    expect(runtime.events.listeners.hasProvider('weather/rain')).toBe(false);
    unsubscribe(subscriber, 'weather/sun');
    await until(() => calls.includes('stopped weather/sun'), 'stop');
  });
});

describe('seed permissions for events', () => {
  let appId: string;
  beforeAll(async () => {
    appId = await stack.createApp({ namedUsers: true, permissions: SEED });
  });

  /** Emits each value from `as` in order; returns what a subscriber received. */
  async function deliveries(
    name: string,
    values: unknown[],
    as = 'emitter',
    subscriberId = 'listener',
  ) {
    const emitter = await stack.client(appId, { username: as });
    const subscriber = await stack.client(appId, { username: subscriberId });
    const seen = collect(subscriber, name);
    await subscribed(appId, name, 1);
    for (const value of values) emit(emitter, name, value);
    // A last allowed emit on a name matched by "*" proves everything before it was processed.
    const marker = collect(subscriber, 'marker');
    await subscribed(appId, 'marker', 1);
    emitter.event.emit('marker', 'done');
    await until(() => marker.length === 1, 'marker');
    unsubscribe(subscriber, name);
    unsubscribe(subscriber, 'marker');
    await subscribed(appId, name, 0);
    await subscribed(appId, 'marker', 0);
    return seen;
  }

  it('"*" and "open/*": anyone publishes and subscribes', async () => {
    expect(await deliveries('open/chat', ['hello'])).toEqual(['hello']);
    expect(await deliveries('anything', [1])).toEqual([1]);
  });

  it('"forbidden/*": neither publish nor subscribe', async () => {
    const client = await stack.client(appId, { username: 'x' });
    const denied = nextError(client, 'MESSAGE_DENIED');
    client.event.subscribe('forbidden/secret', () => {});
    expect((await denied).topic).toBe('EVENT');
    const publishDenied = nextError(client, 'MESSAGE_DENIED');
    client.event.emit('forbidden/secret', 1);
    expect(await publishDenied).toMatchObject({ topic: 'EVENT' });
  });

  it('"a-to-b/*": only client-a publishes, only client-b subscribes', async () => {
    expect(await deliveries('a-to-b/x', ['from a'], 'client-a', 'client-b')).toEqual(['from a']);
    expect(await deliveries('a-to-b/x', ['from c'], 'client-c', 'client-b')).toEqual([]);
    const c = await stack.client(appId, { username: 'client-c' });
    const denied = nextError(c, 'MESSAGE_DENIED');
    c.event.subscribe('a-to-b/x', () => {});
    expect((await denied).topic).toBe('EVENT');
  });

  it('"news/$topic": only tea-cup-pigs may be published', async () => {
    expect(await deliveries('news/tea-cup-pigs', ['oink'])).toEqual(['oink']);
    expect(await deliveries('news/cats', ['meow'])).toEqual([]);
  });

  it('"number": only numbers above 10', async () => {
    expect(await deliveries('number', [5, 11, '12', 10, 100])).toEqual([11, 100]);
  });

  it('"place/$city": the city in the data must match the name, any case', async () => {
    expect(
      await deliveries('place/berlin', [
        { address: { city: 'Berlin' } },
        { address: { city: 'Paris' } },
        { address: {} },
      ]),
    ).toEqual([{ address: { city: 'Berlin' } }]);
  });

  it('a runtime error in a rule is a permission error, not a denial', async () => {
    // The official client reports this only as an unsolicited message, so
    // the reply is checked on the wire.
    const raw = await openWire(`${stack.realtimeUrl}/${appId}`);
    raw.send({ topic: TOPIC.CONNECTION, action: 5 });
    await raw.next();
    raw.send({ topic: TOPIC.AUTH, action: 2, data: '{"username":"x"}' });
    await raw.next();
    raw.send({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.EMIT,
      name: 'place/berlin',
      data: '"not an object"',
    });
    expect(await raw.next()).toEqual({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.MESSAGE_PERMISSION_ERROR,
      originalAction: EVENT_ACTION.EMIT,
      name: 'place/berlin',
      isError: true,
      names: [],
    });
    raw.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'number', data: '5' });
    expect(await raw.next()).toMatchObject({
      action: EVENT_ACTION.MESSAGE_DENIED,
      originalAction: EVENT_ACTION.EMIT,
      name: 'number',
    });
    await raw.close();
  });
});

describe('rule changes and tenants', () => {
  it('drops subscriptions the new rules no longer allow, with MESSAGE_DENIED', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const a = await stack.client(appId, { username: 'a' });
    const b = await stack.client(appId, { username: 'b' });
    const seen = collect(b, 'secret/plans');
    const kept = collect(b, 'public/news');
    await subscribed(appId, 'secret/plans', 1);
    await subscribed(appId, 'public/news', 1);
    const denied = nextError(b, 'MESSAGE_DENIED');
    const stricter = ALLOW_ALL.replace(
      'event:\n  "*":\n    publish: true\n    subscribe: true\n    listen: true\n',
      'event:\n  "*":\n    publish: true\n    subscribe: true\n    listen: true\n  "secret/*":\n    publish: true\n    subscribe: "user.id === \'a\'"\n',
    );
    expect(stricter).not.toBe(ALLOW_ALL);
    expect(
      (await stack.api('PUT', `/v1/apps/${appId}/permissions`, { valve: stricter })).status,
    ).toBe(200);
    expect((await denied).topic).toBe('EVENT');
    await subscribed(appId, 'secret/plans', 0);
    a.event.emit('secret/plans', 'x');
    a.event.emit('public/news', 'y');
    await until(() => kept.length === 1, 'public');
    expect(seen).toEqual([]);
  });

  it('keeps two apps with the same event names apart', async () => {
    const first = await stack.createApp({ namedUsers: true });
    const second = await stack.createApp({ namedUsers: true });
    const inFirst = await stack.client(first, { username: 'same' });
    const inSecond = await stack.client(second, { username: 'same' });
    const emitterSecond = await stack.client(second, { username: 'other' });
    const firstSeen = collect(inFirst, 'shared');
    const secondSeen = collect(inSecond, 'shared');
    await subscribed(first, 'shared', 1);
    await subscribed(second, 'shared', 1);
    emitterSecond.event.emit('shared', 'only for the second app');
    await until(() => secondSeen.length === 1, 'second app');
    expect(firstSeen).toEqual([]);
  });
});

describe('bad input', () => {
  it('answers malformed, oversized and unknown frames and stays usable', async () => {
    const small = await startStack({ env: { MAX_MESSAGE_BYTES: '1024' } });
    try {
      const appId = await small.createApp({ namedUsers: true });
      const raw = await openWire(`${small.realtimeUrl}/${appId}`);
      raw.send({ topic: TOPIC.CONNECTION, action: 5 });
      await raw.next();
      raw.send({ topic: TOPIC.AUTH, action: 2, data: '{"username":"raw"}' });
      await raw.next();

      raw.sendBytes(new Uint8Array([0x05, 0xff, 0xff, 0xff, 0xff, 0xff]));
      expect(await raw.next()).toMatchObject({
        topic: TOPIC.PARSER,
        action: PARSER_ACTION.MESSAGE_PARSE_ERROR,
      });
      raw.sendBytes('text frame');
      expect(await raw.next()).toMatchObject({
        topic: TOPIC.PARSER,
        action: PARSER_ACTION.INVALID_MESSAGE,
      });
      raw.send({ topic: TOPIC.CLUSTER, action: 1 });
      expect(await raw.next()).toMatchObject({
        topic: TOPIC.PARSER,
        action: PARSER_ACTION.UNKNOWN_TOPIC,
      });
      raw.send({
        topic: TOPIC.EVENT,
        action: EVENT_ACTION.EMIT,
        name: 'big',
        data: JSON.stringify('x'.repeat(2000)),
      });
      expect(await raw.next()).toMatchObject({
        topic: TOPIC.PARSER,
        action: PARSER_ACTION.MAXIMUM_MESSAGE_SIZE_EXCEEDED,
      });
      raw.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'x', data: '{not json' });
      expect(await raw.next()).toMatchObject({
        topic: TOPIC.EVENT,
        action: EVENT_ACTION.INVALID_MESSAGE_DATA,
      });
      raw.send({ topic: TOPIC.EVENT, action: 99 });
      expect(await raw.next()).toMatchObject({
        topic: TOPIC.EVENT,
        action: EVENT_ACTION.INVALID_MESSAGE_DATA,
      });
      raw.send({
        topic: TOPIC.EVENT,
        action: EVENT_ACTION.SUBSCRIBE,
        correlationId: '7',
        names: [],
      });
      expect(await raw.next()).toMatchObject({
        topic: TOPIC.EVENT,
        action: EVENT_ACTION.INVALID_MESSAGE_DATA,
      });

      // Still usable: a subscribe is acked.
      raw.send({
        topic: TOPIC.EVENT,
        action: EVENT_ACTION.SUBSCRIBE,
        correlationId: '8',
        names: ['ok'],
      });
      expect(await raw.next()).toMatchObject({
        topic: TOPIC.EVENT,
        action: EVENT_ACTION.SUBSCRIBE,
        correlationId: '8',
        isAck: true,
      });
      const runtime = (await small.runtime(appId))!;
      expect(runtime.events.subscriptions.subscribers('big')).toBeUndefined();
      await raw.close();
    } finally {
      await small.close();
    }
  });
});

describe('a bulk SUBSCRIBE', () => {
  it('adds its names over several turns of the event loop, then acks once with every name in place', async () => {
    const appId = await stack.createApp();
    const wire = await connectWire(`${stack.nodeUrl(0)}/${appId}`, 'bulk');
    const runtime = (await stack.runtime(appId))!;
    const connection = [...runtime.connections][0]!;
    const names = Array.from({ length: 1_000 }, (_, i) => `bulk/${i}`);
    // Each registry entry takes 20 us (a cold node's cost, and then some):
    // the 1,000 names are some 20 ms of work, sliced by time (TURN_SLICE_MS).
    const registry = runtime.events.subscriptions;
    const add = registry.add.bind(registry);
    registry.add = (name, subscriber) => {
      busyFor(0.02);
      return add(name, subscriber);
    };
    // What the connection holds at each turn while the SUBSCRIBE is handled.
    const seen = new Set<number>();
    let watching = true;
    const watch = () => {
      seen.add(runtime.events.subscriptions.countOf(connection));
      if (watching) setImmediate(watch);
    };
    watch();
    wire.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names, correlationId: 'b' });
    await wire.next((m) => m.topic === TOPIC.EVENT && m.isAck === true);
    watching = false;
    registry.add = add;
    expect(runtime.events.subscriptions.countOf(connection)).toBe(1_000);
    // Turns saw part of the names added, not none or all of them: at some
    // 15 names a turn, many turns did.
    expect([...seen].filter((n) => n > 0 && n < 1_000).length).toBeGreaterThan(5);
  });
});
