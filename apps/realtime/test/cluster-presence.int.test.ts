import { until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ nodes: 3, redis: true });
});
afterAll(async () => {
  await stack?.close();
});

describe('presence across nodes', () => {
  it('announces a user once when they come online anywhere, and once when their last connection anywhere closes', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const watcher = await stack.client(appId, { username: 'watcher' }, { node: 0 });
    const seen: string[] = [];
    watcher.presence.subscribe((user: string, online: boolean) =>
      seen.push(`${user} ${online ? 'joined' : 'left'}`),
    );
    const runtime = (await stack.runtime(appId, 0))!;
    await until(() => runtime.presence.everyone.size === 1, 'subscribed');

    const annOn1 = await stack.client(appId, { username: 'ann' }, { node: 1 });
    await until(() => seen.length === 1, 'join');
    const annOn2 = await stack.client(appId, { username: 'ann' }, { node: 2 });
    const bob = await stack.client(appId, { username: 'bob' }, { node: 2 });
    await until(() => seen.length === 2, 'bob');
    expect(seen).toEqual(['ann joined', 'bob joined']);

    expect((await watcher.presence.getAll()).sort()).toEqual(['ann', 'bob']);
    expect(await watcher.presence.getAll(['ann', 'carl'])).toEqual({ ann: true, carl: false });

    annOn1.close();
    const r1 = (await stack.runtime(appId, 1))!;
    await until(() => r1.connections.size === 0, 'ann left node 1');
    // Still online on node 2: nobody is told anything. Bob leaving proves the order.
    bob.close();
    await until(() => seen.length === 3, 'bob left');
    expect(seen[2]).toBe('bob left');
    annOn2.close();
    await until(() => seen.length === 4, 'ann left');
    expect(seen).toEqual(['ann joined', 'bob joined', 'bob left', 'ann left']);
    expect(await watcher.presence.getAll()).toEqual([]);
  });
});
