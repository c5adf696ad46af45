import type { DeepstreamClient } from '@deepstream/client';
import { CLUSTER_SCOPE } from '@hubstream/cluster';
import { type Message, RPC_ACTION, TOPIC } from '@hubstream/protocol';
import { connectWire, until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRuntime } from '../src/runtime/app-runtime.ts';
import { type Stack, startStack } from './harness.ts';

// Three realtime nodes on the real Redis, official clients on different
// nodes: a call made on one node is served by a provider on another, and the
// requesting client sees what it would see with the provider beside it.
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ nodes: 3, redis: true });
});
afterAll(async () => {
  await stack?.close();
});

const runtime = async (appId: string, node: number): Promise<AppRuntime> =>
  (await stack.runtime(appId, node))!;
const nodeId = async (appId: string, node: number) => (await runtime(appId, node)).node.bus.nodeId;

/** Waits until the cluster's registry lists exactly these nodes as providers of `name`. */
async function providedOn(appId: string, name: string, nodes: number[]): Promise<void> {
  const registry = (await runtime(appId, 0)).node.rpcProviders;
  const expected = (await Promise.all(nodes.map((n) => nodeId(appId, n)))).sort();
  await until(
    async () =>
      JSON.stringify((await registry.nodesFor(appId, name)).sort()) === JSON.stringify(expected),
    `${name} provided on nodes ${nodes.join(', ') || 'none'}`,
  );
}

function errorsOf(client: DeepstreamClient): string[] {
  const errors: string[] = [];
  client.on('error', (_meta: unknown, event: string) => errors.push(event));
  return errors;
}

