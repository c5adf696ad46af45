import type { DeepstreamClient } from '@deepstream/client';
import { type Message, RPC_ACTION, TOPIC } from '@hubstream/protocol';
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

type ClientError = { event: string; topic: string };

/** Every `error` the client emits (the official client reports protocol errors this way). */
function errorsOf(client: DeepstreamClient): ClientError[] {
  const errors: ClientError[] = [];
  client.on('error', (_meta: unknown, event: string, topic: string) => {
    errors.push({ event, topic });
  });
  return errors;
}

async function providers(runtime: AppRuntime, name: string, count: number): Promise<void> {
  await until(() => runtime.rpc.providers.count(name) === count, `${count} providers of ${name}`);
}

const rpcMessage = (m: Message) => m.topic === TOPIC.RPC;

describe('rpc with the official client', () => {
  it('routes a request to the provider and relays its response', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'provider' });
    const requestor = await stack.client(appId, { username: 'requestor' });
    const seen: unknown[] = [];
    provider.rpc.provide('add', (data: { a: number; b: number }, response) => {
      seen.push(data);
      response.send(data.a + data.b);
    });
    const runtime = (await stack.runtime(appId))!;
    await providers(runtime, 'add', 1);
    expect(await requestor.rpc.make('add', { a: 1, b: 2 })).toBe(3);
    expect(seen).toEqual([{ a: 1, b: 2 }]);
    expect(runtime.rpc.inFlight).toBe(0);
  });

  it('rejects make() with the data of an error response', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'provider' });
    const requestor = await stack.client(appId, { username: 'requestor' });
    provider.rpc.provide('divide', (data: { a: number; b: number }, response) => {
      if (data.b === 0) response.error({ reason: 'division by zero' });
      else response.send(data.a / data.b);
    });
    await providers((await stack.runtime(appId))!, 'divide', 1);
    await expect(requestor.rpc.make('divide', { a: 1, b: 0 })).rejects.toEqual({
      reason: 'division by zero',
    });
    expect(await requestor.rpc.make('divide', { a: 6, b: 3 })).toBe(2);
  });

  it('may route a request to the requestor itself', async () => {
    const appId = await stack.createApp();
    const both = await stack.client(appId, { username: 'both' });
    both.rpc.provide('self', (data: string, response) => response.send(`${data}!`));
    await providers((await stack.runtime(appId))!, 'self', 1);
    expect(await both.rpc.make('self', 'me')).toBe('me!');
  });

  it('answers NO_RPC_PROVIDER when nobody provides the name', async () => {
    const appId = await stack.createApp();
    const requestor = await stack.client(appId, { username: 'requestor' });
    await expect(requestor.rpc.make('missing', 1)).rejects.toBe('NO_RPC_PROVIDER');
  });

  it('reroutes a rejected request to a provider that has not tried it', async () => {
    const appId = await stack.createApp();
    const runtime = (await stack.runtime(appId))!;
    const first = await stack.client(appId, { username: 'first' });
    const second = await stack.client(appId, { username: 'second' });
    const requestor = await stack.client(appId, { username: 'requestor' });
    const rejectedBy: string[] = [];
    // The first provider is the only one when the request arrives; it rejects
    // only once the second one is registered, so the reroute has somewhere to go.
    first.rpc.provide('job', async (_data: unknown, response) => {
      response.autoAccept = false;
      second.rpc.provide('job', (data: string, r) => r.send(`second did ${data}`));
      await providers(runtime, 'job', 2);
      rejectedBy.push('first');
      response.reject();
    });
    await providers(runtime, 'job', 1);
    expect(await requestor.rpc.make('job', 'it')).toBe('second did it');
    expect(rejectedBy).toEqual(['first']);
  });

  it('answers NO_RPC_PROVIDER when every provider rejects', async () => {
    const appId = await stack.createApp();
    const a = await stack.client(appId, { username: 'a' });
    const b = await stack.client(appId, { username: 'b' });
    const requestor = await stack.client(appId, { username: 'requestor' });
    const tried: string[] = [];
    a.rpc.provide('busy', (_d: unknown, response) => {
      tried.push('a');
      response.reject();
    });
    b.rpc.provide('busy', (_d: unknown, response) => {
      tried.push('b');
      response.reject();
    });
    await providers((await stack.runtime(appId))!, 'busy', 2);
    await expect(requestor.rpc.make('busy', null)).rejects.toBe('NO_RPC_PROVIDER');
    // Each provider was asked exactly once.
    expect(tried.sort()).toEqual(['a', 'b']);
  });

  it('moves a request to another provider when its provider disconnects mid-request', async () => {
    const appId = await stack.createApp();
    const runtime = (await stack.runtime(appId))!;
    const leaving = await stack.client(appId, { username: 'leaving' });
    const staying = await stack.client(appId, { username: 'staying' });
    const requestor = await stack.client(appId, { username: 'requestor' });
    const received: string[] = [];
    leaving.rpc.provide('work', async (_data: unknown) => {
      received.push('leaving');
      // Accepted (automatically), never answered: the provider goes away.
      staying.rpc.provide('work', (data: string, r) => r.send(`staying did ${data}`));
      await providers(runtime, 'work', 2);
      leaving.close();
    });
    await providers(runtime, 'work', 1);
    expect(await requestor.rpc.make('work', 'it')).toBe('staying did it');
    expect(received).toEqual(['leaving']);
    await providers(runtime, 'work', 1);
  });

  it('stops routing to a provider after unprovide', async () => {
    const appId = await stack.createApp();
    const runtime = (await stack.runtime(appId))!;
    const provider = await stack.client(appId, { username: 'provider' });
    const requestor = await stack.client(appId, { username: 'requestor' });
    provider.rpc.provide('temp', (_d: unknown, response) => response.send('ok'));
    await providers(runtime, 'temp', 1);
    expect(await requestor.rpc.make('temp', null)).toBe('ok');
    provider.rpc.unprovide('temp');
    await providers(runtime, 'temp', 0);
    await expect(requestor.rpc.make('temp', null)).rejects.toBe('NO_RPC_PROVIDER');
  });

  it('cancels the calls of a requestor that disconnects; the late answer is dropped quietly', async () => {
    const appId = await stack.createApp();
    const runtime = (await stack.runtime(appId))!;
    const provider = await stack.client(appId, { username: 'provider' });
    const requestor = await stack.client(appId, { username: 'requestor' });
    const providerErrors = errorsOf(provider);
    let answer: ((value: string) => void) | undefined;
    provider.rpc.provide('slow', (_d: unknown, response) => {
      answer = (value) => response.send(value);
    });
    await providers(runtime, 'slow', 1);
    requestor.rpc.make('slow', null).catch(() => {});
    await until(() => answer !== undefined, 'the request at the provider');
    expect(runtime.rpc.inFlight).toBe(1);
    requestor.close();
    await until(() => runtime.rpc.inFlight === 0, 'the call cancelled');
    answer!('too late');
    // A later call through the same provider still works, and the late answer
    // raised no error at the provider.
    const other = await stack.client(appId, { username: 'other' });
    provider.rpc.provide('fast', (_d: unknown, response) => response.send('fast'));
    await providers(runtime, 'fast', 1);
    expect(await other.rpc.make('fast', null)).toBe('fast');
    expect(providerErrors).toEqual([]);
  });
});

