import { describe, expect, it } from 'vitest';
import { SubscriptionRegistry } from '../src/core/subscriptions.ts';

/** An array that counts how many of its items were read. */
function counted(items: string[]) {
  const seen = { count: 0 };
  const array = new Proxy(items, {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) seen.count++;
      return Reflect.get(target, key, receiver);
    },
  });
  return { array, seen };
}

describe('SubscriptionRegistry.countNew', () => {
  it('counts the distinct names the connection does not hold', () => {
    const registry = new SubscriptionRegistry<string>();
    registry.add('a', 'c1');
    registry.add('b', 'c2');
    expect(registry.countNew(['a', 'b', 'b', 'c', 'a'], 'c1')).toBe(2);
    expect(registry.countNew(['b', 'b', 'c'], 'c1', 2)).toBe(2);
    expect(registry.countNew(['b', 'b', 'c'], 'c1', 1)).toBe(2);
    expect(registry.countNew(['a', 'a'], 'c1', 0)).toBe(0);
    expect(registry.countNew([], 'c1')).toBe(0);
    expect(registry.countNew(['x', 'y'], 'nobody')).toBe(2);
  });

  it('finds every repeat in lists of any size (a scratch table, a Set past it)', () => {
    const registry = new SubscriptionRegistry<string>();
    for (let i = 0; i < 50; i++) registry.add(`n${i}`, 'c1');
    for (const size of [1, 100, 1000, 4096, 5000, 20_000]) {
      // Each name three times, in three runs: repeats far apart and side by side.
      const names = Array.from({ length: size }, (_, i) => `n${i}`);
      const list = [...names, ...names.slice().reverse(), ...names];
      const expected = Math.max(0, size - 50);
      expect(registry.countNew(list, 'c1')).toBe(expected);
      expect(registry.countNew(list.slice(0, size * 2), 'c1', expected)).toBe(expected);
      if (expected > 0) expect(registry.countNew(list, 'c1', expected - 1)).toBe(expected);
    }
    // Names that differ in one code unit, and non-ASCII ones.
    const close = ['ab', 'ba', 'a\u0000b', 'aβ', 'aβ', 'ab', '', ''];
    expect(registry.countNew(close, 'c1')).toBe(5);
  });

  it('stops at the first name over the limit: a connection at its cap is answered at once', () => {
    const registry = new SubscriptionRegistry<string>();
    registry.add('held', 'c1');
    const { array, seen } = counted(['held', ...Array.from({ length: 1000 }, (_, i) => `n${i}`)]);
    expect(registry.countNew(array, 'c1', 0)).toBe(1);
    expect(seen.count).toBe(2);
  });
});
