import { setImmediate as nextTurn } from 'node:timers/promises';
import { busyFor } from '@hubstream/testing';
import { describe, expect, it } from 'vitest';
import { enterInline, nextSlice } from '../src/core/bulk-slices.ts';
import { KeyedChains } from '../src/listen/chains.ts';

// The listen registry's per-key ordered, per-turn paced task queue.

/** A clock that never moves: the per-turn time budget never runs out (tests of the count budget and ordering). */
const FROZEN = { now: () => 0 };

/** Lets every queued microtask run (but not the next turn of the event loop). */
async function microtasks() {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

function deferred() {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('KeyedChains', () => {
  it('runs the tasks of one key one after the other, in order, and never inside chain()', async () => {
    const failures: unknown[] = [];
    const chains = new KeyedChains((error) => failures.push(error), undefined, FROZEN);
    const log: string[] = [];
    const first = deferred();
    chains.chain('k', async () => {
      log.push('1 start');
      await first.promise;
      log.push('1 end');
    });
    chains.chain('k', async () => {
      log.push('2');
    });
    chains.chain('other', async () => {
      log.push('other');
    });
    expect(log).toEqual([]);
    await microtasks();
    // The other key does not wait for k; k's second task waits for its first.
    expect(log).toEqual(['1 start', 'other']);
    first.resolve();
    await microtasks();
    expect(log).toEqual(['1 start', 'other', '1 end', '2']);
    expect(chains.size).toBe(0);
    expect(failures).toEqual([]);
  });

  it('starts at most perTurn tasks per turn of the event loop, first come first served', async () => {
    const chains = new KeyedChains(() => {}, 3, FROZEN);
    const started: number[] = [];
    for (let i = 0; i < 8; i++) {
      chains.chain(`name-${i}`, async () => {
        started.push(i);
      });
    }
    await microtasks();
    expect(started).toEqual([0, 1, 2]);
    await nextTurn();
    await microtasks();
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    await nextTurn();
    await microtasks();
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await nextTurn();
    expect(chains.size).toBe(0);
  });

  it("queues a key's next task behind the tasks already waiting for the turn's budget", async () => {
    const chains = new KeyedChains(() => {}, 2, FROZEN);
    const started: string[] = [];
    chains.chain('a', async () => {
      started.push('a1');
    });
    chains.chain('a', async () => {
      started.push('a2');
    });
    chains.chain('b', async () => {
      started.push('b');
    });
    chains.chain('c', async () => {
      started.push('c');
    });
    await microtasks();
    // a1 and b took this turn's budget; c came before a2 was ready.
    expect(started).toEqual(['a1', 'b']);
    await nextTurn();
    await microtasks();
    expect(started).toEqual(['a1', 'b', 'c', 'a2']);
  });

  it('hands a failure (thrown or rejected) to failed and goes on with the key', async () => {
    const failures: unknown[] = [];
    const chains = new KeyedChains((error) => failures.push(error), undefined, FROZEN);
    const ran: string[] = [];
    chains.chain('k', () => {
      throw new Error('thrown');
    });
    chains.chain('k', async () => {
      throw new Error('rejected');
    });
    chains.chain('k', async () => {
      ran.push('after');
    });
    await microtasks();
    expect(failures.map((e) => (e as Error).message)).toEqual(['thrown', 'rejected']);
    expect(ran).toEqual(['after']);
    expect(chains.size).toBe(0);
  });

  it('chainAwaited resolves once its task has run, also when it failed', async () => {
    const failures: unknown[] = [];
    const chains = new KeyedChains((error) => failures.push(error), undefined, FROZEN);
    const gate = deferred();
    let done = false;
    const awaited = chains.chainAwaited('k', async () => {
      await gate.promise;
      done = true;
    });
    let resolved = false;
    void awaited.then(() => {
      resolved = true;
    });
    await microtasks();
    expect(resolved).toBe(false);
    gate.resolve();
    await awaited;
    expect(done).toBe(true);

    const failed = chains.chainAwaited('k', async () => {
      throw new Error('no');
    });
    await failed;
    await microtasks();
    expect(failures.map((e) => (e as Error).message)).toEqual(['no']);
  });

  it('gets through 20,000 names, each key once, and keeps nothing afterwards', async () => {
    const chains = new KeyedChains(() => {}, undefined, FROZEN);
    let ran = 0;
    for (let i = 0; i < 20_000; i++) {
      chains.chain(`n/${i}`, async () => {
        ran++;
      });
    }
    expect(chains.size).toBe(20_000);
    while (chains.size > 0) await nextTurn();
    expect(ran).toBe(20_000);
  });

  it('starts no more tasks in a turn once the tasks started in it have run for sliceMs', async () => {
    let clock = 0;
    const chains = new KeyedChains(() => {}, 64, { sliceMs: 1, now: () => clock });
    const started: number[] = [];
    for (let i = 0; i < 6; i++) {
      chains.chain(`name-${i}`, async () => {
        started.push(i);
        // Each task takes 0.4 ms of the turn.
        clock += 0.4;
      });
    }
    await microtasks();
    // 0 at 0 ms, 1 at 0.4, 2 at 0.8; at 1.2 ms the turn's slice is spent.
    expect(started).toEqual([0, 1, 2]);
    await nextTurn();
    await microtasks();
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    await nextTurn();
    expect(chains.size).toBe(0);
  });

  it("shares a turn's budget with the node's other sliced work (bulk-slices.ts)", async () => {
    const chains = new KeyedChains(() => {}, 64);
    const started: number[] = [];
    // Another connection's bulk work yielded first, and will spend 1.2 ms of the next turn.
    const other = nextSlice().then(() => busyFor(1.2));
    enterInline(performance.now());
    for (let i = 0; i < 6; i++) {
      chains.chain(`name-${i}`, async () => {
        started.push(i);
        busyFor(0.4);
      });
    }
    await microtasks();
    // This turn's slice: at most 3 of 0.4 ms (fewer when the code is cold).
    const first = started.length;
    expect(first).toBeGreaterThanOrEqual(1);
    expect(first).toBeLessThanOrEqual(3);
    await other;
    await microtasks();
    // The turn's budget was spent before the chains' turn came: one task, not two or three.
    expect(started.length).toBe(first + 1);
    while (chains.size > 0) await nextTurn();
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
