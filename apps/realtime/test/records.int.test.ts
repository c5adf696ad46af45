import { until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, type StackOptions, startStack } from './harness.ts';
import {
  becomes,
  ready,
  recordError,
  stored,
  storeOf,
  subscriberCount,
  subscribers,
} from './records-helpers.ts';

// The main records flow runs on both stores: in memory on a lone node, and
// in Redis (the clustered node's store, its batches through the job queue).
const STORES = [
  ['local store', {}],
  ['Redis store', { redis: true }],
] as const satisfies readonly (readonly [string, StackOptions])[];

let stack: Stack;

describe.each(STORES)('records with the official client (%s)', (_kind, options) => {
  beforeAll(async () => {
    stack = await startStack(options);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('shares a record between two clients: set, path set and erase', async () => {
    const appId = await stack.createApp();
    const a = await stack.client(appId, { username: 'a' });
    const b = await stack.client(appId, { username: 'b' });
    const atA = await ready(a, 'shared');
    const atB = await ready(b, 'shared');
    // A new record: version 0, empty object.
    expect(atA.version).toBe(0);
    expect(atA.get()).toEqual({});

    atA.set({ a: 1, nested: { b: 2 } });
    await becomes(atB, (d) => JSON.stringify(d) === '{"a":1,"nested":{"b":2}}', 'update');
    expect(atB.version).toBe(1);

    atA.set('nested.b', 3);
    await becomes(atB, () => atB.get('nested.b') === 3, 'path set');
    atA.set('list[2]', 'x');
    await becomes(atB, () => Array.isArray(atB.get('list')), 'array created');
    expect(atB.get('list')).toEqual([null, null, 'x']);
    atA.erase('nested');
    await becomes(atB, (d) => !Object.hasOwn(d as object, 'nested'), 'erase');

    expect(atA.version).toBe(4);
    expect(atB.version).toBe(4);
    expect(atB.get()).toEqual({ a: 1, list: [null, null, 'x'] });
    // B writes back; A sees it (both directions, versions in step).
    atB.set('a', 2);
    await becomes(atA, () => atA.get('a') === 2, 'write from B');
    expect(atA.version).toBe(5);
    const hot = (await storeOf(stack, appId)).peek(appId, 'shared');
    expect(hot).toEqual({ version: 5, data: { a: 2, list: [null, null, 'x'] } });
  });

  it('setWithAck resolves only once the write is in Postgres', async () => {
    const appId = await stack.createApp();
    const a = await stack.client(appId, { username: 'a' });
    const record = await ready(a, 'acked');
    await record.setWithAck({ total: 10 });
    expect(await stored(stack, appId, 'acked')).toEqual({ version: 1, data: { total: 10 } });
    await record.setWithAck('total', 11);
    expect(await stored(stack, appId, 'acked')).toEqual({ version: 2, data: { total: 11 } });
    await record.eraseWithAck('total');
    expect(await stored(stack, appId, 'acked')).toEqual({ version: 3, data: {} });
  });

  it('persists writes without ack shortly after, coalesced to the latest version', async () => {
    const appId = await stack.createApp();
    const a = await stack.client(appId, { username: 'a' });
    const record = await ready(a, 'lazy');
    for (let i = 1; i <= 20; i++) record.set('count', i);
    await until(async () => (await stored(stack, appId, 'lazy'))?.version === 20, 'flush');
    expect(await stored(stack, appId, 'lazy')).toEqual({ version: 20, data: { count: 20 } });
  });

  it('setData writes records it is not subscribed to, with and without ack', async () => {
    const appId = await stack.createApp();
    const writer = await stack.client(appId, { username: 'writer' });
    const reader = await stack.client(appId, { username: 'reader' });
    const watched = await ready(reader, 'settings');

    // Subscribers get setData's writes like any other.
    await writer.record.setDataWithAck('settings', { theme: 'dark' });
    await becomes(watched, () => watched.get('theme') === 'dark', 'setDataWithAck');
    expect(watched.version).toBe(1);
    writer.record.setData('settings', 'theme', 'light');
    await becomes(watched, () => watched.get('theme') === 'light', 'setData path');
    expect(watched.version).toBe(2);

    // A missing record is created by setData (version 0, then the write).
    await writer.record.setDataWithAck('fresh', { z: 1 });
    expect(await writer.record.snapshot('fresh')).toEqual({ z: 1 });
    expect(await writer.record.head('fresh')).toBe(1);
    writer.record.setData('fresh', { z: 2 });
    await until(async () => (await writer.record.head('fresh')) === 2, 'setData without ack');
    await writer.record.setDataWithAck('fresh', 'y', { n: [1] });
    await writer.record.setDataWithAck('fresh', 'z', undefined);
    expect(await writer.record.snapshot('fresh')).toEqual({ y: { n: [1] } });
    expect(await stored(stack, appId, 'fresh')).toEqual({ version: 4, data: { y: { n: [1] } } });
  });

  it('snapshot, has and head of missing and existing records', async () => {
    const appId = await stack.createApp();
    const client = await stack.client(appId, { username: 'c' });
    await expect(client.record.snapshot('missing')).rejects.toBe('RECORD_NOT_FOUND');
    expect(await client.record.has('missing')).toBe(false);
    expect(await client.record.head('missing')).toBe(-1);
    // None of this created the record.
    expect(await stored(stack, appId, 'missing')).toBeNull();

    await client.record.setDataWithAck('present', { a: [1, 2] });
    expect(await client.record.snapshot('present')).toEqual({ a: [1, 2] });
    expect(await client.record.has('present')).toBe(true);
    expect(await client.record.head('present')).toBe(1);
  });

  it('delete: success for the deleter, DELETED for the others, gone everywhere', async () => {
    const appId = await stack.createApp();
    const a = await stack.client(appId, { username: 'a' });
    const b = await stack.client(appId, { username: 'b' });
    const atA = await ready(a, 'doomed');
    const atB = await ready(b, 'doomed');
    await atA.setWithAck({ x: 1 });
    const deletedAtB = new Promise<void>((resolve) => atB.on('delete', () => resolve()));
    await atA.delete();
    await deletedAtB;
    expect(await subscriberCount(stack, appId, 'doomed')).toBe(0);
    expect(await stored(stack, appId, 'doomed')).toBeNull();
    const c = await stack.client(appId, { username: 'c' });
    expect(await c.record.has('doomed')).toBe(false);
    // It can be created again, from scratch.
    const again = await ready(c, 'doomed');
    expect(again.version).toBe(0);
    expect(again.get()).toEqual({});
  });

  it('lists: entries added and removed reach the other client', async () => {
    const appId = await stack.createApp();
    const a = await stack.client(appId, { username: 'a' });
    const b = await stack.client(appId, { username: 'b' });
    const listA = a.record.getList('todo');
    const listB = b.record.getList('todo');
    await Promise.all([listA.whenReady(), listB.whenReady()]);
    expect(listB.isEmpty()).toBe(true);
    const seen: string[][] = [];
    listB.subscribe((entries) => seen.push(entries));

    listA.addEntry('milk');
    listA.addEntry('eggs');
    listA.addEntry('bread', 0);
    await until(() => listB.getEntries().join() === 'bread,milk,eggs', 'entries added');
    listA.removeEntry('milk');
    await until(() => listB.getEntries().join() === 'bread,eggs', 'entry removed');
    expect(seen.at(-1)).toEqual(['bread', 'eggs']);
    await listB.setEntriesWithAck(['only']);
    await until(() => listA.getEntries().join() === 'only', 'entries set');
    // A list is a record whose data is an array.
    expect(await stored(stack, appId, 'todo')).toEqual({ version: 5, data: ['only'] });
  });

  it('anonymous records follow setName', async () => {
    const appId = await stack.createApp();
    const a = await stack.client(appId, { username: 'a' }, { recordDiscardTimeout: 50 });
    const b = await stack.client(appId, { username: 'b' });
    await b.record.setDataWithAck('profile/ann', { name: 'Ann' });
    await b.record.setDataWithAck('profile/bob', { name: 'Bob' });

    const anonymous = a.record.getAnonymousRecord();
    const names: unknown[] = [];
    anonymous.subscribe('name', (name: unknown) => names.push(name));
    await anonymous.setName('profile/ann');
    expect(anonymous.get()).toEqual({ name: 'Ann' });
    b.record.setData('profile/ann', 'name', 'Anne');
    await until(() => anonymous.get('name') === 'Anne', 'update through the anonymous record');

    await anonymous.setName('profile/bob');
    expect(anonymous.get()).toEqual({ name: 'Bob' });
    // The old record is discarded: A's subscription to it ends on the node.
    await subscribers(stack, appId, 'profile/ann', 0);
    await subscribers(stack, appId, 'profile/bob', 1);
    b.record.setData('profile/bob', 'name', 'Bobby');
    await until(() => anonymous.get('name') === 'Bobby', 'update after setName');
    expect(names).toEqual(['Ann', 'Anne', 'Bob', 'Bobby']);
  });

  it('listen: providers are asked, subscribers learn whether a record has one', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'provider' });
    const s1 = await stack.client(appId, { username: 's1' }, { recordDiscardTimeout: 50 });
    const s2 = await stack.client(appId, { username: 's2' }, { recordDiscardTimeout: 50 });
    const asked: string[] = [];
    let stopped: (name: string) => void = () => {};
    const stop = new Promise<string>((resolve) => {
      stopped = resolve;
    });
    provider.record.listen('prices/.*', (name, response) => {
      asked.push(name);
      response.onStop(stopped);
      response.accept();
      provider.record.setData(name, { price: 42 });
    });
    const runtime = (await stack.runtime(appId))!;
    await until(() => [...runtime.records.listeners.listenersOf()].length === 1, 'listener');

    // (The client's Record does not forward hasProviderChanged; its flag is polled.)
    const first = await ready(s1, 'prices/apple');
    await until(() => first.hasProvider, 'HAS_PROVIDER');
    await becomes(first, () => first.get('price') === 42, 'provided data');
    expect(asked).toEqual(['prices/apple']);

    // A later subscriber learns it at once; the provider is not asked again.
    const second = await ready(s2, 'prices/apple');
    await until(() => second.hasProvider, 'HAS_PROVIDER for the new subscriber');
    expect(asked).toEqual(['prices/apple']);

    // The provider stops: subscribers hear there is none.
    provider.record.unlisten('prices/.*');
    await until(() => !first.hasProvider && !second.hasProvider, 'HAS_NO_PROVIDER');

    // Listening again offers the record again; when everyone leaves, it is told to stop.
    provider.record.listen('prices/.*', (name, response) => {
      asked.push(name);
      response.onStop(stopped);
      response.accept();
    });
    await until(() => first.hasProvider && second.hasProvider, 'provided again');
    first.discard();
    second.discard();
    expect(await stop).toBe('prices/apple');
    expect(asked).toEqual(['prices/apple', 'prices/apple']);
  });

  it('records survive a restart of the node', async () => {
    const appId = await stack.createApp();
    const a = await stack.client(appId, { username: 'a' });
    const record = await ready(a, 'durable/1');
    await record.setWithAck({ kept: true });
    await a.record.setDataWithAck('durable/2', { also: 'kept' });
    // Written without ack: the node flushes it on its way down.
    a.record.setData('durable/3', { flushed: 'at close' });
    const store = await storeOf(stack, appId);
    await until(() => store.peek(appId, 'durable/3')?.version === 1, 'unacked write applied');

    await stack.restartRealtime();
    const fresh = await stack.client(appId, { username: 'fresh' });
    expect(await fresh.record.snapshot('durable/1')).toEqual({ kept: true });
    expect(await fresh.record.head('durable/1')).toBe(1);
    expect(await fresh.record.snapshot('durable/2')).toEqual({ also: 'kept' });
    expect(await fresh.record.snapshot('durable/3')).toEqual({ flushed: 'at close' });
    const again = await ready(fresh, 'durable/1');
    expect(again.version).toBe(1);
    await again.setWithAck('kept', 'still');
    expect(await stored(stack, appId, 'durable/1')).toEqual({
      version: 2,
      data: { kept: 'still' },
    });
  });

  it('a record set before login is created by SUBSCRIBEANDHEAD then CREATEANDUPDATE', async () => {
    const appId = await stack.createApp();
    const early = stack.rawClient(appId);
    const record = early.record.getRecord('early');
    await record.whenReady();
    record.set({ offline: true });
    await early.login({ username: 'early' });
    await until(async () => (await stored(stack, appId, 'early'))?.version === 1, 'created');
    expect(await stored(stack, appId, 'early')).toEqual({ version: 1, data: { offline: true } });
    await subscribers(stack, appId, 'early', 1);
  });

  it('a client that reconnects resubscribes and catches up', async () => {
    const appId = await stack.createApp();
    const a = await stack.client(appId, { username: 'a' });
    const held = await ready(a, 'rejoin');
    await held.setWithAck({ step: 1 });

    await stack.restartRealtime();
    const c = await stack.client(appId, { username: 'c' });
    await c.record.setDataWithAck('rejoin', { step: 2 });
    await becomes(held, () => held.get('step') === 2, 'caught up after reconnect');
    expect(held.version).toBe(2);
    await subscribers(stack, appId, 'rejoin', 1);
    // And it is live again: later writes arrive as updates.
    await c.record.setDataWithAck('rejoin', 'step', 3 as never);
    await becomes(held, () => held.get('step') === 3, 'update after reconnect');
  });

  it('keeps apps apart: the same record name in two apps never leaks', async () => {
    const one = await stack.createApp();
    const other = await stack.createApp();
    const a = await stack.client(one, { username: 'x' });
    const two = await stack.client(other, { username: 'x' });
    const inOne = await ready(a, 'same-name');
    const inTwo = await ready(two, 'same-name');
    const errors: string[] = [];
    void recordError(inTwo).then((e) => errors.push(e));

    await inOne.setWithAck({ secret: 'one' });
    // The other app's subscriber saw nothing and its record is untouched.
    expect(await two.record.snapshot('same-name')).toEqual({});
    expect(inTwo.get()).toEqual({});
    expect(inTwo.version).toBe(0);
    await two.record.setDataWithAck('only-in-two', { x: 1 });
    await expect(a.record.snapshot('only-in-two')).rejects.toBe('RECORD_NOT_FOUND');
    expect(await stored(stack, one, 'same-name')).toEqual({ version: 1, data: { secret: 'one' } });
    expect(await stored(stack, other, 'only-in-two')).toEqual({ version: 1, data: { x: 1 } });
    expect(errors).toEqual([]);
  });
});
