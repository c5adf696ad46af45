import type { DeepstreamClient } from '@deepstream/client';
import { DeepstreamClient as Client } from '@deepstream/client';
import type { RunningRole } from '@hubstream/testing';
import {
  type Balancer,
  type NodeProcess,
  type RedisServer,
  startBalancer,
  startNodeProcess,
  startRedisServer,
  startRole,
  startTraffic,
  type Traffic,
  until,
} from '@hubstream/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type Stack, startStack } from './harness.ts';

// Faults on the real Redis and Postgres, with the official client: a node
// killed in the middle of traffic, a node drained by SIGTERM, and Redis
// restarted under traffic. Clients reach nodes through a TCP load balancer,
// so they reconnect to whichever node is still there.

const HEARTBEAT_MS = 250;
const DEAD_AFTER_MS = 1500;
const nodeEnv = {
  NODE_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
  NODE_DEAD_AFTER_MS: String(DEAD_AFTER_MS),
};

const errors: string[] = [];
/** A client through the balancer that reconnects for as long as the test runs. */
function balancedClient(url: string, options: Record<string, unknown> = {}): DeepstreamClient {
  const client = new Client(url, {
    maxReconnectAttempts: 50,
    reconnectIntervalIncrement: 50,
    maxReconnectInterval: 300,
    ...options,
  });
  client.on('error', (_meta: unknown, event: string, topic: string) => {
    errors.push(`${event}/${topic}`);
  });
  return client;
}

/** Records, by sender, the `tick` events a client hears in a phase. */
function listenToTicks(client: DeepstreamClient, heard: Map<string, Set<string>>, name: string) {
  heard.set(name, new Set());
  client.event.subscribe('tick', (data: unknown) => {
    const { from, phase } = data as { from: string; phase: number };
    heard.get(name)!.add(`${phase}:${from}`);
  });
}

/** Every client heard every other client's ticks of `phase`. */
function everyoneHeardEveryone(heard: Map<string, Set<string>>, phase: number): boolean {
  return missing(heard, phase).length === 0;
}

/** `listener<-sender` pairs still waiting for a tick of `phase`. */
function missing(heard: Map<string, Set<string>>, phase: number): string[] {
  const names = [...heard.keys()];
  return names.flatMap((listener) =>
    names
      .filter((from) => from !== listener && !heard.get(listener)!.has(`${phase}:${from}`))
      .map((from) => `${listener}<-${from}`),
  );
}

/** Whether an `echo` RPC made now is answered (by a provider on any node). */
async function answers(client: DeepstreamClient, data: string): Promise<boolean> {
  const result = await client.rpc.make('echo', data).catch(() => undefined);
  return result === data;
}

async function acknowledgedWritesFound(stack: Stack, appId: string, traffic: Traffic[]) {
  const acked = new Map(traffic.flatMap((t) => [...t.acked]));
  const rows = await stack.db.prisma.record.findMany({
    where: { appId, name: { in: [...acked.keys()] } },
    select: { name: true, data: true },
  });
  const found = rows.filter((row) => {
    const expected = acked.get(row.name);
    return expected !== undefined && (row.data as { n?: unknown }).n === expected.n;
  });
  return { acked: acked.size, found: found.length };
}

