import { CONNECTION_ACTION, TOPIC } from '@hubstream/protocol';
import { openWire, until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('connections', () => {
  it('lets the official client reconnect, log in again and resubscribe after the node drops it', async () => {
    const appId = await stack.createApp();
    const listener = await stack.client(appId, { username: 'listener' });
    const emitter = await stack.client(appId, { username: 'emitter' });
    const seen: unknown[] = [];
    listener.event.subscribe('after-restart', (data: unknown) => seen.push(data));
    const states: string[] = [];
    listener.on('connectionStateChanged', (state: string) => states.push(state));
    let runtime = (await stack.runtime(appId))!;
    await until(() => runtime.events.subscriptions.count('after-restart') === 1, 'subscribed');

    await stack.restartRealtime();

    // The node was replaced: the client comes back on its own and resubscribes.
    await until(async () => {
      runtime = (await stack.runtime(appId))!;
      return runtime.events.subscriptions.count('after-restart') === 1;
    }, 'resubscribed');
    expect(states).toContain('RECONNECTING');
    expect(states.at(-1)).toBe('OPEN');
    await until(() => runtime.connections.size === 2, 'emitter back');
    emitter.event.emit('after-restart', 'hello again');
    await until(() => seen.length === 1, 'delivery');
    expect(seen).toEqual(['hello again']);
  });

  it('closes every connection of an app that is deleted', async () => {
    const appId = await stack.createApp();
    const client = await stack.client(appId, { username: 'doomed' });
    const states: string[] = [];
    client.on('connectionStateChanged', (state: string) => states.push(state));
    const runtime = (await stack.runtime(appId))!;
    expect((await stack.api('DELETE', `/v1/apps/${appId}`)).status).toBe(204);
    await until(() => runtime.connections.size === 0, 'closed');
    expect(await stack.runtime(appId)).toBeNull();
  });

  it('closes connections that stay silent for two heartbeat intervals, and keeps pinging ones', async () => {
    const fast = await startStack({ env: { HEARTBEAT_INTERVAL_MS: '100' } });
    try {
      const appId = await fast.createApp();
      const silent = await openWire(`${fast.realtimeUrl}/${appId}`);
      const pinging = await openWire(`${fast.realtimeUrl}/${appId}`);
      const timer = setInterval(
        () => pinging.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING }),
        50,
      );
      try {
        expect((await silent.closed).code).toBe(4004);
        expect(pinging.socket.readyState).toBe(pinging.socket.OPEN);
      } finally {
        clearInterval(timer);
        await pinging.close();
      }
    } finally {
      await fast.close();
    }
  });
});
