import { until } from '@hubstream/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  acked,
  closeV2Clients,
  done,
  nextV2Error,
  sniff,
  type V2Client,
  type V2Record,
} from './text-client.ts';
import { DEPLOYMENTS, startDeployment, type TextDeployment } from './text-deployments.ts';

// Events and records through the real deepstream.io-client-js 2.3.4: every
// call of its API the deepstreamHub-era apps used, answered by the same topic
// handlers as the v7 client's, against Hubstream as `pnpm start` runs it and
// against two realtime nodes over Redis (a test's first client on node 0, its
// second on node 1, so that every feature crosses nodes).

afterEach(() => closeV2Clients());

let unique = 0;
/** A name no other test uses (one app for the whole file). */
const fresh = (prefix: string) => `${prefix}/${++unique}`;

function ready(record: V2Record): Promise<V2Record> {
  return new Promise((resolve) => record.whenReady(resolve));
}

/** The next value a subscription callback receives. */
function nextUpdate<T>(subscribe: (callback: (value: T) => void) => void): Promise<T> {
  return new Promise((resolve) => subscribe(resolve));
}

/** Resolves once the node has handled what the client sent before (one connection is handled in order). */
async function sync(client: V2Client): Promise<void> {
  await done<number>((cb) => client.record.head(fresh('sync'), cb));
}

/** Waits until the node has the connection's subscription to a record (its acknowledgement came). */
async function subscribed(client: V2Client, name: string): Promise<V2Record> {
  const record = await ready(client.record.getRecord(name));
  await acked(client);
  return record;
}

