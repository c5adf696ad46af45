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
    const dbg = new Redis(server.url);
    const errs: string[] = [];
    await until(async () => {
      const r = await users[0]!.client.rpc.make('echo', 'after').catch((e: unknown) => { errs.push(String(e)); return undefined; });
      return r === 'after';
    }, 'the provider to be found again', { explain: () => `errs ${[...new Set(errs)]}` }).catch(async (e) => {
      const keys = await dbg.keys(`${stack.keyPrefix}hs:*rpc*`);
      const vals = await Promise.all(keys.map(async (k) => `${k}=${(await dbg.smembers(k)).join(',')}`));
      const nodes = await dbg.zrange(`${stack.keyPrefix}hs:_cluster:nodes`, 0, -1);
      throw new Error(`${e.message}\nkeys ${vals.join(' | ')}\nnodes ${nodes}\nstates ${users.map((u) => u.client.getConnectionState())}`);
    });
    dbg.disconnect();

    await Promise.all(traffic.map((t) => t.stop()));
    const { acked, found } = await acknowledgedWritesFound(stack, appId, traffic);
    expect(acked).toBeGreaterThan(ackedBefore);
    expect(found).toBe(acked);
  });
});

