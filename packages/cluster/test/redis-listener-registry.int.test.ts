import { randomBytes } from 'node:crypto';
import { loadTestConfig } from '@hubstream/config';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisListenerRegistry } from '../src/index.ts';
import { listenerRegistryContract } from './listener-registry-contract.ts';

const connections: Redis[] = [];
const connect = () => {
  const redis = new Redis(loadTestConfig().TEST_REDIS_URL);
  connections.push(redis);
  return redis;
};
afterAll(async () => {
  await Promise.all(connections.map((c) => c.quit()));
});

listenerRegistryContract('redis', async () => {
  const keyPrefix = `test:${randomBytes(4).toString('hex')}:`;
  return {
    a: new RedisListenerRegistry({ redis: connect(), nodeId: 'node-a', keyPrefix }),
    b: new RedisListenerRegistry({ redis: connect(), nodeId: 'node-b', keyPrefix }),
  };
});

describe('redis listener registry', () => {
  it('answers each of many names subscribed and unsubscribed in one turn (one script call per batch)', async () => {
    const keyPrefix = `test:${randomBytes(4).toString('hex')}:`;
    const a = new RedisListenerRegistry({ redis: connect(), nodeId: 'node-a', keyPrefix });
    const b = new RedisListenerRegistry({ redis: connect(), nodeId: 'node-b', keyPrefix });
    await b.addListener('app', 'event', 'conn-b', 'x/.*');
    await b.subscribe('app', 'event', 'x/0', '');
    await b.subscribe('app', 'event', 'x/1', '');
    expect(await b.claim('app', 'event', 'x/1', 'provider-1', '')).toBe(true);
    // More names than one script call takes: two batches and a remainder.
    const names = Array.from({ length: 600 }, (_, i) => `x/${i}`);
    const results = await Promise.all(names.map((n) => a.subscribe('app', 'event', n, `o-${n}`)));
    expect(results[0]).toEqual({ first: false, provided: false, offer: false });
    expect(results[1]).toEqual({ first: false, provided: true, offer: false });
    for (const result of results.slice(2))
      expect(result).toEqual({ first: true, provided: false, offer: true });
    // Again: this node holds them already.
    expect(await a.subscribe('app', 'event', 'x/5', 'again')).toEqual({
      first: false,
      provided: false,
      offer: false,
    });
    const gone = await Promise.all(names.map((n) => a.unsubscribe('app', 'event', n)));
    expect(gone[0]).toEqual({ last: false, provider: null, offer: null });
    expect(gone[1]).toEqual({ last: false, provider: null, offer: null });
    for (const [i, result] of gone.slice(2).entries())
      expect(result).toEqual({ last: true, provider: null, offer: `o-x/${i + 2}` });
    expect(await b.unsubscribe('app', 'event', 'x/1')).toEqual({
      last: true,
      provider: 'provider-1',
      offer: null,
    });
  });

  it("keeps every key under the app's prefix and the node index under _cluster", async () => {
    const keyPrefix = `test:${randomBytes(4).toString('hex')}:`;
    const redis = connect();
    const a = new RedisListenerRegistry({ redis, nodeId: 'node-a', keyPrefix });
    await a.addListener('app1', 'record', 'conn', 'p/.*');
    await a.subscribe('app1', 'record', 'p/1', 'offer');
    expect((await redis.keys(`${keyPrefix}*`)).sort()).toEqual([
      `${keyPrefix}hs:_cluster:listen:node-a`,
      `${keyPrefix}hs:app1:listen:record:listeners`,
      `${keyPrefix}hs:app1:listen:record:offers`,
      `${keyPrefix}hs:app1:listen:record:order`,
      `${keyPrefix}hs:app1:listen:record:seq`,
      `${keyPrefix}hs:app1:listen:record:subs`,
    ]);
  });

  it("writes the node's subscriptions, listeners and providers back after Redis lost them", async () => {
    const keyPrefix = `test:${randomBytes(4).toString('hex')}:`;
    const redis = connect();
    const a = new RedisListenerRegistry({ redis, nodeId: 'node-a', keyPrefix });
    const b = new RedisListenerRegistry({ redis: connect(), nodeId: 'node-b', keyPrefix });
    await a.addListener('app', 'event', 'conn-a', 'n/.*');
    await a.subscribe('app', 'event', 'n/1', 'offer-1');
    await a.subscribe('app', 'event', 'n/2', 'offer-2');
    expect(await a.claim('app', 'event', 'n/1', 'provider-1', 'offer-1')).toBe(true);
    await a.unsubscribe('app', 'event', 'n/2');
    // As if Redis restarted empty.
    const keys = await redis.keys(`${keyPrefix}*`);
    await redis.del(...keys);
    expect(await b.listeners('app', 'event')).toEqual([]);
    let restored = 0;
    const stop = a.onRestored(() => restored++);
    await a.restore();
    await a.restore(); // twice is once
    expect(restored).toBe(2);
    stop();
    expect(await b.listeners('app', 'event')).toEqual([
      { node: 'node-a', connection: 'conn-a', pattern: 'n/.*' },
    ]);
    expect(await b.providers('app', 'event', ['n/1', 'n/2'])).toEqual(['provider-1', null]);
    expect(await b.subscribe('app', 'event', 'n/1', 'offer-3')).toMatchObject({ first: false });
    expect(await b.subscribe('app', 'event', 'n/2', 'offer-4')).toMatchObject({ first: true });
    // The written-back state is the node's again: a dead node's share is found.
    await b.unsubscribe('app', 'event', 'n/1');
    expect(await b.removeNode('node-a')).toEqual([
      { appId: 'app', topic: 'event', name: 'n/1', provider: null, offer: null },
    ]);
  });

  it('writes its share back by itself when the connection is ready again', async () => {
    const keyPrefix = `test:${randomBytes(4).toString('hex')}:`;
    const redis = connect();
    const a = new RedisListenerRegistry({ redis, nodeId: 'node-a', keyPrefix });
    const other = connect();
    await a.addListener('app', 'record', 'conn-a', 'r/.*');
    await other.del(`${keyPrefix}hs:app:listen:record:listeners`);
    await redis.client(
      'KILL',
      'SKIPME',
      'no',
      'TYPE',
      'normal',
      'ID',
      String(await redis.client('ID')),
    );
    const b = new RedisListenerRegistry({ redis: other, nodeId: 'node-b', keyPrefix });
    const deadline = Date.now() + 5000;
    while ((await b.listeners('app', 'record')).length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await b.listeners('app', 'record')).toEqual([
      { node: 'node-a', connection: 'conn-a', pattern: 'r/.*' },
    ]);
  });
});
