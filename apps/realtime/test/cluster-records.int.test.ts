import { type Message, RECORD_ACTION as RA } from '@hubstream/protocol';
import { recordKeys } from '@hubstream/records';
import { until } from '@hubstream/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';
import { becomes, ready, stored } from './records-helpers.ts';
import { connectRecordWire, isAction, type RecordWire } from './records-wire.ts';

// Records across three realtime nodes in this process, each with its own
// Redis connections, one Postgres: a subscriber must see what it would see
// if every client were on one node. Protocol-level clients (records-wire)
// check frame by frame what the official client would hide (order, once
// each, no echo); official clients check that everyone converges.

let stack: Stack;
let redis: Redis;
const open: RecordWire[] = [];
beforeAll(async () => {
  stack = await startStack({ nodes: 3, redis: true });
  redis = new Redis(stack.redisUrl);
});
afterAll(async () => {
  for (const wire of open) await wire.close();
  await redis?.quit();
  await stack?.close();
});

async function wire(appId: string, node: number, username: string): Promise<RecordWire> {
  const connection = await connectRecordWire(`${stack.nodeUrl(node)}/${appId}`, username);
  open.push(connection);
  return connection;
}

/** Subscribes (creating the record if missing) and returns its READ_RESPONSE. */
async function subscribe(w: RecordWire, name: string): Promise<Message> {
  w.send({ action: RA.SUBSCRIBECREATEANDREAD, names: [name], correlationId: name });
  return w.next(isAction(RA.READ_RESPONSE, name));
}

/** Waits until each node has `count` subscribers to the record. */
async function subscribedEverywhere(appId: string, name: string, counts: number[]) {
  for (const [node, count] of counts.entries()) {
    const runtime = (await stack.runtime(appId, node))!;
    await until(
      () => runtime.records.subscriptions.count(name) === count,
      `${count} subscribers of ${name} on node ${node}`,
    );
  }
}

/** The record's updates a wire received, as [action, version, path, data]. */
const updatesOf = (w: RecordWire, name: string) =>
  w.received
    .filter((m) => m.name === name && (m.action === RA.UPDATE || m.action === RA.PATCH))
    .map((m) => [m.action, m.version, m.path, m.data]);

