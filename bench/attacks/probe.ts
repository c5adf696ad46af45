import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ProbeResult } from './probe-process.ts';

// The bench's side of the well-behaved user (probe-process.ts).

const FILE = fileURLToPath(new URL('./probe-process.ts', import.meta.url));

export class Probe {
  readonly #child: ChildProcess;
  #nextId = 1;
  readonly #pending = new Map<number, (reply: { value?: unknown; error?: string }) => void>();

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (reply: { id: number; value?: unknown; error?: string }) => {
      this.#pending.get(reply.id)?.(reply);
      this.#pending.delete(reply.id);
    });
    child.on('exit', () => {
      for (const resolve of this.#pending.values()) resolve({ error: 'probe exited' });
      this.#pending.clear();
    });
  }

  /** Starts the probe process and logs its two clients in to `url` (an app's URL on node A). */
  static async start(url: string, everyMs: number): Promise<Probe> {
    const child = spawn(process.execPath, [...process.execArgv, FILE], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const probe = new Probe(child);
    await probe.#request({ type: 'connect', url, everyMs });
    return probe;
  }

  #request<T>(message: Record<string, unknown>): Promise<T> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (reply) =>
        reply.error ? reject(new Error(reply.error)) : resolve(reply.value as T),
      );
      this.#child.send({ ...message, id });
    });
  }

  start(): Promise<void> {
    return this.#request({ type: 'start' });
  }

  stop(): Promise<ProbeResult> {
    return this.#request({ type: 'stop' });
  }

  /** Measures for `ms` with nothing else going on (the quiet reference). */
  async quiet(ms: number): Promise<ProbeResult> {
    await this.start();
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.stop();
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    await this.#request({ type: 'close' }).catch(() => {});
    this.#child.kill();
  }
}
