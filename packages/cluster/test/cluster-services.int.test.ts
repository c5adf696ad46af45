import { randomBytes } from 'node:crypto';
import { loadTestConfig } from '@hubstream/config';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  type BusEnvelope,
  type ClusterServices,
  LocalBus,
  openClusterServices,
  RedisConnectionCounter,
  RedisListenerRegistry,
  RedisNodeRegistry,
  RedisPresenceRegistry,
  RedisRateLimiter,
  RedisRpcProviderRegistry,
  RedisTokenStore,
} from '../src/index.ts';

// openClusterServices with the Redis choice: every registry in the shared
// Redis, and a node lifecycle that takes a dead node's share out of each
// of them and tells the cluster; a graceful close takes the node's own out.

const connections: Redis[] = [];
const connect = () => {
  const redis = new Redis(loadTestConfig().TEST_REDIS_URL);
  connections.push(redis);
  return redis;
};
const opened: ClusterServices[] = [];
afterAll(async () => {
  await Promise.allSettled(opened.map((s) => s.close()));
  await Promise.all(connections.map((c) => c.quit()));
});

const silent = { warn: () => {}, error: () => {} };

function node(nodeId: string, keyPrefix: string) {
  const bus = new LocalBus({ nodeId });
  const services = openClusterServices(
    { kind: 'redis', connection: connect(), keyPrefix },
    {
      bus,
      logger: silent,
      heartbeatIntervalMs: 100,
      deadAfterMs: 1000,
      httpTokens: { ttlMs: 60_000, maxTokens: 100 },
    },
  );
  opened.push(services);
  return { bus, services };
}

describe('openClusterServices (redis)', () => {
  it('gives the Redis registries and a node lifecycle', async () => {
    const { services } = node('only', `test:${randomBytes(4).toString('hex')}:`);
    expect(services.kind).toBe('redis');
    expect(services.presence).toBeInstanceOf(RedisPresenceRegistry);
    expect(services.rpcProviders).toBeInstanceOf(RedisRpcProviderRegistry);
    expect(services.listeners).toBeInstanceOf(RedisListenerRegistry);
    expect(services.rateLimiter).toBeInstanceOf(RedisRateLimiter);
    expect(services.connectionCounts).toBeInstanceOf(RedisConnectionCounter);
    expect(services.httpTokens).toBeInstanceOf(RedisTokenStore);
    expect(services.lifecycle).toBeDefined();
  });

  it('shares the HTTP API’s tokens between nodes', async () => {
    const keyPrefix = `test:${randomBytes(4).toString('hex')}:`;
    const a = node('node-a', keyPrefix);
    const b = node('node-b', keyPrefix);
    const token = await a.services.httpTokens.issue('app', { user: 'ann' });
    expect(await b.services.httpTokens.find('app', token)).toEqual({ user: 'ann' });
    expect(await b.services.httpTokens.find('other', token)).toBeNull();
  });

  it('takes a dead node’s share out of every registry and announces it', async () => {
    const keyPrefix = `test:${randomBytes(4).toString('hex')}:`;
    const a = node('node-a', keyPrefix);
    const b = node('node-b', keyPrefix);
    const heard: BusEnvelope[] = [];
    a.bus.subscribe('node.dead', (m) => heard.push(m));
    a.bus.subscribe('presence.changed', (m) => heard.push(m));
    await a.services.lifecycle?.start();
    await b.services.lifecycle?.start();

    expect(await b.services.presence.join('app', 'bob')).toBe(true);
    await b.services.rpcProviders.register('app', 'add');
    await b.services.listeners.addListener('app', 'event', 'c1', 'news/.*');
    expect(await b.services.connectionCounts.acquire('app', 10)).toBe(true);
    // Node A sees node B's share: they are one cluster.
    expect(await a.services.presence.online('app')).toEqual(['bob']);
    expect(await a.services.rpcProviders.nodesFor('app', 'add')).toEqual(['node-b']);
    expect(await a.services.listeners.listeners('app', 'event')).toEqual([
      { node: 'node-b', connection: 'c1', pattern: 'news/.*' },
    ]);
    expect(await a.services.connectionCounts.count('app')).toBe(1);

    // Node B stops beating without leaving, as a crashed node would.
    await b.services.lifecycle?.halt();
    // Not @hubstream/testing's until: vitest's own vi.waitFor retries the
    // assertion, so a failure shows the diff of what the nodes were told.
    await vi.waitFor(
      async () => {
        expect(heard.map((m) => [m.topic, m.payload])).toEqual([
          ['presence.changed', { user: 'bob', online: false }],
          ['node.dead', { node: 'node-b' }],
        ]);
      },
      { timeout: 20_000, interval: 50 },
    );
    expect(await a.services.presence.online('app')).toEqual([]);
    expect(await a.services.rpcProviders.nodesFor('app', 'add')).toEqual([]);
    expect(await a.services.listeners.listeners('app', 'event')).toEqual([]);
    expect(await a.services.connectionCounts.count('app')).toBe(0);
  });

  it('leaves the node registry and takes its registrations out on close', async () => {
    const keyPrefix = `test:${randomBytes(4).toString('hex')}:`;
    const a = node('node-a', keyPrefix);
    await a.services.lifecycle?.start();
    await a.services.rpcProviders.register('app', 'add');
    expect(await a.services.connectionCounts.acquire('app', 10)).toBe(true);
    const observer = connect();
    const nodes = new RedisNodeRegistry({
      redis: observer,
      keyPrefix,
      nodeId: 'observer',
      deadAfterMs: 1000,
    });
    expect(await nodes.nodes()).toEqual(['node-a']);

    await a.services.close();
    expect(await nodes.nodes()).toEqual([]);
    const rpc = new RedisRpcProviderRegistry({ redis: observer, nodeId: 'observer', keyPrefix });
    expect(await rpc.nodesFor('app', 'add')).toEqual([]);
    const counts = new RedisConnectionCounter({ redis: observer, nodeId: 'observer', keyPrefix });
    expect(await counts.count('app')).toBe(0);
  });
});
