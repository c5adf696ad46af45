import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack, until } from './harness.ts';
import { closeV2Clients, done, nextV2Error, type V2Client, v2Connect } from './text-client.ts';

// RPC and presence through the real deepstream.io-client-js 2.3.4 against one
// realtime node. The node's RPC timeouts are short here, so the timeout
// cases end well within the 2.x client's own (1 s ack, 3 s response).

let stack: Stack;
let url: string;
let appId: string;
beforeAll(async () => {
  stack = await startStack({
    env: { RPC_ACK_TIMEOUT_MS: '150', RPC_RESPONSE_TIMEOUT_MS: '300' },
  });
  // Users are who they say (the stack's echo webhook), as presence names them.
  appId = await stack.createApp({
    namedUsers: true,
    permissions: `event:\n  "*":\n    publish: true\n    subscribe: true\nrecord:\n  "*":\n    create: true\n    read: true\n    write: true\n    delete: true\nrpc:\n  "*":\n    provide: true\n    request: true\n  "admin/*":\n    provide: true\n    request: false\npresence:\n  "*":\n    allow: true\n`,
  });
  url = `${stack.realtimeUrl}/${appId}`;
});
afterAll(async () => {
  await stack?.close();
});
afterEach(() => closeV2Clients());

let unique = 0;
const fresh = (prefix: string) => `${prefix}-${++unique}`;

/** Resolves once the node has handled what the client sent before. */
async function sync(client: V2Client): Promise<void> {
  await done<boolean>((cb) => client.record.has(fresh('sync'), cb));
}

/** A make() as a promise. */
const make = (client: V2Client, name: string, data: unknown) =>
  done<unknown>((cb) => client.rpc.make(name, data, cb));

describe('rpc', () => {
  it('provides and makes, with typed data both ways, and the provider’s errors', async () => {
    const [provider, caller] = await Promise.all([
      v2Connect(url, { username: fresh('provider') }),
      v2Connect(url, { username: fresh('caller') }),
    ]);
    const name = fresh('add');
    provider.client.rpc.provide(name, (data, response) => {
      const { a, b } = data as { a: number; b: number };
      if (a < 0) response.error('negative');
      else response.send({ sum: a + b, echo: data });
    });
    await sync(provider.client);
    expect(await make(caller.client, name, { a: 1, b: 2 })).toEqual({
      sum: 3,
      echo: { a: 1, b: 2 },
    });
    await expect(make(caller.client, name, { a: -1, b: 0 })).rejects.toThrow('negative');
    const echo = fresh('echo');
    provider.client.rpc.provide(echo, (data, response) => response.send(data));
    await sync(provider.client);
    for (const value of ['text', 7, true, null]) {
      expect(await make(caller.client, echo, value)).toEqual(value);
    }
    expect([...provider.errors, ...caller.errors]).toEqual([]);
  });

  it('reroutes a rejected request to another provider, and fails it when none is left', async () => {
    const [rejecting, accepting, caller] = await Promise.all([
      v2Connect(url, { username: fresh('rejecting') }),
      v2Connect(url, { username: fresh('accepting') }),
      v2Connect(url, { username: fresh('caller') }),
    ]);
    const name = fresh('busy');
    let rejected = 0;
    rejecting.client.rpc.provide(name, (_data, response) => {
      rejected++;
      response.reject();
    });
    accepting.client.rpc.provide(name, (_data, response) => response.send('done'));
    await Promise.all([sync(rejecting.client), sync(accepting.client)]);
    // Whichever is asked first, the request ends with the accepting provider.
    for (let i = 0; i < 4; i++) expect(await make(caller.client, name, i)).toBe('done');
    accepting.client.rpc.unprovide(name);
    await sync(accepting.client);
    const before = rejected;
    await expect(make(caller.client, name, 'x')).rejects.toThrow('NO_RPC_PROVIDER');
    expect(rejected).toBe(before + 1);
    await expect(make(caller.client, fresh('nobody'), 'x')).rejects.toThrow('NO_RPC_PROVIDER');
    expect([...rejecting.errors, ...accepting.errors, ...caller.errors]).toEqual([]);
  });

  it('times out a provider that does not accept, and one that does not answer', async () => {
    const [silent, slow, caller] = await Promise.all([
      v2Connect(url, { username: fresh('silent') }),
      v2Connect(url, { username: fresh('slow') }),
      v2Connect(url, { username: fresh('caller') }),
    ]);
    const unaccepted = fresh('unaccepted');
    silent.client.rpc.provide(unaccepted, (_data, response) => {
      response.autoAck = false; // neither accepts nor answers
    });
    const unanswered = fresh('unanswered');
    slow.client.rpc.provide(unanswered, () => {}); // accepted (autoAck), never answered
    await Promise.all([sync(silent.client), sync(slow.client)]);
    await expect(make(caller.client, unaccepted, 1)).rejects.toThrow('ACCEPT_TIMEOUT');
    await expect(make(caller.client, unanswered, 1)).rejects.toThrow('RESPONSE_TIMEOUT');
    expect(caller.errors).toEqual([]);
  });

  it('fails a denied make with MESSAGE_DENIED', async () => {
    const [provider, caller] = await Promise.all([
      v2Connect(url, { username: fresh('admin') }),
      v2Connect(url, { username: fresh('caller') }),
    ]);
    provider.client.rpc.provide('admin/reset', (_data, response) => response.send('reset'));
    await sync(provider.client);
    await expect(make(caller.client, 'admin/reset', null)).rejects.toThrow('MESSAGE_DENIED');
  });
});

