import { describe, expect, it } from 'vitest';
import { LocalTokenStore } from '../src/index.ts';
import { tokenStoreContract } from './token-store-contract.ts';

// The token table of a node without Redis (pnpm start): tokens expire, stay
// with their app, and the table never holds more than its bound.

type User = { id: string; isAuthenticated: boolean; strategy: string; data: object };
const user = (id: string): User => ({ id, isAuthenticated: true, strategy: 'email', data: {} });

tokenStoreContract('local', () => new LocalTokenStore({ ttlMs: 60_000, maxTokens: 100 }));

describe('LocalTokenStore', () => {
  it('finds a token of its app until it expires', async () => {
    let now = 1_000;
    const store = new LocalTokenStore<{ user: User }>({
      ttlMs: 100,
      maxTokens: 10,
      now: () => now,
    });
    const token = await store.issue('app1', { user: user('alice') });
    expect(token).toMatch(/^hst_[A-Za-z0-9_-]{43}$/);
    expect((await store.find('app1', token))?.user.id).toBe('alice');
    expect(await store.find('app2', token)).toBeNull();
    expect(await store.find('app1', `${token.slice(0, -1)}x`)).toBeNull();
    expect(await store.find('app1', 'not-a-token')).toBeNull();
    now += 100;
    expect(await store.find('app1', token)).toBeNull();
    expect(store.size).toBe(0);
  });

  it('holds at most maxTokens, dropping the oldest first', async () => {
    let now = 0;
    const store = new LocalTokenStore<{ user: User }>({
      ttlMs: 1_000_000,
      maxTokens: 3,
      now: () => now,
    });
    const tokens: string[] = [];
    for (let i = 0; i < 5; i++) {
      now += 1;
      tokens.push(await store.issue('app', { user: user(`u${i}`) }));
    }
    expect(store.size).toBe(3);
    expect(await store.find('app', tokens[0]!)).toBeNull();
    expect(await store.find('app', tokens[1]!)).toBeNull();
    expect((await store.find('app', tokens[4]!))?.user.id).toBe('u4');
  });

  it('drops expired tokens when issuing, whatever the bound', async () => {
    let now = 0;
    const store = new LocalTokenStore<{ user: User }>({
      ttlMs: 10,
      maxTokens: 100,
      now: () => now,
    });
    for (let i = 0; i < 50; i++) await store.issue('app', { user: user('x') });
    now = 20;
    await store.issue('app', { user: user('y') });
    expect(store.size).toBe(1);
  });
});
