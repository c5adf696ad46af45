import { describe, expect, it } from 'vitest';
import type { RateLimiter, RateVerdict } from '../src/index.ts';

export function rateLimiterContract(name: string, make: () => Promise<RateLimiter>) {
  describe(`${name} rate limiter contract`, () => {
    it('allows up to the limit in a window, refuses beyond it, and starts again after', async () => {
      const limiter = await make();
      try {
        const limit = { max: 3, windowMs: 200 };
        const verdicts: RateVerdict[] = [];
        for (let i = 0; i < 5; i++) verdicts.push(await limiter.consume('app1', 'messages', limit));
        expect(verdicts.map((v) => v.allowed)).toEqual([true, true, true, false, false]);
        expect(verdicts[2]!.remaining).toBe(0);
        expect(verdicts[4]!.resetInMs).toBeGreaterThan(0);
        expect(verdicts[4]!.resetInMs).toBeLessThanOrEqual(200);
        await new Promise((r) => setTimeout(r, verdicts[4]!.resetInMs + 20));
        expect((await limiter.consume('app1', 'messages', limit)).allowed).toBe(true);
      } finally {
        await limiter.close();
      }
    });

    it('keeps apps and keys apart, and refuses a cost that does not fit without taking it', async () => {
      const limiter = await make();
      try {
        const limit = { max: 5, windowMs: 10_000 };
        expect((await limiter.consume('app1', 'k', limit, 4)).allowed).toBe(true);
        expect((await limiter.consume('app1', 'k', limit, 2)).allowed).toBe(false);
        expect((await limiter.consume('app1', 'k', limit, 1)).allowed).toBe(true);
        expect((await limiter.consume('app2', 'k', limit, 5)).allowed).toBe(true);
        expect((await limiter.consume('app1', 'other', limit, 5)).allowed).toBe(true);
      } finally {
        await limiter.close();
      }
    });

    it('gives back what was taken in the current window, never below zero', async () => {
      const limiter = await make();
      try {
        const limit = { max: 2, windowMs: 10_000 };
        expect((await limiter.consume('app1', 'r', limit)).allowed).toBe(true);
        expect((await limiter.consume('app1', 'r', limit)).allowed).toBe(true);
        expect((await limiter.consume('app1', 'r', limit)).allowed).toBe(false);
        await limiter.release('app1', 'r');
        expect((await limiter.consume('app1', 'r', limit)).allowed).toBe(true);
        await limiter.release('app1', 'r', 5);
        await limiter.release('app1', 'never-taken');
        expect((await limiter.consume('app1', 'r', limit, 2)).remaining).toBe(0);
        expect((await limiter.consume('app1', 'never-taken', limit, 2)).allowed).toBe(true);
      } finally {
        await limiter.close();
      }
    });
  });
}
