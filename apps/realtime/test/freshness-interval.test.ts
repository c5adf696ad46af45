import { describe, expect, it } from 'vitest';
import { freshnessCheckInterval } from '../src/app.ts';

// The periodic freshness check repairs a lost change announcement. Only a
// bus over Redis can lose one, or a shared Postgres be written by another
// process that announces on a bus this node does not hear.

describe('freshnessCheckInterval', () => {
  const alone = { isClustered: false };
  const clustered = { isClustered: true };

  it('is off for pnpm start on its embedded database with the in-process bus', () => {
    expect(freshnessCheckInterval(alone, 'pglite', 5_000)).toBe(0);
    expect(freshnessCheckInterval(alone, 'pglite-memory', 5_000)).toBe(0);
  });

  it('is the configured interval over Redis, or on a Postgres others may write', () => {
    expect(freshnessCheckInterval(clustered, 'postgres', 5_000)).toBe(5_000);
    expect(freshnessCheckInterval(clustered, 'pglite', 7_000)).toBe(7_000);
    expect(freshnessCheckInterval(alone, 'postgres', 5_000)).toBe(5_000);
  });
});
