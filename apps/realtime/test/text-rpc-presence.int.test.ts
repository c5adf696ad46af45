import { until } from '@hubstream/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { acked, closeV2Clients, done, nextV2Error, type V2Client } from './text-client.ts';
import { DEPLOYMENTS, startDeployment, type TextDeployment } from './text-deployments.ts';

// RPC and presence through the real deepstream.io-client-js 2.3.4, against
// Hubstream as `pnpm start` runs it and against two realtime nodes over Redis
// (a test's clients alternate between node 0 and node 1, so that every call
// crosses nodes). The node's RPC timeouts are short here, so the timeout
// cases end well within the 2.x client's own (1 s ack, 3 s response).

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

describe.each(DEPLOYMENTS)('against %s', (deployment) => {
  let d: TextDeployment;
  let appId: string;
  beforeAll(async () => {
    d = await startDeployment(deployment, {
      RPC_ACK_TIMEOUT_MS: '150',
      RPC_RESPONSE_TIMEOUT_MS: '300',
    });
    // Users are who they say (the deployment's echo webhook), as presence names them.
    appId = await d.createApp({
      namedUsers: true,
      permissions: `event:\n  "*":\n    publish: true\n    subscribe: true\nrecord:\n  "*":\n    create: true\n    read: true\n    write: true\n    delete: true\nrpc:\n  "*":\n    provide: true\n    request: true\n  "admin/*":\n    provide: true\n    request: false\npresence:\n  "*":\n    allow: true\n`,
    });
  }, 60_000);
  afterAll(async () => {
    await closeV2Clients();
    await d?.close();
  });
  /** The `index`-th client of a test, as that user (on two nodes: even ones on node 0, odd ones on node 1). */
  const connect = (username: string, index: number) => d.connect(appId, { username }, index);

  describe('rpc', () => {
    it('provides and makes, with typed data both ways, and the provider’s errors', async () => {
      const [provider, caller] = await Promise.all([
        connect(fresh('provider'), 0),
        connect(fresh('caller'), 1),
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
        connect(fresh('rejecting'), 0),
        connect(fresh('accepting'), 1),
        connect(fresh('caller'), 2),
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
        connect(fresh('silent'), 0),
        connect(fresh('slow'), 2),
        connect(fresh('caller'), 1),
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
        connect(fresh('admin'), 0),
        connect(fresh('caller'), 1),
      ]);
      provider.client.rpc.provide('admin/reset', (_data, response) => response.send('reset'));
      await sync(provider.client);
      await expect(make(caller.client, 'admin/reset', null)).rejects.toThrow('MESSAGE_DENIED');
    });
  });

  describe('presence', () => {
    it('queries who is online, all or by name', async () => {
      const [ann, bob] = [fresh('ann'), fresh('bob')];
      const a = await connect(ann, 0);
      // Others of this file may be online: the answer is filtered to this test's users.
      const b = await connect(bob, 1);
      const all = await new Promise<string[]>((resolve) => a.client.presence.getAll(resolve));
      expect(all).toContain(bob);
      expect(all).not.toContain(ann); // not oneself
      const some = await new Promise<Record<string, boolean>>((resolve) =>
        a.client.presence.getAll([bob, 'nobody-here'], resolve),
      );
      expect(some).toEqual({ [bob]: true, 'nobody-here': false });
      expect([...a.errors, ...b.errors]).toEqual([]);
    });

    it('tells subscribers of joins and leaves: of everyone, of one user, once each', async () => {
      const watcher = await connect(fresh('watcher'), 0);
      const carol = fresh('carol');
      const dave = fresh('dave');
      const everyone: [string, boolean][] = [];
      const ofCarol: boolean[] = [];
      watcher.client.presence.subscribe((user, online) => {
        if (user === carol || user === dave) everyone.push([user, online]);
      });
      watcher.client.presence.subscribe(carol, (online) => ofCarol.push(online));
      // Both subscriptions acknowledged: the watcher's node has them.
      await acked(watcher.client);
      const c = await connect(carol, 1);
      const e = await connect(dave, 2);
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
      e.client.close();
      expect(watcher.errors).toEqual([]);
    });

    it('reports a denied presence query as MESSAGE_DENIED', async () => {
      const guarded = await d.createApp({
        namedUsers: true,
        permissions: `event:\n  "*":\n    publish: true\n    subscribe: true\nrecord:\n  "*":\n    create: true\n    read: true\n    write: true\n    delete: true\nrpc:\n  "*":\n    provide: true\n    request: true\npresence:\n  "*":\n    allow: false\n`,
      });
      const v2 = await d.connect(guarded, { username: fresh('nosy') });
      v2.client.presence.subscribe(() => {});
      expect(await nextV2Error(v2, 'MESSAGE_DENIED')).toMatchObject({ topic: 'U' });
      // The 2.x client does not clear its ack timeout on a presence denial
      // (its handler calls remove() with arguments it does not take): it would
      // report ACK_TIMEOUT later whatever the server sends. Closed here, so the
      // check for missing acks (afterEach) passes it over.
      v2.client.close();
    });
  });
});