describe('rpc at the protocol level', () => {
  it('keeps correlation ids apart per requestor: two clients may use the same id', async () => {
    const appId = await stack.createApp();
    const url = `${stack.realtimeUrl}/${appId}`;
    const provider = await stack.client(appId, { username: 'provider' });
    provider.rpc.provide('echo', (data: string, response) => response.send(data));
    await providers((await stack.runtime(appId))!, 'echo', 1);
    const one = await connectWire(url, 'one');
    const two = await connectWire(url, 'two');
    for (const [client, data] of [
      [one, '"from one"'],
      [two, '"from two"'],
    ] as const) {
      client.send({
        topic: TOPIC.RPC,
        action: RPC_ACTION.REQUEST,
        name: 'echo',
        correlationId: 'same',
        data,
      });
    }
    const isResponse = (m: Message) => rpcMessage(m) && m.action === RPC_ACTION.RESPONSE;
    const [atOne, atTwo] = await Promise.all([one.next(isResponse), two.next(isResponse)]);
    expect(atOne).toMatchObject({ correlationId: 'same', data: '"from one"', name: 'echo' });
    expect(atTwo).toMatchObject({ correlationId: 'same', data: '"from two"', name: 'echo' });
    await one.close();
    await two.close();
  });

  it('forwards the same request to a raw provider and relays accept then response', async () => {
    const appId = await stack.createApp();
    const url = `${stack.realtimeUrl}/${appId}`;
    const provider = await connectWire(url, 'provider');
    const requestor = await connectWire(url, 'requestor');
    provider.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.PROVIDE,
      names: ['x'],
      correlationId: '0',
    });
    expect(await provider.next((m) => rpcMessage(m) && m.isAck === true)).toMatchObject({
      action: RPC_ACTION.PROVIDE,
      correlationId: '0',
    });
    requestor.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.REQUEST,
      name: 'x',
      correlationId: 'c1',
      data: '{"n":1}',
    });
    const request = await provider.next((m) => rpcMessage(m) && m.action === RPC_ACTION.REQUEST);
    expect(request).toMatchObject({ name: 'x', correlationId: 'c1', data: '{"n":1}' });

    provider.send({ topic: TOPIC.RPC, action: RPC_ACTION.ACCEPT, name: 'x', correlationId: 'c1' });
    expect(
      await requestor.next((m) => rpcMessage(m) && m.action === RPC_ACTION.ACCEPT),
    ).toMatchObject({ name: 'x', correlationId: 'c1' });

    // A second ACCEPT is the provider's mistake, told to the provider only.
    provider.send({ topic: TOPIC.RPC, action: RPC_ACTION.ACCEPT, name: 'x', correlationId: 'c1' });
    expect(
      await provider.next((m) => rpcMessage(m) && m.action === RPC_ACTION.MULTIPLE_ACCEPT),
    ).toMatchObject({ name: 'x', correlationId: 'c1' });

    provider.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.RESPONSE,
      name: 'x',
      correlationId: 'c1',
      data: '42',
    });
    expect(
      await requestor.next((m) => rpcMessage(m) && m.action === RPC_ACTION.RESPONSE),
    ).toMatchObject({ name: 'x', correlationId: 'c1', data: '42' });

    // The RPC is over: another answer under that id is unknown.
    provider.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.RESPONSE,
      name: 'x',
      correlationId: 'c1',
      data: '43',
    });
    expect(
      await provider.next(
        (m) => rpcMessage(m) && m.action === RPC_ACTION.INVALID_RPC_CORRELATION_ID,
      ),
    ).toMatchObject({
      originalAction: RPC_ACTION.RESPONSE,
      correlationId: 'c1',
      isError: true,
    });
    await requestor.sync();
    expect(
      requestor.received.filter((m) => rpcMessage(m) && m.action === RPC_ACTION.RESPONSE),
    ).toHaveLength(1);
    await provider.close();
    await requestor.close();
  });

  it('answers INVALID_RPC_CORRELATION_ID to a reply for a call it never routed there', async () => {
    const appId = await stack.createApp();
    const url = `${stack.realtimeUrl}/${appId}`;
    const provider = await connectWire(url, 'provider');
    const outsider = await connectWire(url, 'outsider');
    const requestor = await connectWire(url, 'requestor');
    provider.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.PROVIDE,
      names: ['y'],
      correlationId: '0',
    });
    await provider.next((m) => rpcMessage(m) && m.isAck === true);
    requestor.send({ topic: TOPIC.RPC, action: RPC_ACTION.REQUEST, name: 'y', correlationId: 'k' });
    await provider.next((m) => rpcMessage(m) && m.action === RPC_ACTION.REQUEST);
    // Someone else answers the call: refused, and the requestor hears nothing of it.
    outsider.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.RESPONSE,
      name: 'y',
      correlationId: 'k',
      data: '"forged"',
    });
    expect(
      await outsider.next(
        (m) => rpcMessage(m) && m.action === RPC_ACTION.INVALID_RPC_CORRELATION_ID,
      ),
    ).toMatchObject({ name: 'y', correlationId: 'k', originalAction: RPC_ACTION.RESPONSE });
    provider.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.RESPONSE,
      name: 'y',
      correlationId: 'k',
      data: '"real"',
    });
    expect(
      await requestor.next((m) => rpcMessage(m) && m.action === RPC_ACTION.RESPONSE),
    ).toMatchObject({ data: '"real"' });
    for (const c of [provider, outsider, requestor]) await c.close();
  });

  it('warns on a duplicate PROVIDE and on UNPROVIDE of a name not provided', async () => {
    const appId = await stack.createApp();
    const client = await connectWire(`${stack.realtimeUrl}/${appId}`, 'p');
    client.send({ topic: TOPIC.RPC, action: RPC_ACTION.PROVIDE, names: ['z'], correlationId: '0' });
    client.send({ topic: TOPIC.RPC, action: RPC_ACTION.PROVIDE, names: ['z'], correlationId: '1' });
    expect(
      await client.next((m) => rpcMessage(m) && m.action === RPC_ACTION.MULTIPLE_PROVIDERS),
    ).toMatchObject({ name: 'z', originalAction: RPC_ACTION.PROVIDE });
    client.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.UNPROVIDE,
      names: ['z', 'never'],
      correlationId: '2',
    });
    expect(
      await client.next((m) => rpcMessage(m) && m.action === RPC_ACTION.NOT_PROVIDED),
    ).toMatchObject({ name: 'never', originalAction: RPC_ACTION.UNPROVIDE });
    expect(
      await client.next((m) => rpcMessage(m) && m.isAck === true && m.correlationId === '2'),
    ).toMatchObject({ action: RPC_ACTION.UNPROVIDE });
    const runtime = (await stack.runtime(appId))!;
    expect(runtime.rpc.providers.subscribers('z')).toBeUndefined();
    await client.close();
  });
});

