import type { DeepstreamClient } from '@deepstream/client';
import { CLUSTER_SCOPE, type ListenTopic } from '@hubstream/cluster';
import { until } from '@hubstream/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Stack, startStack } from './harness.ts';

// Listening (active providers) with three realtime nodes: subscribers and
// listeners on different nodes must see what they would see on one node.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ nodes: 3, redis: true, env: { LISTEN_RESPONSE_TIMEOUT_MS: '300' } });
});
afterAll(async () => {
  await stack?.close();
});

type Response = { accept(): void; reject(): void; onStop(cb: (name: string) => void): void };
type Decide = (name: string, response: Response) => void;

/** Listens and logs "found NAME" / "stopped NAME" as `label`; `decide` answers (accept by default). */
function listen(
  client: DeepstreamClient,
  topic: ListenTopic,
  pattern: string,
  log: string[],
  label: string,
  decide: Decide = (_name, response) => response.accept(),
) {
  const handler = (name: string, response: Response) => {
    log.push(`${label} found ${name}`);
    response.onStop((stopped) => log.push(`${label} stopped ${stopped}`));
    decide(name, response);
  };
  if (topic === 'event') client.event.listen(pattern, handler);
  else client.record.listen(pattern, handler);
}

/** Drops every callback of the name (the typings want one). */
function unsubscribe(client: DeepstreamClient, name: string) {
  (client.event.unsubscribe as (name: string) => void)(name);
}

/** Waits until the cluster knows `count` listeners of the app's topic. */
async function listeners(appId: string, topic: ListenTopic, count: number) {
  const runtime = (await stack.runtime(appId, 0))!;
  await until(
    async () => (await runtime.node.listeners.listeners(appId, topic)).length === count,
    `${count} ${topic} listeners`,
  );
}

/** Waits until node `node` has `count` subscribers of an event. */
async function subscribers(appId: string, node: number, name: string, count: number) {
  const runtime = (await stack.runtime(appId, node))!;
  await until(
    () => runtime.events.subscriptions.count(name) === count,
    `${count} subscribers of ${name} on node ${node}`,
  );
}