describe('realtime nodes as processes behind a load balancer', () => {
  let stack: Stack;
  let redis: Redis;
  let worker: RunningRole;
  let nodes: NodeProcess[] = [];
  let balancer: Balancer;
  const clients: DeepstreamClient[] = [];

  beforeAll(async () => {
    stack = await startStack({ nodes: 0, redis: true, env: nodeEnv });
    const env = {
      DATABASE_URL: stack.databaseUrl,
      REDIS_URL: stack.redisUrl,
      REDIS_KEY_PREFIX: stack.keyPrefix,
      // The users log in through the stack's echo webhook on loopback.
      WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true',
      ...nodeEnv,
    };
    // The worker persists the writes nobody waited for.
    worker = startRole('worker', env);
    nodes = await Promise.all([0, 1, 2].map(() => startNodeProcess(env)));
    await worker.listening;
    balancer = await startBalancer(nodes.map((n) => n.port));
    redis = new Redis(stack.redisUrl);
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await Promise.all(nodes.map((n) => n.role.stop('SIGKILL')));
    await worker?.stop('SIGKILL');
    await balancer?.close();
    await stack?.close();
    if (redis) {
      const keys = await redis.keys(`${stack.keyPrefix}*`);
      if (keys.length > 0) await redis.unlink(...keys);
      await redis.quit();
    }
  });

  const connect = async (appId: string, user: string, options: Record<string, unknown> = {}) => {
    const client = balancedClient(`${balancer.url}/${appId}`, options);
    clients.push(client);
    await client.login({ username: user });
    return { client, port: balancer.history.at(-1)! };
  };

  it('moves a killed node’s clients to the others, cleans up its presence in time, and loses no acknowledged write', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    // Round robin: the ghost lands on the first node, which is the one to die.
    // It never reconnects, so only the dead node's cleanup can take it offline.
    const ghost = await connect(appId, 'ghost', { maxReconnectAttempts: 0 });
    const victim = nodes.find((n) => n.port === ghost.port)!;
    const users: { client: DeepstreamClient; port: number; name: string }[] = [];
    for (let i = 0; i < 6; i++) users.push({ ...(await connect(appId, `u${i}`)), name: `u${i}` });
    const onVictim = users.filter((u) => u.port === victim.port);
    const watcher = users.find((u) => u.port !== victim.port)!;
    expect(onVictim.length).toBe(2);

    const presence: string[] = [];
    let ghostLeftAt = 0;
    watcher.client.presence.subscribe((user: string, online: boolean) => {
      presence.push(`${user} ${online ? 'joined' : 'left'}`);
      if (user === 'ghost' && !online) ghostLeftAt = Date.now();
    });
    const heard = new Map<string, Set<string>>();
    for (const u of users) listenToTicks(u.client, heard, u.name);
    let phase = 1;
    const traffic = users.map((u) => startTraffic(u.client, u.name, () => phase));
    await until(() => everyoneHeardEveryone(heard, 1), 'events between all nodes');
    expect(await watcher.client.presence.getAll(['ghost'])).toEqual({ ghost: true });

    await victim.role.stop('SIGKILL');
    const killedAt = Date.now();
    balancer.setUpstreams(nodes.filter((n) => n !== victim).map((n) => n.port));
    phase = 2;

    // Its clients reconnect (through the balancer) and resubscribe by themselves.
    nodes = nodes.filter((n) => n !== victim);
    await until(() => everyoneHeardEveryone(heard, 2), 'events after the kill', {
      explain: () =>
        `missing ${missing(heard, 2).join(' ')}; victim had ${onVictim.map((u) => u.name)}; errors ${[...new Set(errors)]} states ${users.map((u) => `${u.name}:${u.client.getConnectionState()}`)}`,
    });
    await until(() => presence.includes('ghost left'), 'the dead node’s presence cleanup');
    const cleanedAfter = ghostLeftAt - killedAt;
    // Bounded: expiry, one beat to notice, and slack for a loaded machine.
    expect(cleanedAfter).toBeLessThan(DEAD_AFTER_MS + HEARTBEAT_MS + 2000);
    // The users who reconnected never looked offline: they were online on two nodes for a while.
    expect(presence.filter((p) => p !== 'ghost left' && p.endsWith('left'))).toEqual([]);
    expect((await watcher.client.presence.getAll()).sort()).toEqual(
      users.filter((u) => u !== watcher).map((u) => u.name),
    );

    // Nothing of the dead node is left in the cluster's state.
    const prefix = stack.keyPrefix;
    expect(await redis.zscore(`${prefix}hs:_cluster:nodes`, victim.nodeId)).toBeNull();
    expect(await redis.zscore(`${prefix}hs:_cluster:node-claims`, victim.nodeId)).toBeNull();
    expect(await redis.keys(`${prefix}*${victim.nodeId}*`)).toEqual([]);
    expect((await redis.zrange(`${prefix}hs:_cluster:nodes`, 0, -1)).sort()).toEqual(
      nodes
        .filter((n) => n !== victim)
        .map((n) => n.nodeId)
        .sort(),
    );

    await Promise.all(traffic.map((t) => t.stop()));
    const { acked, found } = await acknowledgedWritesFound(stack, appId, traffic);
    expect(acked).toBeGreaterThan(0);
    expect(found).toBe(acked);
  });

  it('drains a node on SIGTERM: its clients move to another node and keep working, its writes are in Postgres', async () => {
    expect(nodes.length).toBe(2);
    const appId = await stack.createApp({ namedUsers: true });
    const users: { client: DeepstreamClient; port: number; name: string }[] = [];
    for (let i = 0; i < 4; i++) users.push({ ...(await connect(appId, `d${i}`)), name: `d${i}` });
    const drained = nodes.find((n) => n.port === users[0]!.port)!;
    const other = nodes.find((n) => n !== drained)!;
    const onDrained = users.filter((u) => u.port === drained.port);
    expect(onDrained.length).toBe(2);

    const heard = new Map<string, Set<string>>();
    for (const u of users) listenToTicks(u.client, heard, u.name);
    let phase = 1;
    const traffic = users.map((u) => startTraffic(u.client, u.name, () => phase));
    await until(() => everyoneHeardEveryone(heard, 1), 'events between both nodes');
    // Writes nobody waits for, sent to the drained node just before it stops.
    const loose = onDrained[0]!.client;
    for (let i = 0; i < 20; i++) loose.record.setData(`loose/${i}`, { i });
    // Read back on the same connection: the node has applied them all.
    const applied = await Promise.all(
      Array.from({ length: 20 }, (_, i) => loose.record.snapshot(`loose/${i}`)),
    );
    expect(applied).toEqual(Array.from({ length: 20 }, (_, i) => ({ i })));

    // A bare socket on the drained node, to see how it is closed.
    const bare = new WebSocket(`${drained.url}/${appId}`);
    await new Promise((resolve, reject) => bare.once('open', resolve).once('error', reject));
    const bareClosed = new Promise<[number, string]>((resolve) =>
      bare.once('close', (code, reason) => resolve([code, reason.toString()])),
    );

    const readiness: string[] = [];
    const ready = `http://127.0.0.1:${drained.port}/ready`;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const status = await fetch(ready).then(
          (r) => String(r.status),
          () => 'refused',
        );
        if (readiness.at(-1) !== status) readiness.push(status);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await until(() => readiness.length > 0, 'a first readiness answer');
    const code = await drained.role.stop('SIGTERM');
    polling = false;
    await poll;
    expect(code).toBe(0);
    // Going away, not an error: the official client reconnects on it.
    expect(await bareClosed).toEqual([1001, 'node shutting down']);
    const draining = drained.role.logs.find((l) => String(l.msg).startsWith('draining:'));
    expect(draining?.connections).toBeGreaterThanOrEqual(onDrained.length);
    expect(drained.role.logs.some((l) => String(l.msg).startsWith('drained:'))).toBe(true);
    // Ready until the signal; never ready again once it stopped being.
    expect(readiness[0]).toBe('200');
    expect(readiness.slice(1).every((s) => s !== '200')).toBe(true);
    // It left the registry itself: nobody had to wait for its entry to expire.
    expect(await redis.zrange(`${stack.keyPrefix}hs:_cluster:nodes`, 0, -1)).toEqual([
      other.nodeId,
    ]);

    phase = 2;
    await until(() => everyoneHeardEveryone(heard, 2), 'events after the drain');
    await Promise.all(traffic.map((t) => t.stop()));
    const { acked, found } = await acknowledgedWritesFound(stack, appId, traffic);
    expect(acked).toBeGreaterThan(0);
    expect(found).toBe(acked);
    // The drained node's loose writes were flushed (or handed to the worker) before it exited.
    await until(
      async () =>
        (await stack.db.prisma.record.count({
          where: { appId, name: { startsWith: 'loose/' } },
        })) === 20,
      'the loose writes in Postgres',
    );
    nodes = [other];
  });
});

