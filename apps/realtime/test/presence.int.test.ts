import type { DeepstreamClient } from '@deepstream/client';
import { type Message, PRESENCE_ACTION, TOPIC } from '@hubstream/protocol';
import { connectWire, until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRuntime } from '../src/runtime/app-runtime.ts';
import { type Stack, startStack } from './harness.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

type Change = [user: string, online: boolean];

/** Records what a callback receives and resolves when `count` changes arrived. */
function recorder() {
  const changes: Change[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const callback = (user: string, online: boolean) => {
    changes.push([user, online]);
    for (const w of [...waiters]) {
      if (changes.length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const reached = (count: number) =>
    changes.length >= count
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiters.push({ count, resolve }));
  return { changes, callback, reached };
}

async function subscribedToAll(runtime: AppRuntime, count: number) {
  await until(() => runtime.presence.everyone.size === count, `${count} subscribed to all`);
}

async function subscribedTo(runtime: AppRuntime, user: string, count: number) {
  await until(
    () => runtime.presence.subscriptions.count(user) === count,
    `${count} subscribed to ${user}`,
  );
}

const closeAndWait = async (client: DeepstreamClient, runtime: AppRuntime, user: string) => {
  const before = runtime.presence.online.connectionsOf(user);
  client.close();
  await until(
    () => runtime.presence.online.connectionsOf(user) === before - 1,
    `${user} closing one connection`,
  );
};

describe('presence with the official client', () => {
  it('tells a subscriber to everyone about joins and leaves', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const runtime = (await stack.runtime(appId))!;
    const observer = await stack.client(appId, { username: 'observer' });
    const seen = recorder();
    observer.presence.subscribe(seen.callback);
    await subscribedToAll(runtime, 1);
    const alice = await stack.client(appId, { username: 'alice' });
    await seen.reached(1);
    alice.close();
    await seen.reached(2);
    expect(seen.changes).toEqual([
      ['alice', true],
      ['alice', false],
    ]);
  });

  it('tells a subscriber to a user about that user only', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const runtime = (await stack.runtime(appId))!;
    const observer = await stack.client(appId, { username: 'observer' });
    const seen = recorder();
    observer.presence.subscribe('bob', seen.callback);
    await subscribedTo(runtime, 'bob', 1);
    // carol's join comes first; a notification about her would arrive first.
    const carol = await stack.client(appId, { username: 'carol' });
    const bob = await stack.client(appId, { username: 'bob' });
    await seen.reached(1);
    carol.close();
    bob.close();
    await seen.reached(2);
    expect(seen.changes).toEqual([
      ['bob', true],
      ['bob', false],
    ]);
  });

  it('joins on a user’s first connection and leaves on its last', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const runtime = (await stack.runtime(appId))!;
    const observer = await stack.client(appId, { username: 'observer' });
    const all = recorder();
    const named = recorder();
    observer.presence.subscribe(all.callback);
    observer.presence.subscribe('dave', named.callback);
    await subscribedToAll(runtime, 1);
    await subscribedTo(runtime, 'dave', 1);
    const first = await stack.client(appId, { username: 'dave' });
    await all.reached(1);
    const second = await stack.client(appId, { username: 'dave' });
    expect(runtime.presence.online.connectionsOf('dave')).toBe(2);
    await closeAndWait(first, runtime, 'dave');
    expect(runtime.presence.online.isOnline('dave')).toBe(true);
    // A marker: if the first close had announced a leave, it would come before this join.
    await stack.client(appId, { username: 'marker' });
    await all.reached(2);
    second.close();
    await all.reached(3);
    await named.reached(2);
    expect(all.changes).toEqual([
      ['dave', true],
      ['marker', true],
      ['dave', false],
    ]);
    expect(named.changes).toEqual([
      ['dave', true],
      ['dave', false],
    ]);
  });

  it('getAll() lists the online users except the caller, even with its other connections', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const runtime = (await stack.runtime(appId))!;
    const a = await stack.client(appId, { username: 'a' });
    await stack.client(appId, { username: 'a' });
    expect(await a.presence.getAll()).toEqual([]);
    await stack.client(appId, { username: 'b' });
    const c = await stack.client(appId, { username: 'c' });
    expect((await a.presence.getAll()).sort()).toEqual(['b', 'c']);
    await closeAndWait(c, runtime, 'c');
    expect(await a.presence.getAll()).toEqual(['b']);
  });

  it('getAll(names) answers online or not for each name, the caller included', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const a = await stack.client(appId, { username: 'a' });
    await stack.client(appId, { username: 'b' });
    expect(await a.presence.getAll(['b', 'nobody', 'a'])).toEqual({
      b: true,
      nobody: false,
      a: true,
    });
    expect(await a.presence.getAll([])).toEqual({});
  });

  it('does not count anonymous open-auth connections', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const runtime = (await stack.runtime(appId))!;
    const observer = await stack.client(appId, { username: 'observer' });
    const seen = recorder();
    observer.presence.subscribe(seen.callback);
    await subscribedToAll(runtime, 1);
    const anonymous = await stack.client(appId, { type: 'open' });
    await until(() => runtime.connections.size === 2, 'the anonymous login');
    await stack.client(appId, { username: 'named' });
    await seen.reached(1);
    expect(seen.changes).toEqual([['named', true]]);
    expect(await observer.presence.getAll()).toEqual(['named']);
    // It may still look.
    expect((await anonymous.presence.getAll()).sort()).toEqual(['named', 'observer']);
  });

  it('stops notifying after unsubscribe', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const runtime = (await stack.runtime(appId))!;
    const observer = await stack.client(appId, { username: 'observer' });
    const all = recorder();
    const named = recorder();
    const kept = recorder();
    observer.presence.subscribe(all.callback);
    observer.presence.subscribe('gone', named.callback);
    observer.presence.subscribe('kept', kept.callback);
    await subscribedToAll(runtime, 1);
    await subscribedTo(runtime, 'gone', 1);
    await subscribedTo(runtime, 'kept', 1);
    observer.presence.unsubscribe(all.callback);
    observer.presence.unsubscribe('gone');
    await subscribedToAll(runtime, 0);
    await subscribedTo(runtime, 'gone', 0);
    await stack.client(appId, { username: 'gone' });
    await stack.client(appId, { username: 'kept' });
    await kept.reached(1);
    expect(all.changes).toEqual([]);
    expect(named.changes).toEqual([]);
  });
});