describe('listening across nodes', () => {
  it('offers a name subscribed on one node to a listener on another, and tells it when the last subscriber leaves', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'provider' }, { node: 2 });
    const subscriber = await stack.client(appId, { username: 'sub' }, { node: 0 });
    const log: string[] = [];
    listen(provider, 'event', 'weather/.*', log, 'p', (name, response) => {
      response.accept();
      provider.event.emit(name, `forecast for ${name}`);
    });
    await listeners(appId, 'event', 1);
    const seen: unknown[] = [];
    subscriber.event.subscribe('weather/berlin', (data: unknown) => seen.push(data));
    await until(() => seen.length === 1, 'the provider’s emit');
    expect(seen).toEqual(['forecast for weather/berlin']);
    expect(log).toEqual(['p found weather/berlin']);
    const registry = (await stack.runtime(appId, 0))!.node.listeners;
    await until(
      async () => (await registry.providers(appId, 'event', ['weather/berlin']))[0] !== null,
      'claimed',
    );
    // A name nobody listens to is offered to nobody.
    subscriber.event.subscribe('rain', () => {});
    await subscribers(appId, 0, 'rain', 1);
    unsubscribe(subscriber, 'weather/berlin');
    await until(() => log.length === 2, 'stopped');
    expect(log).toEqual(['p found weather/berlin', 'p stopped weather/berlin']);
  });

  it('moves a rejected offer to a listener on another node', async () => {
    const appId = await stack.createApp();
    const first = await stack.client(appId, { username: 'first' }, { node: 1 });
    const second = await stack.client(appId, { username: 'second' }, { node: 2 });
    const subscriber = await stack.client(appId, { username: 'sub' }, { node: 0 });
    const log: string[] = [];
    let rejectNow: () => void = () => {};
    listen(first, 'event', 'q/.*', log, 'node1', (_name, response) => {
      rejectNow = () => response.reject();
    });
    await listeners(appId, 'event', 1);
    subscriber.event.subscribe('q/a', () => {});
    await until(() => log.length === 1, 'offered to node 1');
    // Node 2 listens while node 1 is still deciding: it is not asked yet (one at a time).
    listen(second, 'event', 'q/.*', log, 'node2');
    await listeners(appId, 'event', 2);
    expect(log).toEqual(['node1 found q/a']);
    rejectNow();
    await until(() => log.length === 2, 'offered to node 2');
    expect(log).toEqual(['node1 found q/a', 'node2 found q/a']);
    const registry = (await stack.runtime(appId, 0))!.node.listeners;
    await until(
      async () => (await registry.providers(appId, 'event', ['q/a']))[0] !== null,
      'claimed',
    );
  });

  it('moves an unanswered offer on after the listen response timeout', async () => {
    const appId = await stack.createApp();
    const silent = await stack.client(appId, { username: 'silent' }, { node: 1 });
    const second = await stack.client(appId, { username: 'second' }, { node: 2 });
    const subscriber = await stack.client(appId, { username: 'sub' }, { node: 0 });
    const log: string[] = [];
    listen(silent, 'record', 'slow/.*', log, 'node1', () => {});
    await listeners(appId, 'record', 1);
    const record = subscriber.record.getRecord('slow/x');
    await until(() => log.length === 1, 'offered to node 1');
    listen(second, 'record', 'slow/.*', log, 'node2');
    await until(() => log.length === 2, 'offered to node 2 after the timeout');
    expect(log).toEqual(['node1 found slow/x', 'node2 found slow/x']);
    await until(() => record.hasProvider, 'HAS_PROVIDER');
  });

  it('tells record subscribers on every node whether the record has a provider', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'provider' }, { node: 1 });
    const s0 = await stack.client(appId, { username: 's0' }, { node: 0 });
    const s2 = await stack.client(appId, { username: 's2' }, { node: 2 });
    const log: string[] = [];
    listen(provider, 'record', 'prices/.*', log, 'p', (name, response) => {
      response.accept();
      provider.record.setData(name, { price: 42 });
    });
    await listeners(appId, 'record', 1);
    const onNode0 = s0.record.getRecord('prices/eur');
    await until(() => onNode0.hasProvider, 'HAS_PROVIDER on node 0');
    await until(() => onNode0.get('price') === 42, 'provided data');
    // A later subscriber on another node learns it at once; nobody is asked again.
    const onNode2 = s2.record.getRecord('prices/eur');
    await until(() => onNode2.hasProvider, 'HAS_PROVIDER on node 2');
    expect(log).toEqual(['p found prices/eur']);
    provider.record.unlisten('prices/.*');
    await until(() => !onNode0.hasProvider && !onNode2.hasProvider, 'HAS_NO_PROVIDER everywhere');
    // Unlistening is the provider's own doing: it is not told to stop.
    expect(log).toEqual(['p found prices/eur']);
  });

  it('offers a late listener the names already subscribed anywhere', async () => {
    const appId = await stack.createApp();
    const a = await stack.client(appId, { username: 'a' }, { node: 0 });
    const b = await stack.client(appId, { username: 'b' }, { node: 1 });
    const provider = await stack.client(appId, { username: 'provider' }, { node: 2 });
    a.event.subscribe('late/a', () => {});
    b.event.subscribe('late/b', () => {});
    b.event.subscribe('other', () => {});
    await subscribers(appId, 0, 'late/a', 1);
    await subscribers(appId, 1, 'late/b', 1);
    await subscribers(appId, 1, 'other', 1);
    const log: string[] = [];
    listen(provider, 'event', 'late/.*', log, 'p');
    await until(() => log.length === 2, 'both offered');
    expect(log.sort()).toEqual(['p found late/a', 'p found late/b']);
  });

  it('registers a node’s many new names in a few registry calls and offers each, and removes them so when their subscriber leaves', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'provider' }, { node: 2 });
    const subscriber = await stack.client(appId, { username: 'many' }, { node: 0 });
    const log: string[] = [];
    listen(provider, 'event', 'many/[0-4]$', log, 'p');
    await listeners(appId, 'event', 1);
    const registry = (await stack.runtime(appId, 0))!.node.listeners;
    // Counted, and called through.
    const spies = {
      one: vi.spyOn(registry, 'subscribe'),
      many: vi.spyOn(registry, 'subscribeMany'),
      leaveOne: vi.spyOn(registry, 'unsubscribe'),
      leaveMany: vi.spyOn(registry, 'unsubscribeMany'),
    };
    const calls = (spy: keyof typeof spies) => spies[spy].mock.calls.length;
    try {
      const names = Array.from({ length: 600 }, (_, i) => `many/${i}`);
      for (const name of names) subscriber.event.subscribe(name, () => {});
      // Subscribed and left at once: nothing of it is left in the registry.
      subscriber.event.subscribe('many/gone', () => {});
      unsubscribe(subscriber, 'many/gone');
      await subscribers(appId, 0, 'many/599', 1);
      await until(() => log.length === 5, 'five offers');
      expect(log.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `p found many/${i}`));
      await until(
        async () => (await registry.unprovided(appId, 'event')).length === 595,
        'the others unprovided',
      );
      expect(calls('one')).toBe(0);
      expect(calls('many')).toBeGreaterThan(0);
      // A batch takes the names of one turn's slice (0.3 ms) while the one
      // before is in Redis: 6-10 calls on a quiet machine, 25 seen with the
      // whole suite running beside it. One a name would be 600.
      expect(calls('many')).toBeLessThanOrEqual(60);
      expect(await registry.unprovided(appId, 'event')).not.toContain('many/gone');

      // The subscriber leaves with its 600 names: a few registry calls, and
      // the provider of each of the five is told to stop.
      const leftBefore = { one: calls('leaveOne'), many: calls('leaveMany') };
      subscriber.close();
      await until(() => log.filter((l) => l.startsWith('p stopped')).length === 5, 'five stops');
      expect(log.filter((l) => l.startsWith('p stopped')).sort()).toEqual(
        [0, 1, 2, 3, 4].map((i) => `p stopped many/${i}`),
      );
      await until(
        async () => (await registry.unprovided(appId, 'event')).length === 0,
        'nothing subscribed left in the registry',
      );
      expect(calls('leaveOne') - leftBefore.one).toBe(0);
      expect(calls('leaveMany') - leftBefore.many).toBeGreaterThan(0);
      // Removed 500 a turn (NAMES_REMOVED_PER_TURN), 128 to a batch.
      expect(calls('leaveMany') - leftBefore.many).toBeLessThanOrEqual(10);
      // Subscribed again, from scratch: offered again.
      const again = await stack.client(appId, { username: 'again' }, { node: 0 });
      again.event.subscribe('many/3', () => {});
      await until(() => log.filter((l) => l === 'p found many/3').length === 2, 'offered again');
      again.close();
    } finally {
      for (const spy of Object.values(spies)) spy.mockRestore();
    }
  });

  it('offers a name again on another node when its provider disconnects', async () => {
    const appId = await stack.createApp();
    const first = await stack.client(appId, { username: 'first' }, { node: 1 });
    const second = await stack.client(appId, { username: 'second' }, { node: 2 });
    const subscriber = await stack.client(appId, { username: 'sub' }, { node: 0 });
    const log: string[] = [];
    listen(first, 'record', 'stock/.*', log, 'node1');
    await listeners(appId, 'record', 1);
    const record = subscriber.record.getRecord('stock/acme');
    await until(() => record.hasProvider, 'provided by node 1');
    listen(second, 'record', 'stock/.*', log, 'node2');
    await listeners(appId, 'record', 2);
    expect(log).toEqual(['node1 found stock/acme']);
    first.close();
    await until(() => log.includes('node2 found stock/acme'), 'offered to node 2');
    await until(() => record.hasProvider, 'provided by node 2');
    const node1 = (await stack.runtime(appId, 1))!;
    expect(node1.records.listeners.hasProvider('stock/acme')).toBe(false);
  });

  it('settles what a dead node provided or subscribed once its registrations are removed', async () => {
    const appId = await stack.createApp();
    const onNode1 = await stack.client(appId, { username: 'one' }, { node: 1 });
    const onNode2 = await stack.client(appId, { username: 'two' }, { node: 2 });
    const subscriber = await stack.client(appId, { username: 'sub' }, { node: 0 });
    const log: string[] = [];
    // Node 1 provides dead/a (subscribed on node 0); node 2 provides dead/b (subscribed on node 1 only).
    listen(onNode1, 'record', 'dead/a', log, 'node1');
    listen(onNode2, 'record', 'dead/b', log, 'node2');
    await listeners(appId, 'record', 2);
    const a = subscriber.record.getRecord('dead/a');
    onNode1.record.getRecord('dead/b');
    await until(() => log.length === 2 && a.hasProvider, 'both provided');
    listen(onNode2, 'record', 'dead/.*', log, 'node2*');
    await listeners(appId, 'record', 3);

    // Node 1 is found dead: a survivor removes its share and tells everyone.
    const node0 = (await stack.runtime(appId, 0))!;
    const node1 = (await stack.runtime(appId, 1))!;
    const dead = node1.node.bus.nodeId;
    // (Other tests' apps had subscribers on node 1 too.)
    const gone = (await node0.node.listeners.removeNode(dead)).filter((g) => g.appId === appId);
    expect(gone).toEqual([
      { appId, topic: 'record', name: 'dead/b', provider: expect.any(String), offer: null },
    ]);
    await node0.node.bus.publish(CLUSTER_SCOPE, 'node.dead', { node: dead });
    // dead/a is offered again, to node 2's listener; dead/b's provider is told to stop.
    await until(() => log.includes('node2* found dead/a'), 're-offered');
    await until(() => log.includes('node2 stopped dead/b'), 'stopped');
    await until(
      async () => (await node0.node.listeners.providers(appId, 'record', ['dead/a']))[0] !== null,
      'provided again',
    );
    await until(() => a.hasProvider, 'HAS_PROVIDER again');
    expect(log.filter((l) => l.includes('dead/a'))).toEqual([
      'node1 found dead/a',
      'node2* found dead/a',
    ]);
  });

  it('offers again, and keeps its providers, after Redis lost the listening state', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'provider' }, { node: 2 });
    const subscriber = await stack.client(
      appId,
      { username: 'sub' },
      { node: 0, recordDiscardTimeout: 50 },
    );
    const log: string[] = [];
    let offers = 0;
    listen(provider, 'record', 'lost/.*', log, 'p', (name, response) => {
      // The first offer of lost/x is refused, every later one accepted.
      if (name === 'lost/x' && offers++ === 0) response.reject();
      else response.accept();
    });
    await listeners(appId, 'record', 1);
    const kept = subscriber.record.getRecord('lost/kept');
    await until(() => kept.hasProvider, 'lost/kept provided');
    const refused = subscriber.record.getRecord('lost/x');
    await until(() => log.includes('p found lost/x'), 'lost/x offered');
    const registry = (await stack.runtime(appId, 0))!.node.listeners;
    await until(
      async () => (await registry.unprovided(appId, 'record')).includes('lost/x'),
      'refused',
    );

    // As if Redis restarted empty: then each node writes its share back, the
    // subscribers' node first (it finds no listener and no provider yet).
    const redis = new Redis(stack.redisUrl);
    try {
      const keys = [
        ...(await redis.keys(`${stack.keyPrefix}hs:${appId}:listen:*`)),
        ...(await redis.keys(`${stack.keyPrefix}hs:_cluster:listen:*`)),
      ];
      expect(keys.length).toBeGreaterThan(0);
      await redis.del(...keys);
    } finally {
      await redis.quit();
    }
    for (const node of [0, 1, 2])
      await (await stack.runtime(appId, node))!.node.listeners.restore();
    await until(() => refused.hasProvider, 'lost/x offered again and provided');
    await until(() => kept.hasProvider, 'lost/kept provided again');
    expect(log.filter((l) => l === 'p found lost/x')).toHaveLength(2);
    expect(log.filter((l) => l === 'p found lost/kept')).toHaveLength(1);
    expect((await registry.providers(appId, 'record', ['lost/kept']))[0]).not.toBeNull();
    kept.discard();
    await until(() => log.includes('p stopped lost/kept'), 'the restored provider is told to stop');
  });

  it('has one provider when subscribers on two nodes subscribe at once', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'provider' }, { node: 2 });
    const a = await stack.client(appId, { username: 'a' }, { node: 0 });
    const b = await stack.client(appId, { username: 'b' }, { node: 1 });
    const log: string[] = [];
    listen(provider, 'event', 'race/.*', log, 'p');
    await listeners(appId, 'event', 1);
    const names = Array.from({ length: 10 }, (_, i) => `race/${i}`);
    for (const name of names) {
      a.event.subscribe(name, () => {});
      b.event.subscribe(name, () => {});
    }
    await until(() => log.length >= names.length, 'offers');
    for (const name of names) {
      await subscribers(appId, 0, name, 1);
      await subscribers(appId, 1, name, 1);
    }
    const registry = (await stack.runtime(appId, 0))!.node.listeners;
    await until(
      async () => (await registry.providers(appId, 'event', names)).every((p) => p !== null),
      'every name provided',
    );
    expect(log.sort()).toEqual(names.map((n) => `p found ${n}`).sort());
    // Both leave: the provider hears it once per name.
    for (const name of names) {
      unsubscribe(a, name);
      unsubscribe(b, name);
    }
    await until(() => log.length === 2 * names.length, 'stops');
    expect(log.filter((l) => l.includes('stopped')).sort()).toEqual(
      names.map((n) => `p stopped ${n}`).sort(),
    );
  });

  it('keeps two apps’ listeners and subscriptions apart', async () => {
    const first = await stack.createApp();
    const second = await stack.createApp();
    const listenerOfFirst = await stack.client(first, { username: 'l1' }, { node: 1 });
    const listenerOfSecond = await stack.client(second, { username: 'l2' }, { node: 2 });
    const subscriberOfSecond = await stack.client(second, { username: 's' }, { node: 0 });
    const log: string[] = [];
    listen(listenerOfFirst, 'event', 'iso/.*', log, 'first');
    listen(listenerOfSecond, 'event', 'iso/.*', log, 'second');
    await listeners(first, 'event', 1);
    await listeners(second, 'event', 1);
    subscriberOfSecond.event.subscribe('iso/x', () => {});
    await until(() => log.length === 1, 'offered');
    const registry = (await stack.runtime(second, 0))!.node.listeners;
    await until(
      async () => (await registry.providers(second, 'event', ['iso/x']))[0] !== null,
      'provided in the second app',
    );
    expect(log).toEqual(['second found iso/x']);
    expect(await registry.providers(first, 'event', ['iso/x'])).toEqual([null]);
    expect(await registry.unprovided(first, 'event')).toEqual([]);
  });
});
