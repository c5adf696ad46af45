import { busyFor, countTurns } from '@hubstream/testing';
import { describe, expect, it } from 'vitest';
import {
  BulkSlices,
  beforeSlices,
  enterInline,
  nextSlice,
  noteHeavyInline,
  TURN_SLICE_MS,
} from '../src/core/bulk-slices.ts';

// Bulk work (a bulk message's names) turns the event loop once a slice of
// TURN_SLICE_MS is spent, whatever each item costs.

async function run(items: number, itemMs: number): Promise<number[]> {
  const turns = countTurns();
  const turnOf: number[] = [];
  const slices = new BulkSlices();
  for (let i = 0; i < items; i++) {
    if (slices.due(i)) await slices.next();
    turnOf.push(turns.turn);
    busyFor(itemMs);
  }
  turns.stop();
  const perTurn = new Map<number, number>();
  for (const t of turnOf) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
  return [...perTurn.values()];
}

describe('BulkSlices', () => {
  it('turns the event loop once a slice is spent, for costly and cheap items alike', async () => {
    expect(TURN_SLICE_MS).toBe(0.3);
    // 100 us items: three a slice (looked at every 4 items: at most 8).
    const costly = await run(200, 0.1);
    expect(costly.reduce((a, b) => a + b, 0)).toBe(200);
    expect(Math.max(...costly)).toBeLessThanOrEqual(8);
    expect(costly.length).toBeGreaterThanOrEqual(200 / 8);
    // 2 us items: a hundred and more fit a slice, so few turns.
    const cheap = await run(2_000, 0.002);
    expect(Math.max(...cheap)).toBeGreaterThan(8);
  });
});

describe('slices resumed in the same turn', () => {
  it('share the turn: a slice resumed after another spent its budget is already due', async () => {
    const first = new BulkSlices();
    const second = new BulkSlices();
    let secondDue: boolean | undefined;
    // Both resume in the same check phase; the first runs 1.2 ms before the second resumes.
    await Promise.all([
      first.next().then(() => busyFor(1.2)),
      second.next().then(() => {
        secondDue = second.due(8);
      }),
    ]);
    expect(secondDue).toBe(true);
    // In a later turn, a slice of its own again.
    await second.next();
    expect(second.due(8)).toBe(false);
  });
});

describe('one budget between two looks at the network', () => {
  it('counts the next drain from heavy I/O-phase work noted since the last one', async () => {
    await nextSlice();
    // A connection ran its own slice of messages as they came (1.2 ms, from `start`).
    const start = performance.now();
    busyFor(1.2);
    noteHeavyInline(start);
    const slices = new BulkSlices();
    await slices.next();
    // The drain's budget began with that work: already spent.
    expect(slices.due(8)).toBe(true);
    // The drain after it has a budget of its own.
    await slices.next();
    expect(slices.due(8)).toBe(false);
  });

  it('ignores heavy work noted as begun before the last drain', async () => {
    const before = performance.now();
    busyFor(1.2);
    await nextSlice();
    noteHeavyInline(before);
    const slices = new BulkSlices();
    await slices.next();
    expect(slices.due(8)).toBe(false);
  });

  it('starts a run inside the running connection slice, not with a slice of its own', async () => {
    await nextSlice();
    const start = performance.now();
    busyFor(1.2);
    enterInline(start);
    const late = new BulkSlices();
    expect(late.due(8)).toBe(true);
    enterInline(performance.now());
    expect(new BulkSlices().due(8)).toBe(false);
  });

  it('runs the hooks before any sliced work resumes', async () => {
    const order: string[] = [];
    let armed = false;
    beforeSlices(() => {
      if (armed) order.push('hook');
    });
    armed = true;
    await nextSlice().then(() => order.push('work'));
    armed = false;
    expect(order).toEqual(['hook', 'work']);
  });
});