describe('rpc tenant isolation', () => {
  it('keeps two apps with the same rpc names and user ids apart', async () => {
    const appOne = await stack.createApp();
    const appTwo = await stack.createApp();
    const providerOne = await stack.client(appOne, { username: 'alice' });
    const requestorOne = await stack.client(appOne, { username: 'bob' });
    const requestorTwo = await stack.client(appTwo, { username: 'bob' });
    const calls: string[] = [];
    providerOne.rpc.provide('whoami', (_d: unknown, response) => {
      calls.push('one');
      response.send('app one');
    });
    await providers((await stack.runtime(appOne))!, 'whoami', 1);
    // The other app has no provider of that name.
    await expect(requestorTwo.rpc.make('whoami', null)).rejects.toBe('NO_RPC_PROVIDER');
    const providerTwo = await stack.client(appTwo, { username: 'alice' });
    providerTwo.rpc.provide('whoami', (_d: unknown, response) => {
      calls.push('two');
      response.send('app two');
    });
    await providers((await stack.runtime(appTwo))!, 'whoami', 1);
    expect(await requestorOne.rpc.make('whoami', null)).toBe('app one');
    expect(await requestorTwo.rpc.make('whoami', null)).toBe('app two');
    expect(calls).toEqual(['one', 'two']);
  });
});
