import { describe, expect, it } from 'vitest';
import type { RpcProviderRegistry } from '../src/index.ts';

/**
 * `make(nodeIds)` returns one registry per node id, all seeing the same
 * cluster (a fresh one per call).
 */
export function rpcRegistryContract(
  name: string,
  make: (nodeIds: string[]) => Promise<RpcProviderRegistry[]>,
) {
  const sorted = (nodes: string[]) => [...nodes].sort();

  describe(`${name} rpc provider registry contract`, () => {
    it('lists the nodes providing a name, per app and per name', async () => {
      const [a, b] = (await make(['a', 'b'])) as [RpcProviderRegistry, RpcProviderRegistry];
      try {
        await a.register('app1', 'add');
        await a.register('app1', 'add');
        await b.register('app1', 'add');
        await b.register('app1', 'sub');
        await b.register('app2', 'add');
        expect(sorted(await a.nodesFor('app1', 'add'))).toEqual(['a', 'b']);
        expect(await a.nodesFor('app1', 'sub')).toEqual(['b']);
        expect(await b.nodesFor('app2', 'add')).toEqual(['b']);
        expect(await a.nodesFor('app2', 'sub')).toEqual([]);
        expect(await a.nodesFor('app3', 'add')).toEqual([]);

        await a.unregister('app1', 'add');
        await a.unregister('app1', 'add');
        // Never registered there: nothing changes.
        await a.unregister('app2', 'add');
        expect(await b.nodesFor('app1', 'add')).toEqual(['b']);
        expect(await a.nodesFor('app2', 'add')).toEqual(['b']);
        await b.unregister('app1', 'add');
        expect(await a.nodesFor('app1', 'add')).toEqual([]);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('keeps names that differ only in their separators apart', async () => {
      const [a] = (await make(['a'])) as [RpcProviderRegistry];
      try {
        await a.register('app1', 'x:y');
        await a.register('app1', 'x\u0000y');
        expect(await a.nodesFor('app1', 'x')).toEqual([]);
        await a.unregister('app1', 'x:y');
        expect(await a.nodesFor('app1', 'x\u0000y')).toEqual(['a']);
        expect(await a.removeNode('a')).toEqual([{ appId: 'app1', name: 'x\u0000y' }]);
      } finally {
        await a.close();
      }
    });

    it('removes everything a dead node registered, once, and nothing of the others', async () => {
      const [a, b, c] = (await make(['a', 'b', 'c'])) as [
        RpcProviderRegistry,
        RpcProviderRegistry,
        RpcProviderRegistry,
      ];
      try {
        await a.register('app1', 'add');
        await b.register('app1', 'add');
        await b.register('app1', 'sub');
        await b.register('app2', 'add');
        await b.unregister('app1', 'sub');

        const removed = await a.removeNode('b');
        expect(removed.sort((x, y) => x.appId.localeCompare(y.appId))).toEqual([
          { appId: 'app1', name: 'add' },
          { appId: 'app2', name: 'add' },
        ]);
        expect(await c.nodesFor('app1', 'add')).toEqual(['a']);
        expect(await c.nodesFor('app2', 'add')).toEqual([]);
        expect(await c.removeNode('b')).toEqual([]);
        expect(await c.removeNode('never-seen')).toEqual([]);
      } finally {
        await Promise.all([a.close(), b.close(), c.close()]);
      }
    });

    it('writes a node’s own registrations back on restore, without the ones it dropped', async () => {
      const [a, b] = (await make(['a', 'b'])) as [RpcProviderRegistry, RpcProviderRegistry];
      try {
        await b.register('app1', 'add');
        await b.register('app1', 'sub');
        await b.unregister('app1', 'sub');
        await a.removeNode('b');
        expect(await a.nodesFor('app1', 'add')).toEqual([]);
        // b was not dead after all.
        await b.restore();
        expect(await a.nodesFor('app1', 'add')).toEqual(['b']);
        expect(await a.nodesFor('app1', 'sub')).toEqual([]);
        // What it wrote back is again taken back with it.
        expect(await a.removeNode('b')).toEqual([{ appId: 'app1', name: 'add' }]);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });
}
