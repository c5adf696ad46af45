import { randomBytes } from 'node:crypto';
import { loadTestConfig } from '@hubstream/config';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisNodeRegistry } from '../src/index.ts';
import { nodeRegistryContract } from './node-registry-contract.ts';

const connections: Redis[] = [];
const connect = () => {
  const redis = new Redis(loadTestConfig().TEST_REDIS_URL);
  connections.push(redis);
  return redis;
};
afterAll(async () => {
  await Promise.all(connections.map((c) => c.quit()));
});

// Each node its own connection, as separate processes would have.
nodeRegistryContract('redis', () => {
  const keyPrefix = `test:${randomBytes(4).toString('hex')}:`;
  return (nodeId, options) =>
    new RedisNodeRegistry({ redis: connect(), keyPrefix, nodeId, ...options });
});

describe('redis node registry keys', () => {
  it('keeps its entries under the cluster scope of the key prefix', async () => {
    const keyPrefix = `test:${randomBytes(4).toString('hex')}:`;
    const redis = connect();
    const registry = new RedisNodeRegistry({ redis, keyPrefix, nodeId: 'n1', deadAfterMs: 1000 });
    await registry.beat();
    expect(await redis.keys(`${keyPrefix}*`)).toEqual([`${keyPrefix}hs:_cluster:nodes`]);
    await registry.deregister();
  });
});
