import { hash } from 'node:crypto';
import type { Limit, RateLimiter } from '@hubstream/cluster';
import { describe, expect, it, vi } from 'vitest';

// The throttle's bucket keys: the same strings on every node (they meet in
// Redis), made once per (email, address) while that pair keeps coming.

vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  return { ...original, hash: vi.fn(original.hash) };
});

const { reserveLogin } = await import('../src/login-throttle.ts');

const settings = { windowMs: 60_000, perEmailAndAddress: 3, perAddress: 5, perEmail: 7 };

/** A limiter that refuses everything and notes the keys it was asked about. */
function refusing(): RateLimiter & { keys: string[] } {
  const keys: string[] = [];
  return {
    keys,
    async consume(_appId: string, key: string, _limit: Limit) {
      keys.push(key);
      return { allowed: false, remaining: 0, resetInMs: 1_000 };
    },
    async release() {},
    async close() {},
  };
}

describe('login throttle keys', () => {
  it('names the buckets by the email digest and the address', async () => {
    const limiter = refusing();
    await reserveLogin(limiter, settings, 'app', 'keys@example.com', '::ffff:198.51.100.7');
    const email = hash('sha256', 'keys@example.com', 'hex').slice(0, 32);
    expect(limiter.keys).toEqual([`login-failures:pair:${email}:198.51.100.7`]);
  });

  it('hashes an email once while guesses at it keep coming from one address', async () => {
    const limiter = refusing();
    const hashed = vi.mocked(hash);
    hashed.mockClear();
    for (let i = 0; i < 20; i++) {
      const verdict = await reserveLogin(
        limiter,
        settings,
        'app',
        'burst@example.com',
        '192.0.2.9',
      );
      expect(verdict).toEqual({ ok: false, retryAfterMs: 1_000 });
    }
    expect(hashed).toHaveBeenCalledTimes(1);
    expect(new Set(limiter.keys).size).toBe(1);
    // Another address: its own keys, the same email digest.
    await reserveLogin(limiter, settings, 'app', 'burst@example.com', '192.0.2.10');
    expect(limiter.keys.at(-1)).toBe(limiter.keys[0]!.replace('192.0.2.9', '192.0.2.10'));
  });
});
