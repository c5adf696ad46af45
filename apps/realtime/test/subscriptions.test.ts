import { describe, expect, it } from 'vitest';
import { isSeveral, listOf, SubscriptionRegistry } from '../src/core/subscriptions.ts';

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

describe('SubscriptionRegistry: one subscriber as itself, several in a Set', () => {
  type Conn = { id: string };
  const c1: Conn = { id: 'c1' };
  const c2: Conn = { id: 'c2' };
  const c3: Conn = { id: 'c3' };

  it('holds a lone subscriber without a Set, and grows to one and back as others come and go', () => {
    const registry = new SubscriptionRegistry<Conn>();
    expect(registry.add('n', c1)).toBe(true);
    expect(registry.add('n', c1)).toBe(false);
    expect(registry.subscribers('n')).toBe(c1);
    expect(isSeveral(registry.subscribers('n')!)).toBe(false);
    expect(registry.count('n')).toBe(1);
    expect(registry.has('n', c1)).toBe(true);
    expect(registry.has('n', c2)).toBe(false);

    expect(registry.add('n', c2)).toBe(true);
    expect(registry.add('n', c2)).toBe(false);
    expect(registry.add('n', c3)).toBe(true);
    const several = registry.subscribers('n')!;
    expect(isSeveral(several)).toBe(true);
    expect(listOf(several)).toEqual([c1, c2, c3]);
    expect(registry.count('n')).toBe(3);

    expect(registry.remove('n', c1)).toBe(true);
    expect(registry.remove('n', c1)).toBe(false);
    expect(registry.count('n')).toBe(2);
    expect(registry.remove('n', c3)).toBe(true);
    // Back to one: the subscriber itself, not a Set of one.
    expect(registry.subscribers('n')).toBe(c2);
    expect(registry.has('n', c2)).toBe(true);
    expect(registry.has('n', c3)).toBe(false);
    expect(registry.remove('n', c1)).toBe(false);
    expect(registry.remove('n', c2)).toBe(true);
    expect(registry.subscribers('n')).toBeUndefined();
    expect(registry.count('n')).toBe(0);
    expect(listOf(registry.subscribers('n'))).toEqual([]);
    expect(registry.countOf(c1) + registry.countOf(c2) + registry.countOf(c3)).toBe(0);
  });

  it('removes a connection from names it shares and names it holds alone', () => {
    const registry = new SubscriptionRegistry<Conn>();
    registry.add('alone', c1);
    registry.add('pair', c1);
    registry.add('pair', c2);
    registry.add('three', c1);
    registry.add('three', c2);
    registry.add('three', c3);
    expect(registry.removeConnection(c1).sort()).toEqual(['alone', 'pair', 'three']);
    expect(registry.subscribers('alone')).toBeUndefined();
    expect(registry.subscribers('pair')).toBe(c2);
    expect(listOf(registry.subscribers('three'))).toEqual([c2, c3]);
    expect([...registry.entries()]).toEqual([
      ['pair', c2],
      ['three', c2],
      ['three', c3],
    ]);
    expect([...registry.names()].sort()).toEqual(['pair', 'three']);
  });

  it('removes in turns, calling lastGone only for names left with no subscriber', async () => {
    const registry = new SubscriptionRegistry<Conn>();
    for (let i = 0; i < 1_200; i++) {
      registry.add(`n${i}`, c1);
      if (i % 2 === 0) registry.add(`n${i}`, c2);
    }
    const gone: string[] = [];
    registry.removeConnectionInTurns(c1, (name) => gone.push(name));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(gone.length).toBe(600);
    expect(gone.every((name) => Number(name.slice(1)) % 2 === 1)).toBe(true);
    expect(registry.countOf(c1)).toBe(0);
    expect(registry.countOf(c2)).toBe(600);
    expect(registry.subscribers('n0')).toBe(c2);
  });
});
