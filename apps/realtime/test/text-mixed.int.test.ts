import type { DeepstreamClient } from '@deepstream/client';
import { until } from '@hubstream/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';
import {
  closeV2Clients,
  done,
  expectAllAcked,
  type V2,
  type V2Record,
  v2Connect,
} from './text-client.ts';

// Both generations in one app: deepstream.io-client-js 2.3.4 (text) and
// @deepstream/client 7 (protobuf) exchange events, share records, call each
// other's RPCs and see each other in presence, on one node and across two
// nodes over Redis.

let stack: Stack;
let appId: string;
beforeAll(async () => {
  stack = await startStack({ nodes: 2, redis: true });
  appId = await stack.createApp({ namedUsers: true });
});
afterAll(async () => {
  try {
    await closeV2Clients();
  } finally {
    await stack?.close();
  }
});
// The 2.x clients live for a whole describe: their acknowledgements are checked after each test.
afterEach(() => expectAllAcked());

let unique = 0;
const fresh = (prefix: string) => `${prefix}-${++unique}`;

const ready = (record: V2Record) => new Promise<V2Record>((resolve) => record.whenReady(resolve));

describe.each([
  { where: 'on one node', v2Node: 0, v7Node: 0 },
  { where: 'across two nodes', v2Node: 0, v7Node: 1 },
])('a 2.3.4 and a 7.x client $where', ({ v2Node, v7Node }) => {
  let v2: V2;
  let v7: DeepstreamClient;
  let v7User: string;
  beforeAll(async () => {
    v7User = fresh('modern');
    v2 = await v2Connect(`${stack.nodeUrl(v2Node)}/${appId}`, { username: fresh('legacy') });
    v7 = await stack.client(appId, { username: v7User }, { node: v7Node });
  });
  afterAll(() => {
    v7.close();
  });

  /**
   * Waits until both clients' subscriptions to a name are on their nodes
   * (the clients send them batched, a moment after the call).
   */
  const bothSubscribed = async (topic: 'events' | 'records', name: string) => {
    const nodes =
      v2Node === v7Node
        ? [[v2Node, 2]]
        : [
            [v2Node, 1],
            [v7Node, 1],
          ];
    for (const [node, count] of nodes) {
      const runtime = (await stack.runtime(appId, node))!;
      await until(() => runtime[topic].subscriptions.count(name) === count, name);
    }
  };

  it('exchange events both ways, with their values', async () => {
    const name = fresh('chat');
    const toV2: unknown[] = [];
    const toV7: unknown[] = [];
    v2.client.event.subscribe(name, (data) => toV2.push(data));
    v7.event.subscribe(name, (data: unknown) => toV7.push(data));
    await bothSubscribed('events', name);
    const values = [{ text: 'hi', n: [1] }, 'plain', 3.5, false, null];
    for (const value of values) v7.event.emit(name, value as never);
    for (const value of values) v2.client.event.emit(name, value);
    await until(
      () => toV2.length === 2 * values.length && toV7.length === 2 * values.length,
      'all',
    );
    // Each side also fired its own emits locally.
    expect(toV2.sort(byJson)).toEqual([...values, ...values].sort(byJson));
    expect(toV7.sort(byJson)).toEqual([...values, ...values].sort(byJson));
    expect(v2.errors).toEqual([]);
  });

  it('share a record: writes from either are seen by the other', async () => {
    const name = fresh('shared');
    const modern = v7.record.getRecord(name);
    await modern.whenReady();
    await modern.setWithAck({ owner: 'v7', items: [1] });
    const legacy = await ready(v2.client.record.getRecord(name));
    expect(legacy.get()).toEqual({ owner: 'v7', items: [1] });
    await bothSubscribed('records', name);
    // Patch from the 2.x client, seen by the v7 client.
    const seen = new Promise<unknown>((resolve) => modern.subscribe('title', resolve));
    legacy.set('title', 'from 2.x');
    expect(await seen).toBe('from 2.x');
    // Whole write from the v7 client, seen by the 2.x client.
    const legacySeen = new Promise<unknown>((resolve) => legacy.subscribe(resolve));
    modern.set({ owner: 'v7', replaced: true });
    expect(await legacySeen).toEqual({ owner: 'v7', replaced: true });
    // The 2.x client's acknowledged write, read back by the v7 client.
    await done<void>((cb) =>
      legacy.set('done', true, (error: string | null) => cb(error, undefined)),
    );
    expect(await v7.record.snapshot(name)).toEqual({ owner: 'v7', replaced: true, done: true });
    expect(await v7.record.head(name)).toBe(4);
    expect(v2.errors).toEqual([]);
  });

  it("call each other's RPCs", async () => {
    const legacyRpc = fresh('legacy-rpc');
    const modernRpc = fresh('modern-rpc');
    v2.client.rpc.provide(legacyRpc, (data, response) => {
      if (data === 'fail') response.error('legacy says no');
      else response.send({ from: '2.x', got: data });
    });
    v7.rpc.provide(modernRpc, (data, response) => {
      response.send({ from: '7.x', got: data });
    });
    // A provide is sent batched, and takes a moment to reach the other node.
    await until(async () => {
      try {
        await v7.rpc.make(legacyRpc, 'probe');
        await done((cb) => v2.client.rpc.make(modernRpc, 'probe', cb));
        return true;
      } catch {
        return false;
      }
    }, 'both providers');
    expect(await v7.rpc.make(legacyRpc, { n: 1 })).toEqual({ from: '2.x', got: { n: 1 } });
    await expect(v7.rpc.make(legacyRpc, 'fail')).rejects.toBe('legacy says no');
    expect(await done((cb) => v2.client.rpc.make(modernRpc, [1, 'two'], cb))).toEqual({
      from: '7.x',
      got: [1, 'two'],
    });
    expect(v2.errors).toEqual([]);
  });

  it('see each other come and go in presence', async () => {
    const online = await new Promise<string[]>((resolve) => v2.client.presence.getAll(resolve));
    expect(online).toContain(v7User);
    const joined: [string, boolean][] = [];
    v2.client.presence.subscribe((user, isOnline) => joined.push([user, isOnline]));
    const runtime = (await stack.runtime(appId, v2Node))!;
    await until(() => runtime.presence.everyone.size > 0, 'the presence subscription');
    const late = fresh('late');
    const other = await stack.client(appId, { username: late }, { node: v7Node });
    await until(() => joined.some(([user]) => user === late), 'the join');
    other.close();
    await until(() => joined.some(([user, isOnline]) => user === late && !isOnline), 'the leave');
    v2.client.presence.unsubscribe();
    expect(v2.errors).toEqual([]);
  });
});

function byJson(a: unknown, b: unknown): number {
  return JSON.stringify(a).localeCompare(JSON.stringify(b));
}
