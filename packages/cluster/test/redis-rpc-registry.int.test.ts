import { randomBytes } from 'node:crypto';
import { loadTestConfig } from '@hubstream/config';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisRpcProviderRegistry } from '../src/index.ts';
import { rpcRegistryContract } from './rpc-registry-contract.ts';

const connections: Redis[] = [];
const connect = () => {
  const redis = new Redis(loadTestConfig().TEST_REDIS_URL);
  connections.push(redis);
  return redis;
};
afterAll(async () => {
  await Promise.all(connections.map((c) => c.quit()));
});
const freshPrefix = () => `test:${randomBytes(4).toString('hex')}:`;

// Each node has its own connection, as each realtime process does.
rpcRegistryContract('redis', async (nodeIds) => {
  const keyPrefix = freshPrefix();
  return nodeIds.map(
    (nodeId) => new RedisRpcProviderRegistry({ redis: connect(), nodeId, keyPrefix }),
  );
});

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys.sort();
}

describe('redis rpc provider registry', () => {
  it('keeps every key of an app under the app’s prefix and the node index under the cluster’s', async () => {
    const keyPrefix = freshPrefix();
    const redis = connect();
    const registry = new RedisRpcProviderRegistry({ redis, nodeId: 'n1', keyPrefix });
    await registry.register('app1', 'add');
    await registry.register('app2', 'add');
    expect(await keysUnder(redis, keyPrefix)).toEqual([
      `${keyPrefix}hs:_cluster:node:n1:rpc`,
      `${keyPrefix}hs:app1:rpc:add`,
      `${keyPrefix}hs:app2:rpc:add`,
    ]);
    await registry.unregister('app1', 'add');
    await registry.unregister('app2', 'add');
    // Empty sets disappear: an app without providers leaves nothing behind.
    expect(await keysUnder(redis, keyPrefix)).toEqual([]);
    await registry.close();
  });

  it('writes its registrations back when its connection comes back to an emptied Redis', async () => {
    const keyPrefix = freshPrefix();
    const redis = connect();
    const observer = new RedisRpcProviderRegistry({ redis: connect(), nodeId: 'o', keyPrefix });
    const registry = new RedisRpcProviderRegistry({ redis, nodeId: 'n1', keyPrefix });
    await registry.register('app1', 'add');
    await registry.register('app1', 'gone');
    await registry.unregister('app1', 'gone');
    // Redis restarted without its data: the keys are gone and the connection drops.
    const keys = await keysUnder(redis, keyPrefix);
    await redis.del(...keys);
    expect(await observer.nodesFor('app1', 'add')).toEqual([]);
    redis.disconnect(true);
    const deadline = Date.now() + 5000;
    while ((await observer.nodesFor('app1', 'add')).length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await observer.nodesFor('app1', 'add')).toEqual(['n1']);
    expect(await observer.nodesFor('app1', 'gone')).toEqual([]);
    expect(await observer.removeNode('n1')).toEqual([{ appId: 'app1', name: 'add' }]);
    await registry.close();
    await observer.close();
  });
});
