import {
  EVENT_ACTION,
  type Message,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
} from '@hubstream/protocol';
import { connectWire, until, type Wire } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextError, type Stack, startStack } from './harness.ts';

// Per-connection caps (ERROR_CODES.md "Per-connection caps"), set small for
// the node: a message over a cap is refused whole, with MESSAGE_DENIED for
// each of its names, and changes nothing.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: {
      MESSAGE_MAX_NAMES: '5',
      CONNECTION_MAX_SUBSCRIPTIONS: '4',
      CONNECTION_MAX_LISTENS: '2',
      CONNECTION_MAX_PROVIDES: '2',
      CONNECTION_MAX_PENDING_RPCS: '2',
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

const denialAction: Record<number, number> = {
  [TOPIC.EVENT]: EVENT_ACTION.MESSAGE_DENIED,
  [TOPIC.RECORD]: RECORD_ACTION.MESSAGE_DENIED,
  [TOPIC.RPC]: RPC_ACTION.MESSAGE_DENIED,
  [TOPIC.PRESENCE]: PRESENCE_ACTION.MESSAGE_DENIED,
};
const acked = (topic: number, cid: string) => (m: Message) =>
  m.topic === topic && m.isAck === true && m.correlationId === cid;

/** Sends a bulk message and returns the replies up to the node's PONG. */
async function exchange(wire: Wire, message: Message): Promise<Message[]> {
  const from = wire.received.length;
  wire.send(message);
  await wire.sync();
  return wire.received.slice(from).filter((m) => m.topic === message.topic);
}

/** Each name of the message refused: one MESSAGE_DENIED per name, with its correlation id. */
function expectRefusedWhole(replies: Message[], message: Message) {
  expect(replies.map((m) => [m.action, m.name, m.originalAction, m.correlationId])).toEqual(
    (message.names ?? []).map((name) => [
      denialAction[message.topic],
      name,
      message.action,
      message.correlationId,
    ]),
  );
}

async function app() {
  const appId = await stack.createApp();
  const url = `${stack.realtimeUrl}/${appId}`;
  return { appId, url, runtime: async () => (await stack.runtime(appId))! };
}

describe('names per bulk message', () => {
  it('refuses an event SUBSCRIBE with more names than the cap, whole', async () => {
    const { url, runtime } = await app();
    const wire = await connectWire(url, 'subscriber');
    const emitter = await connectWire(url, 'emitter');
    const message: Message = {
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: names('n', 6),
      correlationId: '1',
    };
    expectRefusedWhole(await exchange(wire, message), message);
    const events = (await runtime()).events;
    expect([...events.subscriptions.names()]).toEqual([]);

    // An emit to a refused name is not delivered; one to a later subscription is, after it.
    const ok = await exchange(wire, {
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: ['control'],
      correlationId: '2',
    });
    expect(ok.filter(acked(TOPIC.EVENT, '2'))).toHaveLength(1);
    emitter.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'n0', data: '"lost"' });
    emitter.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'control', data: '"x"' });
    await wire.next((m) => m.action === EVENT_ACTION.EMIT && m.name === 'control');
    expect(wire.received.filter((m) => m.action === EVENT_ACTION.EMIT && m.name === 'n0')).toEqual(
      [],
    );
  });

  it('answers a long refused message with one denial, naming its first name', async () => {
    const { url, runtime } = await app();
    const wire = await connectWire(url, 'hoarder');
    const message: Message = {
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: names('x', 5_000),
      correlationId: '9',
    };
    const replies = await exchange(wire, message);
    expect(replies.map((m) => [m.action, m.name, m.originalAction, m.correlationId])).toEqual([
      [EVENT_ACTION.MESSAGE_DENIED, 'x0', EVENT_ACTION.SUBSCRIBE, '9'],
    ]);
    expect([...(await runtime()).events.subscriptions.names()]).toEqual([]);
  });

  // 500 names: past the names a refusal answers one by one, so the node
  // counts them on the wire and never decodes the message.
  for (const count of [6, 500]) {
    it(`refuses a record NOTIFY of ${count} names with RECORD_NOTIFY_ERROR by correlation id`, async () => {
      const { url } = await app();
      const wire = await connectWire(url, 'notifier');
      const replies = await exchange(wire, {
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.NOTIFY,
        names: names('r', count),
        correlationId: '7',
      });
      expect(replies).toMatchObject([
        { action: RECORD_ACTION.RECORD_NOTIFY_ERROR, correlationId: '7', data: '"MESSAGE_DENIED"' },
      ]);
    });

    it(`refuses a presence QUERY of ${count} names with one denial for its correlation id`, async () => {
      const { url } = await app();
      const wire = await connectWire(url, 'asker');
      const replies = await exchange(wire, {
        topic: TOPIC.PRESENCE,
        action: PRESENCE_ACTION.QUERY,
        names: names('u', count),
        correlationId: '3',
      });
      expect(replies).toMatchObject([
        {
          action: PRESENCE_ACTION.MESSAGE_DENIED,
          originalAction: PRESENCE_ACTION.QUERY,
          correlationId: '3',
        },
      ]);
    });
  }
});