describe('records across nodes', () => {
  it('tells subscribers on every node of a set, path set and erase: in order, once, never the writer', async () => {
    const appId = await stack.createApp();
    const writer = await wire(appId, 0, 'writer');
    const watchers = [
      await wire(appId, 0, 'w0'),
      await wire(appId, 1, 'w1'),
      await wire(appId, 2, 'w2'),
    ];
    const official = await Promise.all(
      [1, 2].map((node) => stack.client(appId, { username: `c${node}` }, { node })),
    );
    await subscribe(writer, 'shared');
    for (const w of watchers) await subscribe(w, 'shared');
    const records = await Promise.all(official.map((client) => ready(client, 'shared')));
    await subscribedEverywhere(appId, 'shared', [2, 2, 2]);

    writer.send({ action: RA.UPDATE, name: 'shared', version: 1, data: '{"n":1,"m":{"k":1}}' });
    writer.send({
      action: RA.PATCH,
      name: 'shared',
      version: 2,
      path: 'm.k',
      data: '2',
      isWriteAck: true,
      correlationId: 'p',
    });
    writer.send({ action: RA.ERASE, name: 'shared', version: 3, path: 'm' });
    writer.send({ action: RA.PATCH, name: 'shared', version: 4, path: 'last', data: 'true' });
    expect(await writer.next(isAction(RA.WRITE_ACKNOWLEDGEMENT, 'shared'))).toMatchObject({
      correlationId: 'p',
    });
    // Version 4 arrived everywhere, so everything before it did too.
    for (const w of watchers) await w.next((m) => m.name === 'shared' && m.version === 4);
    const expected = [
      [RA.UPDATE, 1, undefined, '{"n":1,"m":{"k":1}}'],
      [RA.PATCH, 2, 'm.k', '2'],
      // An erase is a PATCH without data (PROTOCOL.md 4.5).
      [RA.PATCH, 3, 'm', undefined],
      [RA.PATCH, 4, 'last', 'true'],
    ];
    for (const w of watchers) expect(updatesOf(w, 'shared')).toEqual(expected);
    await writer.sync();
    expect(updatesOf(writer, 'shared')).toEqual([]);
    for (const record of records) {
      await becomes(record, (d) => JSON.stringify(d) === '{"n":1,"last":true}', 'converged');
      expect(record.version).toBe(4);
    }
  });

  it('accepts each version of a contested record once across nodes, and every client converges', async () => {
    const appId = await stack.createApp();
    const name = 'contested';
    const writers = [
      await wire(appId, 0, 'a'),
      await wire(appId, 1, 'b'),
      await wire(appId, 2, 'c'),
    ];
    const watchers = [
      await wire(appId, 0, 'w0'),
      await wire(appId, 1, 'w1'),
      await wire(appId, 2, 'w2'),
    ];
    const readers = await Promise.all(
      [0, 1, 2].map((node) => stack.client(appId, { username: `r${node}` }, { node })),
    );
    for (const w of [...writers, ...watchers]) await subscribe(w, name);
    const records = await Promise.all(readers.map((client) => ready(client, name)));
    await subscribedEverywhere(appId, name, [3, 3, 3]);

    // Each writer writes the version after the one it last heard of, with an
    // ack; a conflict tells it the current version and it tries again.
    const acked = new Map<number, string>();
    let conflicts = 0;
    const ACKS_PER_WRITER = 8;
    const write = async (w: RecordWire, by: string) => {
      let version = 0;
      let mine = 0;
      for (let attempt = 0; mine < ACKS_PER_WRITER; attempt++) {
        const correlationId = `${by}-${attempt}`;
        const next = version + 1;
        w.send({
          action: RA.UPDATE,
          name,
          version: next,
          data: JSON.stringify({ by, next }),
          isWriteAck: true,
          correlationId,
        });
        const reply = await w.next((m) => m.name === name && m.correlationId === correlationId);
        if (reply.action === RA.WRITE_ACKNOWLEDGEMENT) {
          expect(acked.has(next)).toBe(false);
          acked.set(next, by);
          version = next;
          mine++;
        } else {
          expect(reply.action).toBe(RA.VERSION_EXISTS);
          conflicts++;
          version = reply.version!;
        }
      }
    };
    await Promise.all(writers.map((w, i) => write(w, ['a', 'b', 'c'][i]!)));

    const total = ACKS_PER_WRITER * writers.length;
    // Versions 1..total, each acknowledged to exactly one writer.
    expect([...acked.keys()].sort((x, y) => x - y)).toEqual(
      Array.from({ length: total }, (_, i) => i + 1),
    );
    const final = { by: acked.get(total), next: total };
    // Every write was acknowledged, so the last one is in Postgres already.
    expect(await stored(stack, appId, name)).toEqual({ version: total, data: final });
    for (const record of records) {
      await becomes(record, (d) => JSON.stringify(d) === JSON.stringify(final), 'converged');
      expect(record.version).toBe(total);
    }
    // Every subscriber heard every version once, in order; a writer all but its own.
    for (const w of watchers) {
      await w.next((m) => m.name === name && m.version === total);
      expect(updatesOf(w, name).map(([, version]) => version)).toEqual(
        [...acked.keys()].sort((x, y) => x - y),
      );
    }
    for (const [i, w] of writers.entries()) {
      const by = ['a', 'b', 'c'][i];
      const others = [...acked].filter(([, writer]) => writer !== by).map(([v]) => v);
      await until(
        () => updatesOf(w, name).length >= others.length,
        `writer ${by} heard the others`,
      );
      await w.sync();
      const heard = updatesOf(w, name).map(([, version]) => version);
      expect(heard).toEqual(others.sort((x, y) => x - y));
    }
    // Three writers on one record really contended: some lost a race to another node.
    expect(conflicts).toBeGreaterThan(0);
  });

  it('orders writes without a version from three nodes: each subscriber hears every version once', async () => {
    const appId = await stack.createApp();
    const name = 'unversioned';
    const writers = [
      await wire(appId, 0, 'a'),
      await wire(appId, 1, 'b'),
      await wire(appId, 2, 'c'),
    ];
    const watchers = [
      await wire(appId, 0, 'w0'),
      await wire(appId, 1, 'w1'),
      await wire(appId, 2, 'w2'),
    ];
    for (const w of [...writers, ...watchers]) await subscribe(w, name);
    await subscribedEverywhere(appId, name, [2, 2, 2]);

    // Version -1: "whatever comes next". A node that loses the compare-and-set
    // to another node retries on the version it lost to, which its own
    // subscribers may not have heard of yet.
    const WRITES_PER_WRITER = 15;
    let acks = 0;
    let refused = 0;
    await Promise.all(
      writers.map(async (w, i) => {
        for (let k = 0; k < WRITES_PER_WRITER; k++) {
          const correlationId = `${i}-${k}`;
          w.send({
            action: RA.PATCH,
            name,
            version: -1,
            path: `by${i}`,
            data: String(k),
            isWriteAck: true,
            correlationId,
          });
          const reply = await w.next((m) => m.name === name && m.correlationId === correlationId);
          if (reply.action === RA.WRITE_ACKNOWLEDGEMENT) acks++;
          else refused++;
        }
      }),
    );
    expect(acks + refused).toBe(3 * WRITES_PER_WRITER);
    const final = await stored(stack, appId, name);
    expect(final?.version).toBe(acks);
    for (const w of watchers) {
      await w.next((m) => m.name === name && m.version === acks);
      const versions = updatesOf(w, name).map(([, version]) => version);
      expect(versions).toEqual(Array.from({ length: acks }, (_, k) => k + 1));
    }
    const reader = await stack.client(appId, { username: 'late' }, { node: 1 });
    expect(await reader.record.snapshot(name)).toEqual(final?.data);
  });

  it('tells subscribers on other nodes of a delete, and unsubscribes them', async () => {
    const appId = await stack.createApp();
    const clients = await Promise.all(
      [0, 1, 2].map((node) => stack.client(appId, { username: `u${node}` }, { node })),
    );
    const records = await Promise.all(clients.map((client) => ready(client, 'doomed')));
    await records[0]!.setWithAck({ x: 1 });
    await becomes(records[2]!, (d) => JSON.stringify(d) === '{"x":1}', 'written');
    const deleted = records
      .slice(1)
      .map((record) => new Promise<void>((resolve) => record.on('delete', () => resolve())));
    await records[0]!.delete();
    await Promise.all(deleted);
    await subscribedEverywhere(appId, 'doomed', [0, 0, 0]);
    expect(await stored(stack, appId, 'doomed')).toBeNull();
    expect(await clients[2]!.record.has('doomed')).toBe(false);
  });

  it('has an acknowledged write in Postgres when the ack arrives, and reads it on every node', async () => {
    const appId = await stack.createApp();
    const [on0, on1, on2] = await Promise.all(
      [0, 1, 2].map((node) => stack.client(appId, { username: `u${node}` }, { node })),
    );
    await on0!.record.setDataWithAck('made-on-0', { from: 0 });
    expect(await stored(stack, appId, 'made-on-0')).toEqual({ version: 1, data: { from: 0 } });
    expect(await on2!.record.snapshot('made-on-0')).toEqual({ from: 0 });
    expect(await on2!.record.head('made-on-0')).toBe(1);

    const record = await ready(on1!, 'acked');
    await record.setWithAck({ total: 1 });
    expect(await stored(stack, appId, 'acked')).toEqual({ version: 1, data: { total: 1 } });
    await record.setWithAck('total', 2);
    expect(await stored(stack, appId, 'acked')).toEqual({ version: 2, data: { total: 2 } });

    // Redis lost the record (evicted, or restarted): a node that never saw it loads Postgres' copy.
    await on0!.record.setDataWithAck('evicted', { kept: 'in postgres' });
    await redis.del(recordKeys.record(stack.keyPrefix, appId, 'evicted'));
    expect(await on2!.record.snapshot('evicted')).toEqual({ kept: 'in postgres' });
    expect(await on2!.record.head('evicted')).toBe(1);
    expect(await redis.hget(recordKeys.record(stack.keyPrefix, appId, 'evicted'), 'v')).toBe('1');
  });

  it('persists writes without ack through the job queue, and reports the lag until then', async () => {
    const appId = await stack.createApp();
    const client = await stack.client(appId, { username: 'lazy' }, { node: 1 });
    const record = await ready(client, 'lazy');
    for (let i = 1; i <= 10; i++) record.set('count', i);
    await until(async () => (await stored(stack, appId, 'lazy'))?.version === 10, 'persisted');
    expect(await stored(stack, appId, 'lazy')).toEqual({ version: 10, data: { count: 10 } });
    const { records } = (await stack.runtime(appId, 1))!.node;
    await until(async () => (await records.persistenceLag()).unpersistedRecords === 0, 'no lag');
    expect(await records.persistenceLag()).toEqual({
      unpersistedRecords: 0,
      oldestUnpersistedMs: 0,
      awaitingBatch: 0,
    });
  });

  it('keeps apps apart across nodes: the same record name never leaks', async () => {
    const first = await stack.createApp();
    const second = await stack.createApp();
    const inSecond = await wire(second, 1, 'b');
    await subscribe(inSecond, 'same-name');
    const reader = await stack.client(second, { username: 'r' }, { node: 2 });
    const watched = await ready(reader, 'same-name');
    const writer = await stack.client(first, { username: 'a' }, { node: 0 });
    await (await ready(writer, 'same-name')).setWithAck({ secret: 'first' });
    await writer.record.setDataWithAck('only-in-first', { x: 1 });

    // A write in the second app afterwards arrives alone: nothing of the first came before it.
    await (await stack.client(second, { username: 'w' }, { node: 0 })).record.setDataWithAck(
      'same-name',
      { mine: true },
    );
    await inSecond.next(isAction(RA.UPDATE, 'same-name'));
    expect(updatesOf(inSecond, 'same-name')).toEqual([[RA.UPDATE, 1, undefined, '{"mine":true}']]);
    await becomes(watched, (d) => JSON.stringify(d) === '{"mine":true}', 'own app only');
    await expect(reader.record.snapshot('only-in-first')).rejects.toBe('RECORD_NOT_FOUND');
    expect(await stored(stack, first, 'same-name')).toEqual({
      version: 1,
      data: { secret: 'first' },
    });
    expect(await stored(stack, second, 'same-name')).toEqual({ version: 1, data: { mine: true } });
    // Each app's Redis keys hold its own records only: the second app's read
    // left a "known absent" mark under its own id, nothing more.
    const key = (app: string) => recordKeys.record(stack.keyPrefix, app, 'only-in-first');
    expect(await redis.hgetall(key(first))).toMatchObject({ v: '1', d: '{"x":1}' });
    expect(await redis.hgetall(key(second))).toEqual({ v: '-1', p: '-1' });
  });

  it('brings a node that missed changes up to date, whole, once it hears the cluster again', async () => {
    const appId = await stack.createApp();
    const writer = await wire(appId, 0, 'writer');
    const behind = await wire(appId, 2, 'behind');
    const client = await stack.client(appId, { username: 'c' }, { node: 2 });
    await subscribe(writer, 'missed');
    await subscribe(behind, 'missed');
    const record = await ready(client, 'missed');
    await subscribedEverywhere(appId, 'missed', [1, 0, 2]);

    // Cut node 2's change subscription: what is written meanwhile never reaches it.
    const node2 = (await stack.runtime(appId, 2))!;
    let missed = 0;
    const stop = node2.node.records.watch((change) => {
      if (change.kind === 'missed') missed++;
    });
    const list = (await redis.client('LIST')) as string;
    const line = list
      .split('\n')
      .find((l) => l.includes(`name=hs-records:${node2.node.bus.nodeId}`));
    const id = line?.match(/\bid=(\d+)/)?.[1];
    expect(id).toBeDefined();
    await redis.client('KILL', 'ID', id!);
    for (let version = 1; version <= 3; version++) {
      writer.send({ action: RA.PATCH, name: 'missed', version, path: `p${version}`, data: '1' });
    }
    writer.send({
      action: RA.PATCH,
      name: 'missed',
      version: 4,
      path: 'p4',
      data: '1',
      isWriteAck: true,
      correlationId: 'last',
    });
    await writer.next(isAction(RA.WRITE_ACKNOWLEDGEMENT, 'missed'));
    await until(() => missed === 1, 'the subscription back');
    stop();

    // The whole record instead of the patches it missed (later ones may follow as patches).
    await behind.next((m) => m.name === 'missed' && m.version === 4);
    const updates = updatesOf(behind, 'missed');
    expect(updates[0]?.[0]).toBe(RA.UPDATE);
    expect(updates.at(-1)?.[1]).toBe(4);
    for (let k = 1; k < updates.length; k++) {
      expect(updates[k]![1]).toBeGreaterThan(updates[k - 1]![1] as number);
    }
    const all = '{"p1":1,"p2":1,"p3":1,"p4":1}';
    await becomes(record, (d) => JSON.stringify(d) === all, 'caught up');
    expect(record.version).toBe(4);
    // And it is live again.
    writer.send({ action: RA.PATCH, name: 'missed', version: 5, path: 'p5', data: '1' });
    expect(await behind.next((m) => m.name === 'missed' && m.version === 5)).toMatchObject({
      action: RA.PATCH,
      path: 'p5',
    });
  });
});
