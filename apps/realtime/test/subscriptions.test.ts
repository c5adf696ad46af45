import { describe, expect, it } from 'vitest';
import { SubscriptionRegistry } from '../src/core/subscriptions.ts';

/** An array that counts how many of its items were iterated. */
function counted(items: string[]) {
  const seen = { count: 0 };
  const array = [...items];
  array[Symbol.iterator] = () => {
    let i = 0;
    return {
      next: () => {
        if (i >= items.length) return { done: true, value: undefined };
        seen.count++;
        return { done: false, value: items[i++]! };
      },
      [Symbol.iterator]() {
        return this;
      },
    } as ArrayIterator<string>;
  };
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
  });

  it('stops at the first name over the limit: a connection at its cap is answered at once', () => {
    const registry = new SubscriptionRegistry<string>();
    registry.add('held', 'c1');
    const { array, seen } = counted(['held', ...Array.from({ length: 1000 }, (_, i) => `n${i}`)]);
    expect(registry.countNew(array, 'c1', 0)).toBe(1);
    expect(seen.count).toBe(2);
  });
});