describe('presence tenant isolation', () => {
  it('keeps two apps with the same user ids apart', async () => {
    const appOne = await stack.createApp({ namedUsers: true });
    const appTwo = await stack.createApp({ namedUsers: true });
    const one = (await stack.runtime(appOne))!;
    const observer = await stack.client(appOne, { username: 'observer' });
    const all = recorder();
    const named = recorder();
    observer.presence.subscribe(all.callback);
    observer.presence.subscribe('alice', named.callback);
    await subscribedToAll(one, 1);
    await subscribedTo(one, 'alice', 1);
    await stack.client(appTwo, { username: 'alice' });
    await stack.client(appTwo, { username: 'observer' });
    await stack.client(appOne, { username: 'zoe' });
    await all.reached(1);
    expect(all.changes).toEqual([['zoe', true]]);
    expect(named.changes).toEqual([]);
    expect(await observer.presence.getAll()).toEqual(['zoe']);
    expect(await observer.presence.getAll(['alice'])).toEqual({ alice: false });
  });
});

describe('presence at the protocol level', () => {
  it('acks subscriptions once per message and warns on a duplicate', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const client = await connectWire(`${stack.realtimeUrl}/${appId}`, 'raw');
    const presence = (m: Message) => m.topic === TOPIC.PRESENCE;
    const ack = (action: number, cid?: string) => (m: Message) =>
      presence(m) && m.isAck === true && m.action === action && m.correlationId === cid;
    client.send({
      topic: TOPIC.PRESENCE,
      action: PRESENCE_ACTION.SUBSCRIBE,
      names: ['x', 'y'],
      correlationId: '0',
    });
    await client.next(ack(PRESENCE_ACTION.SUBSCRIBE, '0'));
    client.send({
      topic: TOPIC.PRESENCE,
      action: PRESENCE_ACTION.SUBSCRIBE,
      names: ['x'],
      correlationId: '1',
    });
    expect(
      await client.next((m) => presence(m) && m.action === PRESENCE_ACTION.MULTIPLE_SUBSCRIPTIONS),
    ).toMatchObject({ name: 'x', originalAction: PRESENCE_ACTION.SUBSCRIBE });
    await client.next(ack(PRESENCE_ACTION.SUBSCRIBE, '1'));
    // Not subscribed to everyone: still a plain ack (the client sends it on any unsubscribe()).
    client.send({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.UNSUBSCRIBE_ALL });
    await client.next(ack(PRESENCE_ACTION.UNSUBSCRIBE_ALL));
    client.send({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.SUBSCRIBE_ALL });
    await client.next(ack(PRESENCE_ACTION.SUBSCRIBE_ALL));
    client.send({
      topic: TOPIC.PRESENCE,
      action: PRESENCE_ACTION.UNSUBSCRIBE,
      names: ['x', 'never'],
      correlationId: '2',
    });
    await client.next(ack(PRESENCE_ACTION.UNSUBSCRIBE, '2'));
    const runtime = (await stack.runtime(appId))!;
    expect(runtime.presence.subscriptions.subscribers('x')).toBeUndefined();
    expect(runtime.presence.subscriptions.count('y')).toBe(1);
    expect(runtime.presence.everyone.size).toBe(1);
    await client.sync();
    expect(client.received.filter((m) => presence(m) && m.isError)).toEqual([]);
    await client.close();
  });
});