describe.each(DEPLOYMENTS)('against %s', (deployment) => {
  let d: TextDeployment;
  let appId: string;
  beforeAll(async () => {
    d = await startDeployment(deployment);
    appId = await d.createApp();
  }, 60_000);
  afterAll(async () => {
    await closeV2Clients();
    await d?.close();
  });
  /** The `index`-th client of a test (on two nodes: even ones on node 0, odd ones on node 1). */
  const connect = (index = 0) => d.connect(appId, {}, index);

  describe('events', () => {
    it('delivers every typed value, not to the emitter, and stops after unsubscribe', async () => {
      const [a, b] = await Promise.all([connect(0), connect(1)]);
      const name = fresh('news');
      const received: unknown[] = [];
      const onNews = (data: unknown) => received.push(data);
      b.client.event.subscribe(name, onNews);
      await acked(b.client);
      const values = [
        { headline: 'hi', n: [1, 2] },
        'text',
        42,
        -1.5,
        true,
        false,
        null,
        undefined,
      ];
      for (const value of values) a.client.event.emit(name, value);
      await until(() => received.length === values.length, 'every value');
      expect(received).toEqual(values);
      b.client.event.unsubscribe(name, onNews);
      await acked(b.client);
      a.client.event.emit(name, 'late');
      // Anything the emit sent b was written to b's socket before b's own answer.
      await sync(a.client);
      await sync(b.client);
      expect(received).toHaveLength(values.length);
      expect([...a.errors, ...b.errors]).toEqual([]);
    });

    it('listens: a match is offered, accepted, then removed; a rejected match is not kept', async () => {
      const [provider, subscriber] = await Promise.all([connect(0), connect(1)]);
      const prefix = fresh('prices');
      const calls: [string, boolean][] = [];
      provider.client.event.listen(`^${prefix}/.*`, (match, isSubscribed, response) => {
        calls.push([match, isSubscribed]);
        if (!isSubscribed) return;
        if (match.endsWith('/no')) response.reject();
        else response.accept();
      });
      await sync(provider.client);
      const noop = () => {};
      subscriber.client.event.subscribe(`${prefix}/yes`, noop);
      subscriber.client.event.subscribe(`${prefix}/no`, noop);
      await until(() => calls.length === 2, 'both offers');
      expect(calls).toContainEqual([`${prefix}/yes`, true]);
      expect(calls).toContainEqual([`${prefix}/no`, true]);
      subscriber.client.event.unsubscribe(`${prefix}/yes`, noop);
      subscriber.client.event.unsubscribe(`${prefix}/no`, noop);
      // Only the accepted match is removed: the rejected one was never the provider's.
      await until(() => calls.length === 3, 'the removal');
      expect(calls[2]).toEqual([`${prefix}/yes`, false]);
      provider.client.event.unlisten(`^${prefix}/.*`);
      await sync(provider.client);
      subscriber.client.event.subscribe(`${prefix}/later`, noop);
      await acked(subscriber.client);
      await sync(provider.client);
      expect(calls).toHaveLength(3);
      expect([...provider.errors, ...subscriber.errors]).toEqual([]);
    });
  });

  describe('records', () => {
    it('gets, sets whole and by path, and the other subscriber sees each change', async () => {
      const [a, b] = await Promise.all([connect(0), connect(1)]);
      const name = fresh('doc');
      const mine = await subscribed(a.client, name);
      expect(mine.get()).toEqual({});
      const theirs = await subscribed(b.client, name);
      const whole = nextUpdate((cb) => theirs.subscribe(cb));
      mine.set({ title: 'draft', tags: ['a'] });
      expect(await whole).toEqual({ title: 'draft', tags: ['a'] });
      const byPath = nextUpdate((cb) => theirs.subscribe('author.name', cb));
      mine.set('author.name', 'Ann');
      expect(await byPath).toBe('Ann');
      // Values of every type by path, an undefined one erasing it.
      mine.set('count', 3);
      mine.set('done', false);
      mine.set('note', null);
      mine.set('title', undefined);
      await until(() => {
        const data = theirs.get() as Record<string, unknown>;
        return data.note === null && data.title === undefined;
      }, 'the patches');
      expect(theirs.get()).toEqual({
        tags: ['a'],
        author: { name: 'Ann' },
        count: 3,
        done: false,
        note: null,
      });
      const reader = await connect(1);
      expect(await done<number>((cb) => reader.client.record.head(name, cb))).toBe(6);
      expect([...a.errors, ...b.errors]).toEqual([]);
    });

    it('acknowledges writes (set with a callback, setData with and without a record)', async () => {
      const { client, errors } = await connect();
      const name = fresh('acked');
      const record = await subscribed(client, name);
      await done<void>((cb) =>
        record.set({ a: 1 }, (error: string | null) => cb(error, undefined)),
      );
      await done<void>((cb) => record.set('b', 2, (error) => cb(error, undefined)));
      // setData on a record this client has open goes through it; on another it is R|CU.
      await done<void>((cb) =>
        client.record.setData(name, 'c', 3, (error: string | null) => cb(error, undefined)),
      );
      const other = fresh('acked');
      await done<void>((cb) =>
        client.record.setData(other, { x: 1 }, (error: string | null) => cb(error, undefined)),
      );
      await done<void>((cb) =>
        client.record.setData(other, 'y', 'two', (error: string | null) => cb(error, undefined)),
      );
      // Without a callback: nothing to acknowledge.
      client.record.setData(other, 'z', true);
      await until(async () => {
        const snapshot = await done<unknown>((cb) => client.record.snapshot(other, cb));
        return (snapshot as { z?: boolean }).z === true;
      }, 'the unacknowledged write');
      expect(await done((cb) => client.record.snapshot(other, cb))).toEqual({
        x: 1,
        y: 'two',
        z: true,
      });
      expect(record.get()).toEqual({ a: 1, b: 2, c: 3 });
      expect(errors).toEqual([]);
    });

    it('answers snapshot, has and head, for records that exist and those that do not', async () => {
      const [writer, reader] = await Promise.all([connect(0), connect(1)]);
      const name = fresh('facts');
      await done<void>((cb) =>
        writer.client.record.setData(name, { v: 1 }, (error: string | null) =>
          cb(error, undefined),
        ),
      );
      const { record } = reader.client;
      const missing = fresh('missing');
      const [snapshot, has, head, hasNot, headNot] = await Promise.all([
        done((cb) => record.snapshot(name, cb)),
        done<boolean>((cb) => record.has(name, cb)),
        done<number>((cb) => record.head(name, cb)),
        done<boolean>((cb) => record.has(missing, cb)),
        done<number>((cb) => record.head(missing, cb)),
      ]);
      expect({ snapshot, has, head, hasNot, headNot }).toEqual({
        snapshot: { v: 1 },
        has: true,
        head: 1,
        hasNot: false,
        headNot: -1,
      });
      await expect(done((cb) => record.snapshot(missing, cb))).rejects.toThrow('RECORD_NOT_FOUND');
      expect(reader.errors).toEqual([]);
    });

    it('discards and deletes: subscribers hear of the delete, the record is gone', async () => {
      const [a, b] = await Promise.all([connect(0), connect(1)]);
      const name = fresh('temp');
      const mine = await subscribed(a.client, name);
      mine.set({ keep: false });
      const theirs = await subscribed(b.client, name);
      // Discard: this connection no longer subscribed (acknowledged), the other still is.
      const other = await subscribed(a.client, fresh('temp'));
      other.discard();
      await acked(a.client);
      const deleted = new Promise<void>((resolve) => theirs.on('delete', () => resolve()));
      const deleteAcked = new Promise<void>((resolve) => mine.on('delete', () => resolve()));
      mine.delete();
      await Promise.all([deleted, deleteAcked]);
      expect(await done<boolean>((cb) => b.client.record.has(name, cb))).toBe(false);
      expect([...a.errors, ...b.errors]).toEqual([]);
    });

    it('resolves a version conflict by the merge strategy: the node’s version wins', async () => {
      const [a, b] = await Promise.all([connect(0), connect(1)]);
      const name = fresh('race');
      const mine = await subscribed(a.client, name);
      mine.set({ n: 0 });
      const theirs = await subscribed(b.client, name);
      theirs.set('by', 'b');
      await until(() => (mine.get() as { by?: string }).by === 'b', 'the second write');
      const frames = sniff(a.client);
      // A client that missed the second write: its next one names version 2
      // again, which the node already has.
      (mine as unknown as { version: number }).version = 1;
      mine.set('n', 1);
      await until(() => frames.some((f) => f.startsWith('R|E|VERSION_EXISTS')), 'the conflict');
      expect(frames.find((f) => f.startsWith('R|E|VERSION_EXISTS'))).toBe(
        `R|E|VERSION_EXISTS|${name}|2|{"n":0,"by":"b"}`,
      );
      // REMOTE_WINS (the default): the client takes the node's version and data.
      await until(() => (mine.get() as { n: number }).n === 0, 'the recovery');
      expect(mine.get()).toEqual({ n: 0, by: 'b' });
      expect(Number((mine as unknown as { version: number | string }).version)).toBe(2);
      const reader = await connect(1);
      expect(await done((cb) => reader.client.record.snapshot(name, cb))).toEqual({
        n: 0,
        by: 'b',
      });
      expect(b.errors).toEqual([]);
    });

    it('listens to records: the provider accepts, subscribers learn the record has a provider', async () => {
      const [provider, subscriber] = await Promise.all([connect(0), connect(1)]);
      const prefix = fresh('feed');
      const calls: [string, boolean][] = [];
      provider.client.record.listen(`^${prefix}/.*`, (match, isSubscribed, response) => {
        calls.push([match, isSubscribed]);
        if (isSubscribed) response.accept();
      });
      await sync(provider.client);
      const record = subscriber.client.record.getRecord(`${prefix}/live`);
      const provided = new Promise<unknown>((resolve) =>
        record.on('hasProviderChanged', (value) => resolve(value)),
      );
      expect(await provided).toBe(true);
      expect(calls).toEqual([[`${prefix}/live`, true]]);
      record.discard();
      await until(() => calls.length === 2, 'the removal');
      expect(calls[1]).toEqual([`${prefix}/live`, false]);
      expect([...provider.errors, ...subscriber.errors]).toEqual([]);
    });

    it('keeps lists and anonymous records', async () => {
      const [a, b] = await Promise.all([connect(0), connect(1)]);
      const listName = fresh('list');
      const list = a.client.record.getList(listName);
      await new Promise((resolve) => list.whenReady(resolve));
      list.setEntries(['x', 'y']);
      list.addEntry('z');
      list.removeEntry('x');
      const seen = b.client.record.getList(listName);
      await new Promise((resolve) => seen.whenReady(resolve));
      await until(() => seen.getEntries().join() === 'y,z', 'the entries');

      const first = fresh('anon');
      const second = fresh('anon');
      await done<void>((cb) =>
        a.client.record.setData(first, { which: 1 }, (error: string | null) =>
          cb(error, undefined),
        ),
      );
      await done<void>((cb) =>
        a.client.record.setData(second, { which: 2 }, (error: string | null) =>
          cb(error, undefined),
        ),
      );
      const anonymous = b.client.record.getAnonymousRecord();
      const changes: unknown[] = [];
      anonymous.subscribe('which', (value: unknown) => changes.push(value), true);
      anonymous.setName(first);
      await until(() => changes.includes(1), 'the first record');
      anonymous.setName(second);
      await until(() => changes.includes(2), 'the second record');
      expect([...a.errors, ...b.errors]).toEqual([]);
    });
  });

  describe('Valve denials as the 2.x client reports them', () => {
    it('reports MESSAGE_DENIED for a denied emit, subscription, read and write', async () => {
      const guarded = await d.createApp({
        permissions: `event:\n  "*":\n    publish: true\n    subscribe: true\n  "secret/*":\n    publish: false\n    subscribe: false\nrecord:\n  "*":\n    create: true\n    read: true\n    write: true\n    delete: true\n  "locked/*":\n    create: true\n    read: true\n    write: false\n  "hidden/*":\n    read: false\nrpc:\n  "*":\n    provide: true\n    request: true\npresence:\n  "*":\n    allow: true\n`,
      });
      const v2 = await d.connect(guarded);
      v2.client.event.emit('secret/plans', 'x');
      expect(await nextV2Error(v2, 'MESSAGE_DENIED')).toMatchObject({
        topic: 'E',
        message: 'secret/plans',
      });
      let from = v2.errors.length;
      v2.client.event.subscribe('secret/chat', () => {});
      expect(await nextV2Error(v2, 'MESSAGE_DENIED', from)).toMatchObject({
        topic: 'E',
        message: 'secret/chat',
      });
      from = v2.errors.length;
      await expect(done((cb) => v2.client.record.snapshot('hidden/x', cb))).rejects.toThrow(
        'MESSAGE_DENIED',
      );
      expect(await nextV2Error(v2, 'MESSAGE_DENIED', from)).toMatchObject({ topic: 'R' });
      from = v2.errors.length;
      const locked = await ready(v2.client.record.getRecord('locked/a'));
      const write = done<void>((cb) =>
        locked.set({ a: 1 }, (error: string | null) => cb(error, undefined)),
      );
      await expect(write).rejects.toThrow('MESSAGE_DENIED');
      expect(await nextV2Error(v2, 'MESSAGE_DENIED', from)).toMatchObject({
        topic: 'R',
        message: 'locked/a',
      });
    });
  });
});
