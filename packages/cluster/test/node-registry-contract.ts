import { until } from '@hubstream/testing';
import { describe, expect, it } from 'vitest';
import { type NodeRegistry, NodeWatch } from '../src/index.ts';

/** Registries of one cluster (a shared table or key prefix), one per node id. */
export type MakeCluster = () => (
  nodeId: string,
  options: { deadAfterMs: number; claimTimeoutMs?: number },
) => NodeRegistry;

export function nodeRegistryContract(name: string, makeCluster: MakeCluster) {
  describe(`${name} node registry contract`, () => {
    it('registers on the first beat, renews on the next, and forgets a node that leaves', async () => {
      const node = makeCluster();
      const a = node('a', { deadAfterMs: 10_000 });
      const b = node('b', { deadAfterMs: 10_000 });
      expect(await a.beat()).toBe('registered');
      expect(await a.beat()).toBe('alive');
      expect(await b.beat()).toBe('registered');
      expect((await a.nodes()).sort()).toEqual(['a', 'b']);
      await b.deregister();
      expect(await a.nodes()).toEqual(['a']);
      expect(await a.claimDead()).toEqual([]);
    });

    it('gives each expired node to exactly one of the nodes claiming at once, never a live one', async () => {
      const node = makeCluster();
      const opts = { deadAfterMs: 150 };
      const [a, b, c, dying] = ['a', 'b', 'c', 'dying'].map((id) => node(id, opts)) as [
        NodeRegistry,
        NodeRegistry,
        NodeRegistry,
        NodeRegistry,
      ];
      await dying.beat();
      const claimed: string[] = [];
      await until(async () => {
        await Promise.all([a.beat(), b.beat(), c.beat()]);
        const round = await Promise.all([a.claimDead(), b.claimDead(), c.claimDead()]);
        claimed.push(...round.flat());
        return claimed.length > 0;
      }, 'dying to expire');
      expect(claimed).toEqual(['dying']);
      expect((await a.nodes()).sort()).toEqual(['a', 'b', 'c']);
      // Claimed once: nobody gets it again while the claim holds.
      expect(await b.claimDead()).toEqual([]);
    });

    it('keeps a node declared dead out until its cleanup is released, then lets it back', async () => {
      const node = makeCluster();
      const a = node('a', { deadAfterMs: 100 });
      const paused = node('paused', { deadAfterMs: 100 });
      await paused.beat();
      await until(async () => {
        await a.beat();
        return (await a.claimDead()).includes('paused');
      }, 'paused to be claimed');
      expect(await paused.beat()).toBe('cleaning');
      expect(await a.nodes()).toEqual(['a']);
      await a.release('paused');
      expect(await paused.beat()).toBe('registered');
      expect((await a.nodes()).sort()).toEqual(['a', 'paused']);
    });

    it('hands a dead node to another claimer when the first one never released it', async () => {
      const node = makeCluster();
      const opts = { deadAfterMs: 80, claimTimeoutMs: 200 };
      const a = node('a', opts);
      const b = node('b', opts);
      const dying = node('dying', opts);
      await dying.beat();
      await until(async () => {
        await a.beat();
        return (await a.claimDead()).includes('dying');
      }, 'first claim');
      // a "dies" before releasing; b takes the claim over once it runs out.
      await until(async () => {
        await b.beat();
        return (await b.claimDead()).includes('dying');
      }, 'second claim');
      await b.release('dying');
      expect(await dying.beat()).toBe('registered');
    });

    it('watches: cleans up after a dead node once, and lets a wrongly dead node write its state back', async () => {
      const node = makeCluster();
      const opts = { deadAfterMs: 150 };
      const cleaned: string[] = [];
      const revived: string[] = [];
      const watch = (registry: NodeRegistry) =>
        new NodeWatch({
          registry,
          intervalMs: 30,
          cleanUp: async (dead) => {
            cleaned.push(`${dead} by ${registry.nodeId}`);
          },
          revived: async () => {
            revived.push(registry.nodeId);
          },
          onError: (error) => {
            throw error;
          },
        });
      const watches = ['a', 'b'].map((id) => watch(node(id, opts)));
      const pausedRegistry = node('paused', opts);
      const paused = watch(pausedRegistry);
      await Promise.all([...watches, paused].map((w) => w.start()));
      const stoppedAt = Date.now();
      // A long pause: no beats, nothing cleaned up by the node itself.
      await paused.stop({ deregister: false });
      await until(() => cleaned.length > 0, 'the paused node to be cleaned up');
      expect(Date.now() - stoppedAt).toBeLessThan(150 + 30 + 1000);
      expect(cleaned).toHaveLength(1);
      expect(cleaned[0]).toMatch(/^paused by [ab]$/);
      expect(revived).toEqual([]);
      // It wakes up: its next beat finds it was dead, and it writes its state back.
      await paused.start();
      await until(() => revived.length > 0, 'the paused node to restore');
      expect(revived).toEqual(['paused']);
      expect((await pausedRegistry.nodes()).sort()).toEqual(['a', 'b', 'paused']);
      for (const w of [...watches, paused]) await w.stop({ deregister: true });
      expect(await pausedRegistry.nodes()).toEqual([]);
      expect(cleaned).toHaveLength(1);
    });

    it('judges nobody on its first beat after its own beats stopped, when the others may have been cut off too', async () => {
      const node = makeCluster();
      const opts = { deadAfterMs: 400 };
      const other = node('other', opts);
      const own = node('own', opts);
      await other.beat();
      let down = true;
      let beatsBack = 0;
      // Redis was out for everyone: both come back, 'own' one beat earlier.
      const flaky: NodeRegistry = {
        nodeId: own.nodeId,
        beat: async () => {
          if (down) throw new Error('redis is down');
          beatsBack++;
          if (beatsBack === 2) await other.beat();
          return own.beat();
        },
        claimDead: () => own.claimDead(),
        release: (n) => own.release(n),
        deregister: () => own.deregister(),
        nodes: () => own.nodes(),
      };
      const cleaned: string[] = [];
      const watch = new NodeWatch({
        registry: flaky,
        intervalMs: 30,
        cleanUp: async (dead) => {
          cleaned.push(dead);
        },
        revived: async () => {},
        onError: () => {},
      });
      await watch.start();
      // Longer than deadAfterMs: when it comes back, 'other' looks dead.
      await new Promise((r) => setTimeout(r, 450));
      down = false;
      await until(() => beatsBack >= 4, 'beats after the outage');
      await watch.stop({ deregister: true });
      expect(cleaned).toEqual([]);
      expect(await other.nodes()).toEqual(['other']);
    });
  });
}
