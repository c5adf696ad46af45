import type { DeepstreamClient } from '@deepstream/client';
import { type Message, RPC_ACTION, TOPIC } from '@hubstream/protocol';
import { connectWire, until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

// The node's own RPC clocks, shortened: the official client has no RPC timer,
// so these replies are all that keeps make() from hanging.
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: { RPC_ACK_TIMEOUT_MS: '400', RPC_RESPONSE_TIMEOUT_MS: '900' },
  });
});
afterAll(async () => {
  await stack?.close();
});

function errorsOf(client: DeepstreamClient): string[] {
  const errors: string[] = [];
  client.on('error', (_meta: unknown, event: string) => errors.push(event));
  return errors;
}

async function provided(appId: string, name: string) {
  const runtime = (await stack.runtime(appId))!;
  await until(() => runtime.rpc.providers.count(name) === 1, `a provider of ${name}`);
  return runtime;
}

describe('rpc timeouts', () => {
  it('sends ACCEPT_TIMEOUT when the provider never accepts', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'provider' });
    const requestor = await stack.client(appId, { username: 'requestor' });
    let called = false;
    provider.rpc.provide('mute', (_d: unknown, response) => {
      // No automatic ACCEPT, and none by hand.
      response.autoAccept = false;
      called = true;
    });
    const runtime = await provided(appId, 'mute');
    await expect(requestor.rpc.make('mute', null)).rejects.toBe('ACCEPT_TIMEOUT');
    expect(called).toBe(true);
    expect(runtime.rpc.inFlight).toBe(0);
  });

  it('sends RESPONSE_TIMEOUT when the provider accepts but never answers', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'provider' });
    const requestor = await stack.client(appId, { username: 'requestor' });
    const providerErrors = errorsOf(provider);
    let late: (() => void) | undefined;
    provider.rpc.provide('forever', (_d: unknown, response) => {
      late = () => response.send('too late');
    });
    const runtime = await provided(appId, 'forever');
    await expect(requestor.rpc.make('forever', null)).rejects.toBe('RESPONSE_TIMEOUT');
    expect(runtime.rpc.inFlight).toBe(0);
    // The provider answers after all: nobody waits, and nobody is told off.
    late!();
    provider.rpc.provide('quick', (_d: unknown, response) => response.send('quick'));
    await provided(appId, 'quick');
    expect(await requestor.rpc.make('quick', null)).toBe('quick');
    expect(providerErrors).toEqual([]);
  });

  it('drops a raw provider’s late accept and response after ACCEPT_TIMEOUT', async () => {
    const appId = await stack.createApp();
    const url = `${stack.realtimeUrl}/${appId}`;
    const provider = await connectWire(url, 'provider');
    const requestor = await connectWire(url, 'requestor');
    const rpc = (action: number) => (m: Message) => m.topic === TOPIC.RPC && m.action === action;
    provider.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.PROVIDE,
      names: ['p'],
      correlationId: '0',
    });
    await provider.next((m) => m.topic === TOPIC.RPC && m.isAck === true);
    requestor.send({ topic: TOPIC.RPC, action: RPC_ACTION.REQUEST, name: 'p', correlationId: 'r' });
    await provider.next(rpc(RPC_ACTION.REQUEST));
    expect(await requestor.next(rpc(RPC_ACTION.ACCEPT_TIMEOUT))).toMatchObject({
      name: 'p',
      correlationId: 'r',
    });
    provider.send({ topic: TOPIC.RPC, action: RPC_ACTION.ACCEPT, name: 'p', correlationId: 'r' });
    provider.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.RESPONSE,
      name: 'p',
      correlationId: 'r',
      data: '1',
    });
    await provider.sync();
    await requestor.sync();
    expect(provider.received.filter((m) => m.topic === TOPIC.RPC && m.isError)).toEqual([]);
    expect(
      requestor.received.filter(
        (m) =>
          m.topic === TOPIC.RPC &&
          (m.action === RPC_ACTION.ACCEPT || m.action === RPC_ACTION.RESPONSE),
      ),
    ).toEqual([]);
    // Once its final answer came, the id is unknown again.
    provider.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.RESPONSE,
      name: 'p',
      correlationId: 'r',
      data: '2',
    });
    expect(await provider.next(rpc(RPC_ACTION.INVALID_RPC_CORRELATION_ID))).toMatchObject({
      correlationId: 'r',
    });
    await provider.close();
    await requestor.close();
  });
});