describe('Redis restarted under traffic', () => {
  let server: RedisServer;
  let stack: Stack;

  beforeAll(async () => {
    server = await startRedisServer();
    stack = await startStack({ nodes: 3, redis: true, redisUrl: server.url, env: nodeEnv });
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await server?.kill();
  });

  it('reconnects and resubscribes every node, writes the registries back, and loses no acknowledged write', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const users: { client: DeepstreamClient; name: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const client = await stack.client(
        appId,
        { username: `r${i}` },
        { node: i % 3, maxReconnectAttempts: 50 },
      );
      users.push({ client, name: `r${i}` });
    }
    // An RPC provider on node 2, registered in Redis before the restart.
    await users[2]!.client.rpc.provide(
      'echo',
      (data: unknown, response: { send(d: unknown): void }) => response.send(data),
    );
    await until(() => answers(users[0]!.client, 'before'), 'the provider to be found');
    const heard = new Map<string, Set<string>>();
    for (const u of users) listenToTicks(u.client, heard, u.name);
    let phase = 1;
    const traffic = users.map((u) => startTraffic(u.client, u.name, () => phase));
    await until(() => everyoneHeardEveryone(heard, 1), 'events between all nodes');
    const ackedBefore = traffic.reduce((sum, t) => sum + t.acked.size, 0);

    await server.kill();
    await server.start();
    phase = 2;

    await until(() => everyoneHeardEveryone(heard, 2), 'events after the restart');
    // Presence came back from the nodes' own mirrors: Redis started empty.
    const probe = new Redis(server.url);
    try {
      await until(
        async () => (await probe.hkeys(`${stack.keyPrefix}hs:${appId}:presence`)).length === 6,
        'presence written back',
      );
      // And every node beats again.
      await until(
        async () => (await probe.zcard(`${stack.keyPrefix}hs:_cluster:nodes`)) === 3,
        'the nodes registered again',
      );
    } finally {
      probe.disconnect();
    }
    expect((await users[0]!.client.presence.getAll()).sort()).toEqual(
      users.slice(1).map((u) => u.name),
    );
    // Node 2 wrote its provider back: node 0 finds it again.
    await until(() => answers(users[0]!.client, 'after'), 'the provider to be found again');

    await Promise.all(traffic.map((t) => t.stop()));
    const { acked, found } = await acknowledgedWritesFound(stack, appId, traffic);
    expect(acked).toBeGreaterThan(ackedBefore);
    expect(found).toBe(acked);
  });
});