describe('rpc across nodes', () => {
  it('answers a request on node 0 from a provider on node 2', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'provider' }, { node: 2 });
    const requestor = await stack.client(appId, { username: 'requestor' }, { node: 0 });
    const seen: unknown[] = [];
    provider.rpc.provide('add', (data: { a: number; b: number }, response) => {
      seen.push(data);
      response.send({ sum: data.a + data.b, text: 'ünïcode ✓' });
    });
    await providedOn(appId, 'add', [2]);
    expect(await requestor.rpc.make('add', { a: 1, b: 2 })).toEqual({
      sum: 3,
      text: 'ünïcode ✓',
    });
    expect(await requestor.rpc.make('add', { a: 40, b: 2 })).toEqual({
      sum: 42,
      text: 'ünïcode ✓',
    });
    expect(seen).toEqual([
      { a: 1, b: 2 },
      { a: 40, b: 2 },
    ]);
    expect((await runtime(appId, 0)).rpc.inFlight).toBe(0);
    await until(async () => (await runtime(appId, 2)).rpc.serving === 0, 'node 2 done serving');
  });

  it('relays an error response from another node', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'provider' }, { node: 1 });
    const requestor = await stack.client(appId, { username: 'requestor' }, { node: 0 });
    provider.rpc.provide('divide', (data: { a: number; b: number }, response) => {
      if (data.b === 0) response.error({ reason: 'division by zero' });
      else response.send(data.a / data.b);
    });
    await providedOn(appId, 'divide', [1]);
    await expect(requestor.rpc.make('divide', { a: 1, b: 0 })).rejects.toEqual({
      reason: 'division by zero',
    });
    expect(await requestor.rpc.make('divide', { a: 6, b: 3 })).toBe(2);
  });

  it('puts on the requestor’s wire exactly what a local provider would cause', async () => {
    const appId = await stack.createApp();
    const rpc = (action: number) => (m: Message) => m.topic === TOPIC.RPC && m.action === action;
    const provider = await connectWire(`${stack.nodeUrl(2)}/${appId}`, 'provider');
    const requestor = await connectWire(`${stack.nodeUrl(0)}/${appId}`, 'requestor');
    provider.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.PROVIDE,
      names: ['x'],
      correlationId: '0',
    });
    // The ack comes once the other nodes can find the provider.
    await provider.next((m) => m.topic === TOPIC.RPC && m.isAck === true);
    requestor.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.REQUEST,
      name: 'x',
      correlationId: 'c1',
      data: '{"n":1}',
    });
    expect(await provider.next(rpc(RPC_ACTION.REQUEST))).toMatchObject({
      name: 'x',
      correlationId: 'c1',
      data: '{"n":1}',
    });
    provider.send({ topic: TOPIC.RPC, action: RPC_ACTION.ACCEPT, name: 'x', correlationId: 'c1' });
    expect(await requestor.next(rpc(RPC_ACTION.ACCEPT))).toMatchObject({
      name: 'x',
      correlationId: 'c1',
    });
    // A second ACCEPT is the provider's mistake, told to the provider only.
    provider.send({ topic: TOPIC.RPC, action: RPC_ACTION.ACCEPT, name: 'x', correlationId: 'c1' });
    expect(await provider.next(rpc(RPC_ACTION.MULTIPLE_ACCEPT))).toMatchObject({
      correlationId: 'c1',
    });
    provider.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.RESPONSE,
      name: 'x',
      correlationId: 'c1',
      data: '42',
    });
    expect(await requestor.next(rpc(RPC_ACTION.RESPONSE))).toMatchObject({
      name: 'x',
      correlationId: 'c1',
      data: '42',
    });
    // Over: another answer under that id is unknown at the provider's node.
    provider.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.RESPONSE,
      name: 'x',
      correlationId: 'c1',
      data: '43',
    });
    expect(await provider.next(rpc(RPC_ACTION.INVALID_RPC_CORRELATION_ID))).toMatchObject({
      correlationId: 'c1',
      originalAction: RPC_ACTION.RESPONSE,
    });
    await requestor.sync();
    expect(requestor.untaken().filter((m) => m.topic === TOPIC.RPC && !m.isAck)).toEqual([]);
    await provider.close();
    await requestor.close();
  });

  for (const [rejecting, answering] of [
    [1, 2],
    [2, 1],
  ] as const) {
    it(`reroutes a request rejected on node ${rejecting} to the provider on node ${answering}`, async () => {
      const appId = await stack.createApp();
      const first = await stack.client(appId, { username: 'first' }, { node: rejecting });
      const second = await stack.client(appId, { username: 'second' }, { node: answering });
      const requestor = await stack.client(appId, { username: 'requestor' }, { node: 0 });
      const rejectedBy: number[] = [];
      // The first provider is the only one when the request arrives; it
      // rejects once the second is registered, so the reroute has somewhere to go.
      first.rpc.provide('job', async (_data: unknown, response) => {
        response.autoAccept = false;
        second.rpc.provide('job', (data: string, r) => r.send(`node ${answering} did ${data}`));
        await providedOn(appId, 'job', [rejecting, answering]);
        rejectedBy.push(rejecting);
        response.reject();
      });
      await providedOn(appId, 'job', [rejecting]);
      expect(await requestor.rpc.make('job', 'it')).toBe(`node ${answering} did it`);
      expect(rejectedBy).toEqual([rejecting]);
    });
  }

  it('tries every provider on every node once, then answers NO_RPC_PROVIDER', async () => {
    const appId = await stack.createApp();
    const tried: string[] = [];
    const clients = [];
    for (const [username, node] of [
      ['a', 0],
      ['b', 1],
      ['c', 1],
      ['d', 2],
    ] as const) {
      const client = await stack.client(appId, { username }, { node });
      client.rpc.provide('busy', (_d: unknown, response) => {
        tried.push(username);
        response.reject();
      });
      clients.push(client);
    }
    await providedOn(appId, 'busy', [0, 1, 2]);
    await until(
      async () => (await runtime(appId, 1)).rpc.providers.count('busy') === 2,
      'two providers of busy on node 1',
    );
    const requestor = await stack.client(appId, { username: 'requestor' }, { node: 0 });
    await expect(requestor.rpc.make('busy', null)).rejects.toBe('NO_RPC_PROVIDER');
    expect(tried.sort()).toEqual(['a', 'b', 'c', 'd']);
    expect((await runtime(appId, 0)).rpc.inFlight).toBe(0);
  });

  it('answers NO_RPC_PROVIDER when no node provides the name', async () => {
    const appId = await stack.createApp();
    const other = await stack.client(appId, { username: 'other' }, { node: 2 });
    other.rpc.provide('something-else', (_d: unknown, response) => response.send('no'));
    await providedOn(appId, 'something-else', [2]);
    const requestor = await stack.client(appId, { username: 'requestor' }, { node: 0 });
    await expect(requestor.rpc.make('missing', 1)).rejects.toBe('NO_RPC_PROVIDER');
  });

  it('moves on at once from nodes listed as providers that have none', async () => {
    const appId = await stack.createApp();
    const elsewhere = await stack.createApp();
    // Stale registrations: node 1 has not even loaded the app; node 2 has
    // (a client is connected there) but holds no provider of the name.
    const node1 = await runtime(elsewhere, 1);
    await node1.node.rpcProviders.register(appId, 'ghost');
    await stack.client(appId, { username: 'bystander' }, { node: 2 });
    await (await runtime(appId, 2)).node.rpcProviders.register(appId, 'ghost');
    // Looked up through the other app: asking node 1 for this app would load it.
    const registry = (await runtime(elsewhere, 0)).node.rpcProviders;
    expect((await registry.nodesFor(appId, 'ghost')).length).toBe(2);
    const requestor = await stack.client(appId, { username: 'requestor' }, { node: 0 });
    // NO_RPC_PROVIDER from both nodes' answers, not ACCEPT_TIMEOUT from silence.
    await expect(requestor.rpc.make('ghost', null)).rejects.toBe('NO_RPC_PROVIDER');
    expect((await runtime(appId, 0)).rpc.inFlight).toBe(0);
    await node1.node.rpcProviders.unregister(appId, 'ghost');
  });

  it('moves a request on when its remote provider closes mid-request', async () => {
    const appId = await stack.createApp();
    const leaving = await stack.client(appId, { username: 'leaving' }, { node: 1 });
    const staying = await stack.client(appId, { username: 'staying' }, { node: 2 });
    const requestor = await stack.client(appId, { username: 'requestor' }, { node: 0 });
    const received: string[] = [];
    leaving.rpc.provide('work', async () => {
      received.push('leaving');
      // Accepted (automatically), never answered: the provider goes away.
      staying.rpc.provide('work', (data: string, r) => r.send(`staying did ${data}`));
      await providedOn(appId, 'work', [1, 2]);
      leaving.close();
    });
    await providedOn(appId, 'work', [1]);
    expect(await requestor.rpc.make('work', 'it')).toBe('staying did it');
    expect(received).toEqual(['leaving']);
    await providedOn(appId, 'work', [2]);
  });

  it('answers NO_RPC_PROVIDER, not a timeout, when the only remote provider closes mid-request', async () => {
    const appId = await stack.createApp();
    const leaving = await stack.client(appId, { username: 'leaving' }, { node: 2 });
    const requestor = await stack.client(appId, { username: 'requestor' }, { node: 0 });
    leaving.rpc.provide('work', () => {
      leaving.close();
    });
    await providedOn(appId, 'work', [2]);
    await expect(requestor.rpc.make('work', null)).rejects.toBe('NO_RPC_PROVIDER');
    await providedOn(appId, 'work', []);
  });

  it('no longer offers a call to a provider that unprovided, from any node', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'provider' }, { node: 2 });
    const onNode0 = await stack.client(appId, { username: 'zero' }, { node: 0 });
    const onNode1 = await stack.client(appId, { username: 'one' }, { node: 1 });
    let calls = 0;
    provider.rpc.provide('temp', (_d: unknown, response) => {
      calls++;
      response.send('ok');
    });
    await providedOn(appId, 'temp', [2]);
    expect(await onNode0.rpc.make('temp', null)).toBe('ok');
    expect(await onNode1.rpc.make('temp', null)).toBe('ok');
    provider.rpc.unprovide('temp');
    await providedOn(appId, 'temp', []);
    await expect(onNode0.rpc.make('temp', null)).rejects.toBe('NO_RPC_PROVIDER');
    await expect(onNode1.rpc.make('temp', null)).rejects.toBe('NO_RPC_PROVIDER');
    expect(calls).toBe(2);
  });

  it('cannot reach the providers of a node whose registrations were removed, until it restores them', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'provider' }, { node: 2 });
    const requestor = await stack.client(appId, { username: 'requestor' }, { node: 0 });
    let calls = 0;
    provider.rpc.provide('far', (_d: unknown, response) => {
      calls++;
      response.send('far');
    });
    await providedOn(appId, 'far', [2]);
    const removed = await (await runtime(appId, 0)).node.rpcProviders.removeNode(
      await nodeId(appId, 2),
    );
    expect(removed).toContainEqual({ appId, name: 'far' });
    await expect(requestor.rpc.make('far', null)).rejects.toBe('NO_RPC_PROVIDER');
    expect(calls).toBe(0);
    // The node was alive after all: it writes its registrations back.
    await (await runtime(appId, 2)).node.rpcProviders.restore();
    expect(await requestor.rpc.make('far', null)).toBe('far');
    expect(calls).toBe(1);
  });

  it('moves a call on when the node holding it is declared dead', async () => {
    const appId = await stack.createApp();
    const doomed = await stack.client(appId, { username: 'doomed' }, { node: 2 });
    const survivor = await stack.client(appId, { username: 'survivor' }, { node: 1 });
    const requestor = await stack.client(appId, { username: 'requestor' }, { node: 0 });
    const deadId = await nodeId(appId, 2);
    const node0 = await runtime(appId, 0);
    doomed.rpc.provide('job', async () => {
      // Accepted, never answered: its node is about to be found dead.
      survivor.rpc.provide('job', (data: string, r) => r.send(`survivor did ${data}`));
      await providedOn(appId, 'job', [1, 2]);
      // What the node that finds it dead does: remove its share, then say so.
      await node0.node.rpcProviders.removeNode(deadId);
      await node0.node.bus.publish(CLUSTER_SCOPE, 'node.dead', { node: deadId });
    });
    await providedOn(appId, 'job', [2]);
    expect(await requestor.rpc.make('job', 'it')).toBe('survivor did it');
    expect(node0.rpc.inFlight).toBe(0);
  });

  it('keeps two apps with the same rpc name apart across nodes', async () => {
    const appOne = await stack.createApp();
    const appTwo = await stack.createApp();
    const providerOne = await stack.client(appOne, { username: 'alice' }, { node: 1 });
    const requestorOne = await stack.client(appOne, { username: 'bob' }, { node: 0 });
    const requestorTwo = await stack.client(appTwo, { username: 'bob' }, { node: 0 });
    const calls: string[] = [];
    providerOne.rpc.provide('whoami', (_d: unknown, response) => {
      calls.push('one');
      response.send('app one');
    });
    await providedOn(appOne, 'whoami', [1]);
    // The other app has no provider of that name, on any node.
    await expect(requestorTwo.rpc.make('whoami', null)).rejects.toBe('NO_RPC_PROVIDER');
    const providerTwo = await stack.client(appTwo, { username: 'alice' }, { node: 2 });
    providerTwo.rpc.provide('whoami', (_d: unknown, response) => {
      calls.push('two');
      response.send('app two');
    });
    await providedOn(appTwo, 'whoami', [2]);
    await providedOn(appOne, 'whoami', [1]);
    expect(await requestorOne.rpc.make('whoami', null)).toBe('app one');
    expect(await requestorTwo.rpc.make('whoami', null)).toBe('app two');
    expect(calls).toEqual(['one', 'two']);
  });
});