describe('presence', () => {
  it('queries who is online, all or by name', async () => {
    const [ann, bob] = [fresh('ann'), fresh('bob')];
    const a = await v2Connect(url, { username: ann });
    const runtime = (await stack.runtime(appId))!;
    // Others of this file may be online: the answer is filtered to this test's users.
    const b = await v2Connect(url, { username: bob });
    const all = await new Promise<string[]>((resolve) => a.client.presence.getAll(resolve));
    expect(all).toContain(bob);
    expect(all).not.toContain(ann); // not oneself
    const some = await new Promise<Record<string, boolean>>((resolve) =>
      a.client.presence.getAll([bob, 'nobody-here'], resolve),
    );
    expect(some).toEqual({ [bob]: true, 'nobody-here': false });
    expect(runtime.connections.size).toBeGreaterThanOrEqual(2);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('tells subscribers of joins and leaves: of everyone, of one user, once each', async () => {
    const watcher = await v2Connect(url, { username: fresh('watcher') });
    const carol = fresh('carol');
    const dave = fresh('dave');
    const everyone: [string, boolean][] = [];
    const ofCarol: boolean[] = [];
    watcher.client.presence.subscribe((user, online) => {
      if (user === carol || user === dave) everyone.push([user, online]);
    });
    watcher.client.presence.subscribe(carol, (online) => ofCarol.push(online));
    const runtime = (await stack.runtime(appId))!;
    await until(
      () => runtime.presence.subscriptions.subscribers(carol) !== undefined,
      'the subscription to carol',
    );
    await sync(watcher.client);
    const c = await v2Connect(url, { username: carol });
    const d = await v2Connect(url, { username: dave });
    await until(() => everyone.length === 2, 'both joins');
    c.client.close();
    await until(() => everyone.length === 3 && ofCarol.length === 2, 'carol leaving');
    await sync(watcher.client);
    // Subscribed to carol and to everyone: each callback once per change.
    expect(everyone).toEqual([
      [carol, true],
      [dave, true],
      [carol, false],
    ]);
    expect(ofCarol).toEqual([true, false]);
    d.client.close();
    expect(watcher.errors).toEqual([]);
  });

  it('reports a denied presence query as MESSAGE_DENIED', async () => {
    const guarded = await stack.createApp({
      namedUsers: true,
      permissions: `event:\n  "*":\n    publish: true\n    subscribe: true\nrecord:\n  "*":\n    create: true\n    read: true\n    write: true\n    delete: true\nrpc:\n  "*":\n    provide: true\n    request: true\npresence:\n  "*":\n    allow: false\n`,
    });
    const v2 = await v2Connect(`${stack.realtimeUrl}/${guarded}`, { username: fresh('nosy') });
    v2.client.presence.subscribe(() => {});
    expect(await nextV2Error(v2, 'MESSAGE_DENIED')).toMatchObject({ topic: 'U' });
    // The 2.x client does not clear its ack timeout on a presence denial
    // (its handler calls remove() with arguments it does not take): it would
    // report ACK_TIMEOUT later whatever the server sends. Closed here, so the
    // check for missing acks (afterEach) passes it over.
    v2.client.close();
  });
});
