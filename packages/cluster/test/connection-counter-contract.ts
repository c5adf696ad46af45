import { describe, expect, it } from 'vitest';
import type { ConnectionCounter } from '../src/index.ts';

// The per-app connection count: the same answers in-process and in Redis.

export function connectionCounterContract(name: string, make: () => ConnectionCounter) {
  describe(`${name} connection counter`, () => {
    it('admits up to the maximum per app and frees a place on release', async () => {
      const counter = make();
      expect(await counter.acquire('app', 2)).toBe(true);
      expect(await counter.acquire('app', 2)).toBe(true);
      expect(await counter.acquire('app', 2)).toBe(false);
      expect(await counter.acquire('other', 2)).toBe(true);
      expect(await counter.count('app')).toBe(2);
      await counter.release('app');
      expect(await counter.count('app')).toBe(1);
      expect(await counter.acquire('app', 2)).toBe(true);
      // A lowered maximum refuses new ones but takes nothing away.
      expect(await counter.acquire('app', 1)).toBe(false);
      expect(await counter.count('app')).toBe(2);
      await counter.close();
    });
  });
}