describe('rpc clocks across nodes', () => {
  it('sends ACCEPT_TIMEOUT for a remote provider that never accepts, and drops its late answer quietly', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'provider' }, { node: 1 });
    const requestor = await stack.client(appId, { username: 'requestor' }, { node: 0 });
    const providerErrors = errorsOf(provider);
    let late: (() => void) | undefined;
    provider.rpc.provide('mute', (_d: unknown, response) => {
      response.autoAccept = false;
      late = () => response.send('too late');
    });
    await providedOn(appId, 'mute', [1]);
    await expect(requestor.rpc.make('mute', null)).rejects.toBe('ACCEPT_TIMEOUT');
    // The requester's node told the provider's node to let go of the call.
    const node1 = await runtime(appId, 1);
    await until(() => node1.rpc.serving === 0, 'the call cancelled on node 1');
    late!();
    provider.rpc.provide('quick', (_d: unknown, response) => response.send('quick'));
    await providedOn(appId, 'quick', [1]);
    expect(await requestor.rpc.make('quick', null)).toBe('quick');
    expect(providerErrors).toEqual([]);
  });

  it('lets go of a call on the provider’s node when its requestor disconnects', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'provider' }, { node: 2 });
    const requestor = await stack.client(appId, { username: 'requestor' }, { node: 0 });
    const providerErrors = errorsOf(provider);
    let answer: ((value: string) => void) | undefined;
    provider.rpc.provide('slow', (_d: unknown, response) => {
      answer = (value) => response.send(value);
    });
    await providedOn(appId, 'slow', [2]);
    requestor.rpc.make('slow', null).catch(() => {});
    await until(() => answer !== undefined, 'the request at the provider');
    const node0 = await runtime(appId, 0);
    const node2 = await runtime(appId, 2);
    expect(node0.rpc.inFlight).toBe(1);
    expect(node2.rpc.serving).toBe(1);
    requestor.close();
    await until(() => node0.rpc.inFlight === 0 && node2.rpc.serving === 0, 'the call cancelled');
    answer!('too late');
    const other = await stack.client(appId, { username: 'other' }, { node: 1 });
    provider.rpc.provide('fast', (_d: unknown, response) => response.send('fast'));
    await providedOn(appId, 'fast', [2]);
    expect(await other.rpc.make('fast', null)).toBe('fast');
    expect(providerErrors).toEqual([]);
  });
});
