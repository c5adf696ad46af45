import { randomBytes } from 'node:crypto';
import { loadTestConfig } from '@hubstream/config';
import { until } from '@hubstream/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisConnectionCounter } from '../src/index.ts';
import { connectionCounterContract } from './connection-counter-contract.ts';

// The per-app connection count in Redis: the contract (the same answers as
// in-process), a count per node that a dead node loses, and a node that
// reconnects writes back.

const connections: Redis[] = [];
const connect = () => {
  const redis = new Redis(loadTestConfig().TEST_REDIS_URL);
  connections.push(redis);
  return redis;
};
afterAll(async () => {
  await Promise.all(connections.map((c) => c.quit()));
});

const prefix = () => `test:${randomBytes(4).toString('hex')}:`;

connectionCounterContract(
  'redis',
  () => new RedisConnectionCounter({ redis: connect(), nodeId: 'n1', keyPrefix: prefix() }),
);

describe('redis connection counter across nodes', () => {
  it('counts every node toward one maximum, and removeNode drops a dead node’s share', async () => {
    const keyPrefix = prefix();
    const a = new RedisConnectionCounter({ redis: connect(), nodeId: 'node-a', keyPrefix });
    const b = new RedisConnectionCounter({ redis: connect(), nodeId: 'node-b', keyPrefix });
    expect(await a.acquire('app', 3)).toBe(true);
    expect(await b.acquire('app', 3)).toBe(true);
    expect(await b.acquire('app', 3)).toBe(true);
    expect(await a.acquire('app', 3)).toBe(false);
    expect(await b.acquire('app2', 3)).toBe(true);

    expect((await a.removeNode('node-b')).sort((x, y) => x.appId.localeCompare(y.appId))).toEqual([
      { appId: 'app', connections: 2 },
      { appId: 'app2', connections: 1 },
    ]);
    expect(await a.removeNode('node-b')).toEqual([]);
    expect(await a.count('app')).toBe(1);
    expect(await a.count('app2')).toBe(0);
    expect(await a.acquire('app', 3)).toBe(true);

    // Every key is under the app's id or the cluster scope.
    const keys = await connect().keys(`${keyPrefix}*`);
    for (const key of keys) expect(key).toMatch(new RegExp(`^${keyPrefix}hs:(app|app2|_cluster):`));
  });

  it('writes its own counts back when Redis comes back empty', async () => {
    const keyPrefix = prefix();
    const redis = connect();
    const counter = new RedisConnectionCounter({ redis, nodeId: 'node-a', keyPrefix });
    const other = new RedisConnectionCounter({ redis: connect(), nodeId: 'node-b', keyPrefix });
    expect(await counter.acquire('app', 10)).toBe(true);
    expect(await counter.acquire('app', 10)).toBe(true);
    await counter.release('app');
    expect(await other.acquire('app', 10)).toBe(true);

    // Redis lost everything (as after a restart), then the connection comes back.
    const admin = connect();
    const keys = await admin.keys(`${keyPrefix}*`);
    await admin.del(...keys);
    expect(await other.count('app')).toBe(0);
    redis.disconnect(true);
    await until(async () => (await other.count('app')) === 1, 'node-a’s count written back');
    // node-b's own count comes back from node-b, not from node-a.
    await other.restore();
    expect(await other.count('app')).toBe(2);
    // And removeNode still finds what node-a wrote back.
    expect(await other.removeNode('node-a')).toEqual([{ appId: 'app', connections: 1 }]);
  });
});
