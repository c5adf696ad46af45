import { type ChildProcess, spawn } from 'node:child_process';
import { getPriority, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Histogram } from '../realtime/histogram.ts';
import type { ProbeResult } from './probe-process.ts';
import { setGroupNice } from './processes.ts';

// The bench's side of the well-behaved user (probe-process.ts).

const FILE = fileURLToPath(new URL('./probe-process.ts', import.meta.url));

/**
 * The probe's scheduling priority (nice) when the bench may set it (root, or
 * CAP_SYS_NICE): it shares CPU 1 with the attackers, but stands for a user on
 * a machine of its own, so the attackers' client-side work must not delay it.
 */
const PROBE_NICE = -10;

/** Whether this process may raise a child's priority (tried on itself, then undone). */
export function mayPrioritize(): boolean {
  try {
    const own = getPriority();
    setPriority(own - 1);
    setPriority(own);
    return true;
  } catch {
    return false;
  }
}

/**
 * Windows of the probe as one. `p99Ms` is the median of the windows' p99s;
 * `pooledP99Ms` the p99 of all their samples together, the estimator of a
 * single long window (run.ts, LONG ATTACKS).
 */
export type QuietResult = ProbeResult & { windowP99Ms: number[]; pooledP99Ms: number };

/** The p99 of `latenciesMs` as the probe computes a window's (its Histogram); NaN when empty. */
export function p99Of(latenciesMs: readonly number[]): number {
  return Histogram.ofMs(latenciesMs).quantile(0.99) / 1000;
}

/** The median of `values` (NaN when empty; the mean of the middle two when even). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Several windows as one: counts summed, the median of their p50s and p99s,
 * the largest max, the p99 of their samples pooled.
 */
export function combineWindows(results: readonly ProbeResult[]): QuietResult {
  const sum = (pick: (r: ProbeResult) => number) => results.reduce((n, r) => n + pick(r), 0);
  const latenciesMs = results.flatMap((r) => r.latenciesMs);
  return {
    sent: sum((r) => r.sent),
    received: sum((r) => r.received),
    lost: sum((r) => r.lost),
    p50Ms: median(results.map((r) => r.p50Ms)),
    p99Ms: median(results.map((r) => r.p99Ms)),
    maxMs: Math.max(...results.map((r) => r.maxMs)),
    windowP99Ms: results.map((r) => r.p99Ms),
    latenciesMs,
    pooledP99Ms: p99Of(latenciesMs),
  };
}

export class Probe {
  /** Whether the probe runs above the attackers' priority (see PROBE_NICE). */
  prioritized = false;
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
  static async start(
    url: string,
    everyMs: number,
    {
      realtime = false,
      nice = PROBE_NICE,
      slowFile = null,
      slowOverMs = 0.9,
    }: { realtime?: boolean; nice?: number; slowFile?: string | null; slowOverMs?: number } = {},
  ): Promise<Probe> {
    // detached: a session of its own, which with autogroups is a scheduling group of its own.
    const node = [process.execPath, ...process.execArgv, FILE];
    const argv = realtime ? ['chrt', '-r', '1', ...node] : node;
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      detached: true,
    });
    const probe = new Probe(child);
    try {
      if (child.pid && !realtime) {
        setPriority(child.pid, nice);
        await setGroupNice(child.pid, nice);
      }
      probe.prioritized = true;
    } catch {
      // Not permitted: it stays at the bench's priority.
    }
    await probe.#request({ type: 'connect', url, everyMs, slowFile, slowOverMs });
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

  get pid(): number | undefined {
    return this.#child.pid;
  }

  start(): Promise<void> {
    return this.#request({ type: 'start' });
  }

  stop(): Promise<ProbeResult> {
    return this.#request({ type: 'stop' });
  }

  /** Measures for `ms` with nothing else going on. */
  async quiet(ms: number): Promise<ProbeResult> {
    await this.start();
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.stop();
  }

  /**
   * The quiet reference: `windows` quiet windows of `ms` each, back to back.
   * Its p50 and p99 are the medians of the windows' (one scheduling stall of
   * a shared machine in one window moves a single window's p99 from 2 to 50
   * ms); its max the largest, its counts the sums; `windowP99Ms` lists each.
   */
  async quietReference(ms: number, windows: number): Promise<QuietResult> {
    const results: ProbeResult[] = [];
    for (let i = 0; i < windows; i++) results.push(await this.quiet(ms));
    return combineWindows(results);
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    await this.#request({ type: 'close' }).catch(() => {});
    this.#child.kill();
  }
}