describe('subscriptions per connection', () => {
  it('refuses an event SUBSCRIBE that would pass the cap; names already held do not count', async () => {
    const { url, runtime } = await app();
    const wire = await connectWire(url, 'subscriber');
    const first = await exchange(wire, {
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: ['a', 'b', 'c'],
      correlationId: '1',
    });
    expect(first.filter(acked(TOPIC.EVENT, '1'))).toHaveLength(1);
    const over: Message = {
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: ['c', 'd', 'e'],
      correlationId: '2',
    };
    expectRefusedWhole(await exchange(wire, over), over);
    const events = (await runtime()).events;
    expect([...events.subscriptions.names()].sort()).toEqual(['a', 'b', 'c']);

    // One new name (and one held) fits: 4 of 4.
    const fits = await exchange(wire, {
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: ['a', 'd'],
      correlationId: '3',
    });
    expect(fits.filter(acked(TOPIC.EVENT, '3'))).toHaveLength(1);
    expect([...events.subscriptions.names()].sort()).toEqual(['a', 'b', 'c', 'd']);
    // Unsubscribing frees room.
    await exchange(wire, {
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.UNSUBSCRIBE,
      names: ['a'],
      correlationId: '4',
    });
    const again = await exchange(wire, {
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: ['e'],
      correlationId: '5',
    });
    expect(again.filter(acked(TOPIC.EVENT, '5'))).toHaveLength(1);
  });

  it('refuses a record SUBSCRIBECREATEANDREAD past the cap before creating or loading anything', async () => {
    const { appId, url, runtime } = await app();
    const wire = await connectWire(url, 'subscriber');
    const over: Message = {
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.SUBSCRIBECREATEANDREAD,
      names: names('rec', 5),
      correlationId: '1',
    };
    expectRefusedWhole(await exchange(wire, over), over);
    const rt = await runtime();
    expect([...rt.records.subscriptions.names()]).toEqual([]);
    for (const name of over.names ?? []) expect(await rt.node.records.get(appId, name)).toBeNull();

    const fits = await exchange(wire, {
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.SUBSCRIBECREATEANDREAD,
      names: names('rec', 4),
      correlationId: '2',
    });
    expect(fits.filter((m) => m.action === RECORD_ACTION.READ_RESPONSE)).toHaveLength(4);
    expect([...rt.records.subscriptions.names()]).toHaveLength(4);
  });

  it('refuses a presence SUBSCRIBE past the cap', async () => {
    const { url, runtime } = await app();
    const wire = await connectWire(url, 'watcher');
    const over: Message = {
      topic: TOPIC.PRESENCE,
      action: PRESENCE_ACTION.SUBSCRIBE,
      names: names('user', 5),
      correlationId: '1',
    };
    expectRefusedWhole(await exchange(wire, over), over);
    expect([...(await runtime()).presence.subscriptions.names()]).toEqual([]);
  });

  it("applies the app's own cap over the node's (PUT /v1/apps/:id/limits)", async () => {
    const appId = await stack.createApp();
    const set = await stack.api('PUT', `/v1/apps/${appId}/limits`, {
      maxSubscriptionsPerConnection: 1,
    });
    expect(set.body.effective.maxSubscriptionsPerConnection).toBe(1);
    const wire = await connectWire(`${stack.realtimeUrl}/${appId}`, 'subscriber');
    const runtime = (await stack.runtime(appId))!;
    await until(() => runtime.limiter.limits.maxSubscriptionsPerConnection === 1, 'the app limit');
    const first = await exchange(wire, {
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: ['one'],
      correlationId: '1',
    });
    expect(first.filter(acked(TOPIC.EVENT, '1'))).toHaveLength(1);
    const over: Message = {
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: ['two'],
      correlationId: '2',
    };
    expectRefusedWhole(await exchange(wire, over), over);
  });
});

