import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';

// What a server under test shares with the bench that started it: the URL
// on the first line of stdout, and a small IPC hook the bench uses to read
// the process's memory after GC and its CPU time, and to profile it. Every
// way the process can end runs the server's own clean-up first (the
// Hubstream server drops its database there).

export type ControlRequest =
  | { id: number; type: 'memory' }
  | { id: number; type: 'cpu' }
  | { id: number; type: 'profile-start' }
  | { id: number; type: 'profile-stop'; path: string }
  | { id: number; type: 'heap-snapshot'; path: string };

export type MemoryReply = { rss: number; heapUsed: number; external: number };
export type CpuReply = { user: number; system: number; wallMs: number };

/** Registers a clean-up step; steps run in reverse order of registration. */
export type Defer = (cleanup: () => unknown) => void;

/** Collects garbage (the child runs with --expose-gc) and reads the process's memory. */
async function memoryAfterGc(): Promise<MemoryReply> {
  // Twice, with a turn in between: weak references and finalizers of the
  // first pass are only released by the second.
  globalThis.gc?.();
  await new Promise((resolve) => setImmediate(resolve));
  globalThis.gc?.();
  const { rss, heapUsed, external } = process.memoryUsage();
  return { rss, heapUsed, external };
}

/**
 * Starts a server under test; `start` registers the clean-up of everything
 * it creates as it goes, so that a failure half-way still drops what exists.
 */
export async function runServer(
  label: string,
  start: (defer: Defer) => Promise<string>,
): Promise<void> {
  const cleanups: (() => unknown)[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (code: number) => {
    stopping ??= (async () => {
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch (error) {
          process.stderr.write(`${label}: clean-up failed: ${String(error)}\n`);
          code = 1;
        }
      }
      process.exit(code);
    })();
    return stopping;
  };
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));
  // The bench went away without telling us: clean up all the same.
  process.on('disconnect', () => void stop(0));
  process.on('uncaughtException', (error) => {
    process.stderr.write(`${label}: ${error.stack ?? String(error)}\n`);
    void stop(1);
  });
  process.on('unhandledRejection', (error) => {
    process.stderr.write(`${label}: unhandled rejection: ${String(error)}\n`);
  });

  let session: Session | undefined;
  process.on('message', async (request: ControlRequest) => {
    let reply: unknown;
    try {
      switch (request.type) {
        case 'memory':
          reply = await memoryAfterGc();
          break;
        case 'cpu': {
          const { user, system } = process.cpuUsage();
          reply = { user, system, wallMs: performance.now() } satisfies CpuReply;
          break;
        }
        case 'profile-start':
          session = new Session();
          session.connect();
          await session.post('Profiler.enable');
          await session.post('Profiler.setSamplingInterval', { interval: 200 });
          await session.post('Profiler.start');
          reply = true;
          break;
        case 'profile-stop': {
          if (!session) throw new Error('no profile running');
          const { profile } = await session.post('Profiler.stop');
          session.disconnect();
          session = undefined;
          await writeFile(request.path, JSON.stringify(profile));
          reply = request.path;
          break;
        }
        case 'heap-snapshot':
          // After GC, so that the snapshot holds what is live.
          await memoryAfterGc();
          reply = writeHeapSnapshot(request.path);
          break;
        default:
          throw new Error(`unknown request ${JSON.stringify(request)}`);
      }
      process.send?.({ id: request.id, ok: true, value: reply });
    } catch (error) {
      process.send?.({ id: request.id, ok: false, error: String(error) });
    }
  });

  if (process.env[DIAGNOSE_VARIABLE] === '1') diagnose(label);

  let url: string;
  try {
    url = await start((cleanup) => cleanups.push(cleanup));
  } catch (error) {
    process.stderr.write(`${label}: failed to start: ${(error as Error).stack ?? String(error)}\n`);
    await stop(1);
    return;
  }
  process.stdout.write(`${url}\n`);
}

const DIAGNOSE_VARIABLE = 'BENCH_DIAGNOSE';

/**
 * BENCH_DIAGNOSE=1: every second, the event loop's delay (p50/p99/max) and
 * the GC pauses of that second (count, total and longest, by kind), on
 * stderr, to tell where a latency tail comes from.
 */
function diagnose(label: string): void {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const gc = new Map<string, { count: number; total: number; max: number }>();
  const KINDS: Record<number, string> = {
    1: 'scavenge',
    2: 'mark-compact',
    4: 'incremental',
    8: 'weak',
  };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = KINDS[(entry as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other';
      const seen = gc.get(kind) ?? { count: 0, total: 0, max: 0 };
      seen.count++;
      seen.total += entry.duration;
      seen.max = Math.max(seen.max, entry.duration);
      gc.set(kind, seen);
    }
  }).observe({ entryTypes: ['gc'] });
  const ms = (ns: number) => (ns / 1e6).toFixed(1);
  setInterval(() => {
    const pauses = [...gc]
      .map(([kind, g]) => `${kind} ${g.count}x ${g.total.toFixed(1)}ms max ${g.max.toFixed(1)}`)
      .join(', ');
    const heap = (process.memoryUsage().heapUsed / 2 ** 20).toFixed(0);
    process.stderr.write(
      `${label} loop delay p50 ${ms(delay.percentile(50))} p99 ${ms(delay.percentile(99))} max ${ms(delay.max)} ms; heap ${heap} MB; gc ${pauses || 'none'}\n`,
    );
    delay.reset();
    gc.clear();
  }, 1000).unref();
}
