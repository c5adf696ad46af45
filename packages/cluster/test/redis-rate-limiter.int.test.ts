import { randomBytes } from 'node:crypto';
import { loadTestConfig } from '@hubstream/config';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisRateLimiter } from '../src/index.ts';
import { rateLimiterContract } from './rate-limiter-contract.ts';

const url = loadTestConfig().TEST_REDIS_URL;
const make = (keyPrefix: string) =>
  new RedisRateLimiter({ redis: new Redis(url), keyPrefix, owned: true });

rateLimiterContract('redis', async () => make(`test:${randomBytes(4).toString('hex')}:`));

describe('redis rate limiter across nodes', () => {
  it('shares one budget between limiters of different nodes', async () => {
    const prefix = `test:${randomBytes(4).toString('hex')}:`;
    const [a, b] = [make(prefix), make(prefix)];
    try {
      const limit = { max: 10, windowMs: 10_000 };
      const verdicts = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).consume('app', 'messages', limit)),
      );
      expect(verdicts.filter((v) => v.allowed)).toHaveLength(10);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