describe('listens per connection', () => {
  it('refuses one listen pattern past the cap with MESSAGE_DENIED naming it', async () => {
    const { url, runtime } = await app();
    const listener = await connectWire(url, 'listener');
    const subscriber = await connectWire(url, 'subscriber');
    const listen = (pattern: string) =>
      exchange(listener, { topic: TOPIC.EVENT, action: EVENT_ACTION.LISTEN, name: pattern });
    expect((await listen('^a/')).filter((m) => m.isAck)).toHaveLength(1);
    expect((await listen('^b/')).filter((m) => m.isAck)).toHaveLength(1);
    expect(await listen('^c/')).toMatchObject([
      {
        action: EVENT_ACTION.MESSAGE_DENIED,
        originalAction: EVENT_ACTION.LISTEN,
        name: '^c/',
      },
    ]);
    // At the cap a new pattern is refused before it is compiled: an invalid one too.
    expect(await listen('[')).toMatchObject([
      { action: EVENT_ACTION.MESSAGE_DENIED, originalAction: EVENT_ACTION.LISTEN, name: '[' },
    ]);
    // A pattern it already holds is acked again (not new, so not over the cap).
    expect((await listen('^a/')).filter((m) => m.isAck)).toHaveLength(1);
    const events = (await runtime()).events;
    expect([...events.listeners.listenersOf()].map((l) => l.pattern).sort()).toEqual([
      '^a/',
      '^b/',
    ]);
    // A subscription the refused pattern would match is not offered to it.
    subscriber.send({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: ['c/1', 'a/1'],
      correlationId: '1',
    });
    await listener.next(
      (m) => m.action === EVENT_ACTION.SUBSCRIPTION_FOR_PATTERN_FOUND && m.subscription === 'a/1',
    );
    await listener.sync();
    expect(listener.received.filter((m) => m.subscription === 'c/1')).toEqual([]);
    // UNLISTEN frees room for another pattern.
    await exchange(listener, { topic: TOPIC.EVENT, action: EVENT_ACTION.UNLISTEN, name: '^b/' });
    expect((await listen('^c/')).filter((m) => m.isAck)).toHaveLength(1);
  });
});

describe('RPC provides and pending requests per connection', () => {
  it('refuses a PROVIDE past the cap, whole: the names stay unprovided', async () => {
    const { appId, url, runtime } = await app();
    const provider = await connectWire(url, 'provider');
    const over: Message = {
      topic: TOPIC.RPC,
      action: RPC_ACTION.PROVIDE,
      names: ['p1', 'p2', 'p3'],
      correlationId: '1',
    };
    expectRefusedWhole(await exchange(provider, over), over);
    expect([...(await runtime()).rpc.providers.names()]).toEqual([]);
    const requestor = await stack.client(appId, { username: 'requestor' });
    await expect(requestor.rpc.make('p1', null)).rejects.toBe('NO_RPC_PROVIDER');
  });

  it('refuses a request past the pending cap with MESSAGE_DENIED for that call only', async () => {
    const { appId, runtime } = await app();
    const provider = await stack.client(appId, { username: 'provider' });
    const calls: { data: unknown; answer: (v: unknown) => void }[] = [];
    provider.rpc.provide('slow', (data: unknown, response) => {
      calls.push({ data, answer: (v) => response.send(v as string) });
    });
    const rt = await runtime();
    await until(() => rt.rpc.providers.count('slow') === 1, 'the provider');
    const requestor = await stack.client(appId, { username: 'requestor' });
    const first = requestor.rpc.make('slow', 1);
    const second = requestor.rpc.make('slow', 2);
    await until(() => calls.length === 2, 'two calls at the provider');
    await expect(requestor.rpc.make('slow', 3)).rejects.toBe('MESSAGE_DENIED');
    expect(calls.map((c) => c.data)).toEqual([1, 2]);
    expect(rt.rpc.inFlight).toBe(2);

    // An answer frees room for the next call.
    calls[0]!.answer('one');
    expect(await first).toBe('one');
    const fourth = requestor.rpc.make('slow', 4);
    await until(() => calls.length === 3, 'the next call at the provider');
    calls[1]!.answer('two');
    calls[2]!.answer('four');
    expect(await second).toBe('two');
    expect(await fourth).toBe('four');
  });

  it('gives the official client the refused event subscription by name', async () => {
    const { appId, runtime } = await app();
    const client = await stack.client(appId, { username: 'many' });
    const error = nextError(client, 'MESSAGE_DENIED');
    for (const name of names('ev', 5)) client.event.subscribe(name, () => {});
    await error;
    // The client batched all five into one SUBSCRIBE (over the cap of 4): each
    // denial named its event, so the client dropped exactly those callbacks.
    await until(() => client.event.eventNames().length === 0, 'the client to drop them');
    expect([...(await runtime()).events.subscriptions.names()]).toEqual([]);
  });
});
