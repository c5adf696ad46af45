import { describe, expect, it } from 'vitest';
import type { TokenStore } from '../src/index.ts';

// The HTTP API's tokens: the same answers in-process and in Redis.

type Session = { user: { id: string } };

export function tokenStoreContract(name: string, make: () => TokenStore<Session>) {
  describe(`${name} token store contract`, () => {
    it('finds a token of its app only, and nothing for what it did not issue', async () => {
      const store = make();
      const token = await store.issue('app1', { user: { id: 'alice' } });
      expect(token).toMatch(/^hst_[A-Za-z0-9_-]{43}$/);
      expect(await store.find('app1', token)).toEqual({ user: { id: 'alice' } });
      expect(await store.find('app2', token)).toBeNull();
      expect(await store.find('app1', `${token.slice(0, -1)}x`)).toBeNull();
      expect(await store.find('app1', 'not-a-token')).toBeNull();
      const other = await store.issue('app1', { user: { id: 'bob' } });
      expect(other).not.toBe(token);
      expect(await store.find('app1', other)).toEqual({ user: { id: 'bob' } });
    });
  });
}
