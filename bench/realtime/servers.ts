import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { nodeFlags } from '../../test/deployment-files.ts';
import { closeEverything } from './client.ts';
import type { ControlRequest, CpuReply, MemoryReply } from './server-control.ts';

// The bench's side of a server under test: a child process (so the load
// generator never shares its event loop), started with the same TypeScript
// loader as the bench, GC exposed, and the open-file limit raised to the
// hard limit when the shell allows it.

/** The servers bench:realtime compares: bare `ws`, deepstream 7 and Hubstream. */
export type ServerKind = 'baseline' | 'deepstream' | 'hubstream';
/** A server process: one of those compared, or one node of a cluster (cluster.ts). */
type ProcessKind = ServerKind | 'cluster-node';

const FILES: Record<ProcessKind, string> = {
  baseline: fileURLToPath(new URL('./server-baseline.ts', import.meta.url)),
  hubstream: fileURLToPath(new URL('./server-hubstream.ts', import.meta.url)),
  'cluster-node': fileURLToPath(new URL('./server-cluster-node.ts', import.meta.url)),
  deepstream: fileURLToPath(new URL('./server-deepstream.ts', import.meta.url)),
};
/**
 * Node flags of each kind beyond the bench's own: Hubstream's realtime nodes
 * run with the GC flags of every start command (V8's GC on the event loop, a
 * 4 MB young generation: test/deployment-files.ts), so they do here too.
 * Source maps only change how errors print (and tsx has its own).
 */
export const REALTIME_NODE = nodeFlags('realtime').filter(
  (flag) => flag !== '--enable-source-maps',
);
const FLAGS: Record<ProcessKind, readonly string[]> = {
  baseline: [],
  deepstream: [],
  hubstream: REALTIME_NODE,
  'cluster-node': REALTIME_NODE,
};
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 20_000;

type Pending = { resolve(value: unknown): void; reject(error: Error): void };
type Reply = { id: number; ok: boolean; value?: unknown; error?: string };
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

const running = new Set<ServerProcess>();

export class ServerProcess {
  readonly kind: ProcessKind;
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #exited: Promise<unknown>;

  private constructor(
    kind: ProcessKind,
    url: string,
    child: ChildProcess,
    exited: Promise<unknown>,
  ) {
    this.kind = kind;
    this.url = url;
    this.#child = child;
    this.#exited = exited;
    child.on('message', (reply: Reply) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (reply.ok) pending.resolve(reply.value);
      else pending.reject(new Error(`${kind}: ${reply.error}`));
    });
    void exited.then(() => {
      for (const pending of this.#pending.values()) pending.reject(new Error(`${kind} exited`));
      this.#pending.clear();
    });
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  static async start(
    kind: ProcessKind,
    env: Record<string, string> = {},
    label: string = kind,
  ): Promise<ServerProcess> {
    const child = spawn(
      '/bin/sh',
      [
        '-c',
        'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"',
        'sh',
        process.execPath,
        ...process.execArgv,
        '--expose-gc',
        ...FLAGS[kind],
        FILES[kind],
      ],
      { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, ...env } },
    );
    const exited = once(child, 'exit');
    const prefix = (line: string) => process.stderr.write(`  [${label}] ${line}\n`);
    createInterface({ input: child.stderr! }).on('line', prefix);
    const lines = createInterface({ input: child.stdout! });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGTERM');
        reject(new Error(`${kind} server did not start within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      lines.once('line', (line) => {
        clearTimeout(timer);
        // Later lines (none are expected) keep draining so the child never blocks on a full pipe.
        lines.on('line', prefix);
        if (line.startsWith('ws://')) resolve(line.trim());
        else reject(new Error(`${kind} server printed ${JSON.stringify(line)} instead of its URL`));
      });
      void exited.then(([code]) => {
        clearTimeout(timer);
        reject(new Error(`${kind} server exited with code ${code} before printing its URL`));
      });
    });
    const server = new ServerProcess(kind, url, child, exited);
    running.add(server);
    return server;
  }

  #request<T>(request: WithoutId<ControlRequest>, timeoutMs = 60_000): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.kind}: no answer to ${request.type}`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.#child.send({ ...request, id });
    });
  }

  /** The server's memory after two full GCs. */
  memory(): Promise<MemoryReply> {
    return this.#request({ type: 'memory' });
  }

  /** The server's CPU time so far (µs) and its clock (ms). */
  cpu(): Promise<CpuReply> {
    return this.#request({ type: 'cpu' });
  }

  startProfile(): Promise<void> {
    return this.#request({ type: 'profile-start' });
  }

  stopProfile(path: string): Promise<string> {
    return this.#request({ type: 'profile-stop', path });
  }

  /** Writes a heap snapshot of the server (after GC) to `path`. */
  heapSnapshot(path: string): Promise<string> {
    return this.#request({ type: 'heap-snapshot', path }, 300_000);
  }

  /** Asks the server to clean up and exit; kills it if it does not in time. */
  async stop(): Promise<void> {
    running.delete(this);
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => {
      process.stderr.write(
        `  [${this.kind}] did not exit in ${STOP_TIMEOUT_MS} ms; killed (a bench database may be left behind)\n`,
      );
      this.#child.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** Stops every server still running (used on the way out, also after a failure). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((server) => server.stop()));
}

/** Last resort when the bench exits abruptly: the children clean up on SIGTERM. */
export function killAllSync(): void {
  for (const server of running) {
    try {
      process.kill(server.pid, 'SIGTERM');
    } catch {}
  }
}

/**
 * Runs a bench's main: servers are killed if the bench is interrupted or
 * exits abruptly; connections and servers are closed however main ends.
 * Exits with 1 when main failed.
 */
export async function runBench(main: () => Promise<void>): Promise<never> {
  let exitCode = 0;
  const interrupted = () => {
    killAllSync();
    process.exit(130);
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  process.on('exit', killAllSync);
  try {
    await main();
  } catch (error) {
    process.stderr.write(
      `\nbench failed: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    exitCode = 1;
  } finally {
    await closeEverything();
    await stopAll();
  }
  process.exit(exitCode);
}
