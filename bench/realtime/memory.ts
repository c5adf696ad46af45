import { setTimeout as sleep } from 'node:timers/promises';
import { type BenchClient, closeAll, openMany } from './client.ts';
import type { ServerProcess } from './servers.ts';

// Memory per idle authenticated connection: the server's memory after GC
// with no bench connections (after a small warm-up), then with 1k, 5k, 10k
// logged-in connections that do nothing but ping. Per connection = growth /
// connections, both as resident memory (JS heap, native buffers, allocator
// slack; it under-counts while the process still has committed pages to
// grow into) and as JS heap + external memory (the node's own objects).
// Kernel socket buffers are in neither.

export type MemoryLevel = {
  connections: number;
  rssKb: number;
  heapKb: number;
  /** Seconds to open this level's new connections. */
  openSeconds: number;
};

const SETTLE_MS = 500;
/**
 * Connections opened and closed before the first reading, so that what a
 * server sets up once, on its first connections (compiled code, lazily
 * loaded modules), is not charged to the connections measured. Few: the
 * memory they held stays resident and would hide the growth of as many.
 */
const WARM_UP_CONNECTIONS = 100;

export async function runMemory(
  server: ServerProcess,
  levels: readonly number[],
  progress: (line: string) => void,
): Promise<MemoryLevel[]> {
  const clients: BenchClient[] = [];
  const results: MemoryLevel[] = [];
  try {
    await closeAll(await openMany(server.url, WARM_UP_CONNECTIONS, 'warm-', { concurrency: 100 }));
    await sleep(SETTLE_MS);
    const before = await server.memory();
    let previous = { connections: 0, memory: before };
    for (const level of levels) {
      const started = performance.now();
      const missing = level - clients.length;
      let lastReport = 0;
      const opened = await openMany(server.url, missing, `idle${clients.length}-`, {
        concurrency: 100,
        onProgress: (done) => {
          if (done - lastReport >= 2500 && done < missing) {
            lastReport = done;
            progress(`    … ${(clients.length + done).toLocaleString('en-US')} connections`);
          }
        },
      });
      clients.push(...opened);
      const openSeconds = (performance.now() - started) / 1000;
      await sleep(SETTLE_MS);
      const after = await server.memory();
      const per = (bytes: number) => bytes / level / 1024;
      const result = {
        connections: level,
        rssKb: per(after.rss - before.rss),
        heapKb: per(after.heapUsed + after.external - before.heapUsed - before.external),
        openSeconds,
      };
      results.push(result);
      // Resident growth since the previous level: once the slack the process
      // already had is used up, this is closer to what each connection costs.
      const marginal = (after.rss - previous.memory.rss) / (level - previous.connections) / 1024;
      previous = { connections: level, memory: after };
      progress(
        `    ${level.toLocaleString('en-US')} connections (opened in ${openSeconds.toFixed(1)} s): ` +
          `${result.rssKb.toFixed(1)} KB resident (${marginal.toFixed(1)} KB since the previous level), ` +
          `${result.heapKb.toFixed(1)} KB heap+external per connection`,
      );
    }
    return results;
  } finally {
    await closeAll(clients);
  }
}
