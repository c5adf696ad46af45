import { httpOf, until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';
import { postTo } from './http-api-helpers.ts';

// The HTTP data API on three realtime nodes over Redis: a command sent to
// one node reaches WebSocket clients on the others, as a client's message
// would, and a token from /api/auth on one node works on every node.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ nodes: 3, redis: true });
});
afterAll(async () => {
  await stack?.close();
});

const api = (node: number, path: string, body: unknown) =>
  postTo(httpOf(stack.nodeUrl(node)), path, body);

const RULES = `record:
  "*":
    create: true
    read: true
    write: "user.id === 'alice'"
    delete: true
    listen: true
    notify: true
event:
  "*":
    publish: "user.id === 'alice'"
    subscribe: true
    listen: true
rpc:
  "*":
    provide: true
    request: true
presence:
  "*":
    allow: true
`;

describe('HTTP data API across nodes', () => {
  it("a command on node A reaches node C's WebSocket clients; a token from node A works on node C", async () => {
    const appId = await stack.createApp({
      permissions: RULES,
      namedUsers: true,
      auth: { open: { enabled: false } },
    });
    // Node C (2): a subscriber to an event and a record, and an RPC provider.
    const onC = await stack.client(appId, { username: 'carol' }, { node: 2 });
    const events: unknown[] = [];
    onC.event.subscribe('news', (data: unknown) => events.push(data));
    onC.rpc.provide('double', (n: number, response) => response.send(n * 2));
    const record = onC.record.getRecord('doc');
    await record.whenReady();
    const runtimeC = (await stack.runtime(appId, 2))!;
    await until(() => runtimeC.events.subscriptions.count('news') === 1, 'subscribe');
    await until(() => runtimeC.rpc.providers.count('double') === 1, 'provide');
    await until(
      async () => (await runtimeC.node.presence.online(appId)).includes('carol'),
      'carol online',
    );

    // Logged in on node A (0), used on node C (2) and node B (1).
    const login = await api(0, `/${appId}/api/auth`, { username: 'alice' });
    expect(login.status).toBe(200);
    const { token } = login.json();

    const fromA = await api(0, `/${appId}/api`, {
      token,
      body: [
        { topic: 'event', action: 'emit', eventName: 'news', data: 'from A' },
        { topic: 'record', action: 'write', recordName: 'doc', data: { by: 'A' } },
        { topic: 'rpc', action: 'make', rpcName: 'double', data: 21 },
        { topic: 'presence', action: 'query' },
        { topic: 'presence', action: 'query', names: ['carol', 'dave'] },
      ],
    });
    expect(fromA.json()).toEqual({
      result: 'SUCCESS',
      body: [
        { success: true },
        { success: true },
        { success: true, data: 42 },
        { success: true, users: ['carol'] },
        { success: true, users: { carol: true, dave: false } },
      ],
    });
    await until(() => events.length === 1, 'event on node C');
    expect(events).toEqual(['from A']);
    await until(() => record.version === 1, 'record update on node C');
    expect(record.get()).toEqual({ by: 'A' });

    const onB = await api(1, `/${appId}/api`, {
      token,
      body: [
        { topic: 'record', action: 'read', recordName: 'doc' },
        { topic: 'record', action: 'write', recordName: 'doc', path: 'by', data: 'B', version: 2 },
      ],
    });
    expect(onB.json().body).toEqual([
      { success: true, version: 1, data: { by: 'A' } },
      { success: true },
    ]);
    await until(() => record.version === 2, 'patch on node C');
    expect(record.get()).toEqual({ by: 'B' });

    // The token keeps its user on every node: bob's login is a different user.
    const bob = (await api(2, `/${appId}/api/auth`, { username: 'bob' })).json().token;
    const asBob = await api(2, `/${appId}/api`, {
      token: bob,
      body: [{ topic: 'event', action: 'emit', eventName: 'news', data: 'bob' }],
    });
    expect(asBob.json().body[0]).toMatchObject({ success: false, errorEvent: 'MESSAGE_DENIED' });
    // A token nobody issued is refused on every node.
    const forged = await api(1, `/${appId}/api`, {
      token: `hst_${'b'.repeat(43)}`,
      body: [{ topic: 'event', action: 'emit', eventName: 'news' }],
    });
    expect(forged.status).toBe(401);
  });
});
