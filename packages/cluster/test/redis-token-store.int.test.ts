import { randomBytes } from 'node:crypto';
import { loadTestConfig } from '@hubstream/config';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisTokenStore } from '../src/index.ts';
import { tokenStoreContract } from './token-store-contract.ts';

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

tokenStoreContract(
  'redis',
  () => new RedisTokenStore({ redis: connect(), keyPrefix: prefix(), ttlMs: 60_000 }),
);

describe('redis token store', () => {
  it('keeps only the token’s hash, under the app’s keys, expiring with the token', async () => {
    const keyPrefix = prefix();
    const redis = connect();
    const store = new RedisTokenStore({ redis, keyPrefix, ttlMs: 60_000 });
    const token = await store.issue('app', { user: 'ann' });
    const keys = await redis.keys(`${keyPrefix}*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^${keyPrefix}hs:app:http-token:[0-9a-f]{64}$`));
    expect(keys[0]).not.toContain(token);
    const ttl = await redis.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});
