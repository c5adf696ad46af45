import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';

// What a server under test shares with the bench that started it: the URL
// on the first line of stdout, and a small IPC hook the bench uses to read
// the process's memory after GC and its CPU time, and to profile it. Every
// way the process can end runs the server's own clean-up first (the
// Hubstream server drops its database there).

export type ControlRequest =
  | { id: number; type: 'memory' }
  | { id: number; type: 'cpu' }
  | { id: number; type: 'profile-start' }
  | { id: number; type: 'profile-stop'; path: string };

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
        default:
          throw new Error(`unknown request ${JSON.stringify(request)}`);
      }
      process.send?.({ id: request.id, ok: true, value: reply });
    } catch (error) {
      process.send?.({ id: request.id, ok: false, error: String(error) });
    }
  });

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