describe('a node wrongly declared dead', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ nodes: 2, redis: true, env: nodeEnv });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('is cleaned up while it stalls, then writes its registrations back and its users come online again', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const watcher = await stack.client(appId, { username: 'watcher' }, { node: 0 });
    const seen: string[] = [];
    watcher.presence.subscribe((user: string, online: boolean) =>
      seen.push(`${user} ${online ? 'joined' : 'left'}`),
    );
    const runtime = (await stack.runtime(appId, 0))!;
    await until(() => runtime.presence.everyone.size === 1, 'subscribed');
    const ann = await stack.client(appId, { username: 'ann' }, { node: 1 });
    await ann.rpc.provide('echo', (data: unknown, response: { send(d: unknown): void }) =>
      response.send(data),
    );
    await until(() => seen.length === 1, 'ann joined');
    await until(() => answers(watcher, 'one'), 'the provider on node 1');

    // Node 1 stalls (a long GC pause): its connections stay, its beats stop.
    const stalled = stack.node(1).hubstream.lifecycle!;
    await stalled.halt();
    await until(() => seen.length === 2, 'node 1 declared dead');
    expect(seen).toEqual(['ann joined', 'ann left']);
    // Its provider was taken out with the rest (in parallel with presence).
    await until(async () => !(await answers(watcher, 'two')), 'the provider removed');

    await stalled.start();
    await until(() => seen.length === 3, 'ann back');
    expect(seen).toEqual(['ann joined', 'ann left', 'ann joined']);
    await until(() => answers(watcher, 'three'), 'the provider written back');
    const redis = new Redis(stack.redisUrl);
    try {
      expect(await redis.zcard(`${stack.keyPrefix}hs:_cluster:nodes`)).toBe(2);
    } finally {
      await redis.quit();
    }
    expect(ann.getConnectionState()).toBe('OPEN');
  });
});
