import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Histogram } from './histogram.ts';
import type { CpuReply } from './server-control.ts';

// One measurement: start the load, let it warm up (JIT, buffers), count for
// a fixed window, stop sending and let what is in flight arrive. CPU time of
// the server (read in its own process), of the load generator and of the
// rest of the machine is taken over the same window, to tell which side set
// the pace and how much other work shared the cores.

export type Settings = {
  warmupMs: number;
  durationMs: number;
  /** Longest wait for in-flight messages after the window. */
  drainMs: number;
  progress(line: string): void;
  /** Runs around the counting window (e.g. a CPU profile of the server). */
  around?: { start(): Promise<unknown>; end(): Promise<unknown> };
};

/** A phase's connections on one server, set up once and measured several times. */
export type Rig<R extends Result = Result> = {
  measure(settings: Settings): Promise<R>;
  close(): Promise<void>;
};

/** What a phase's load exposes to the measurement. */
export class Load {
  /** Whether deliveries count (only inside the window). */
  counting = false;
  /** Whether the load still sends. */
  sending = false;
  delivered = 0;
  /** Error replies received (denials, version conflicts, timeouts). */
  errors = 0;
  readonly latency = new Histogram();

  constructor(
    readonly start: () => void,
    /** Messages sent whose delivery the load still expects. */
    readonly inFlight: () => number,
  ) {}

  /** Counts one delivery sent at `sentMicros` and received at `nowMicros`. */
  deliver(sentMicros: number, nowMicros: number): void {
    if (!this.counting) return;
    this.delivered++;
    this.latency.record(nowMicros - sentMicros);
  }
}

export type Result = {
  /** Deliveries (or updates, or round trips) per second in the window. */
  rate: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  errors: number;
  /** Cores used (1 = one core busy all the time). */
  serverCpu: number;
  clientCpu: number;
  /** Cores used by every other process on the machine (NaN off Linux). */
  otherCpu: number;
  /**
   * Server CPU microseconds per delivery (or update, or round trip) in this
   * window. A field of its own so that the median of several windows is the
   * median of theirs, not the median CPU over the median rate of different
   * windows.
   */
  serverMicrosEach: number;
  /** Messages still undelivered after the drain. */
  lost: number;
};

/** Busy and total CPU time of the whole machine, in seconds (Linux /proc/stat). */
function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    // USER_HZ is 100 on every Linux the bench targets.
    return { busy: (total - idle) / 100, total: total / 100 };
  } catch {
    return undefined;
  }
}

/** Whose CPU time a measurement reads: one server, or every node of a cluster. */
export type CpuSource = { cpu(): Promise<CpuReply> };

export async function measure(server: CpuSource, load: Load, settings: Settings) {
  load.sending = true;
  load.start();
  await sleep(settings.warmupMs);

  await settings.around?.start();
  load.delivered = 0;
  load.errors = 0;
  load.latency.reset();
  const serverBefore = await server.cpu();
  const clientBefore = process.cpuUsage();
  const machineBefore = machineCpu();
  const started = performance.now();
  load.counting = true;
  // Long windows report as they go.
  const every = settings.durationMs > 10_000 ? 5_000 : Number.POSITIVE_INFINITY;
  let reported = 0;
  while (performance.now() - started < settings.durationMs) {
    await sleep(Math.min(250, settings.durationMs - (performance.now() - started)));
    const elapsed = performance.now() - started;
    if (elapsed - reported >= every) {
      reported = elapsed;
      settings.progress(
        `      … ${(elapsed / 1000).toFixed(0)} s: ${formatRate(load.delivered / (elapsed / 1000))}/s`,
      );
    }
  }
  load.counting = false;
  const seconds = (performance.now() - started) / 1000;
  const machineAfter = machineCpu();
  const client = process.cpuUsage(clientBefore);
  const serverAfter = await server.cpu();
  load.sending = false;
  await settings.around?.end();

  const drainUntil = performance.now() + settings.drainMs;
  while (load.inFlight() > 0 && performance.now() < drainUntil) await sleep(20);

  const serverCpu =
    (serverAfter.user + serverAfter.system - serverBefore.user - serverBefore.system) /
    1000 /
    (serverAfter.wallMs - serverBefore.wallMs);
  const clientCpu = (client.user + client.system) / 1e6 / seconds;
  const machine =
    machineBefore && machineAfter ? (machineAfter.busy - machineBefore.busy) / seconds : Number.NaN;
  const result: Result = {
    rate: load.delivered / seconds,
    p50Ms: load.latency.quantile(0.5) / 1000,
    p99Ms: load.latency.quantile(0.99) / 1000,
    p999Ms: load.latency.quantile(0.999) / 1000,
    maxMs: load.latency.max / 1000,
    errors: load.errors,
    serverCpu,
    clientCpu,
    otherCpu: Math.max(0, machine - serverCpu - clientCpu),
    serverMicrosEach: (serverCpu * 1e6) / (load.delivered / seconds),
    lost: load.inFlight(),
  };
  return result;
}

/** Field by field median of several measurements; errors and losses are summed. */
export function median<R extends Result>(results: readonly R[]): R {
  const first = results[0];
  if (!first) throw new Error('no results');
  const out = { ...first } as Record<string, number>;
  for (const key of Object.keys(first) as (keyof R & string)[]) {
    const values = results.map((r) => r[key] as number).sort((a, b) => a - b);
    const mid = values.length >> 1;
    out[key] =
      key === 'errors' || key === 'lost'
        ? values.reduce((a, b) => a + b, 0)
        : values.length % 2
          ? values[mid]!
          : (values[mid - 1]! + values[mid]!) / 2;
  }
  return out as R;
}

export function formatRate(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return Math.round(value).toLocaleString('en-US');
}

export function formatMs(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

const percent = (cores: number) => (Number.isFinite(cores) ? `${(cores * 100).toFixed(0)}%` : '?');

/**
 * The server's CPU time per counted unit, in microseconds: on a shared
 * machine, where other processes take cores from the server and its rate
 * drops with them, what each message cost the server is steadier than the
 * rate.
 */
export const cpuMicrosPerUnit = (result: Result): number => result.serverMicrosEach;
const perUnit = (result: Result) => {
  const micros = cpuMicrosPerUnit(result);
  return Number.isFinite(micros) ? micros.toFixed(1) : '?';
};

/** One progress line for a finished measurement. */
export function describe(result: Result, unit: string): string {
  const extra = [
    result.errors > 0 ? `${result.errors} error replies` : '',
    result.lost > 0 ? `${result.lost} undelivered after the drain` : '',
  ].filter(Boolean);
  return (
    `${formatRate(result.rate)} ${unit}/s, p50 ${formatMs(result.p50Ms)} ms, ` +
    `p99 ${formatMs(result.p99Ms)} ms, p99.9 ${formatMs(result.p999Ms)} ms, max ${formatMs(result.maxMs)} ms; ` +
    `CPU server ${percent(result.serverCpu)} (${perUnit(result)} µs per ${unit.replace(/s$/, '')}), generator ${percent(result.clientCpu)}, ` +
    `others ${percent(result.otherCpu)}` +
    (extra.length > 0 ? `; ${extra.join(', ')}` : '')
  );
}

/**
 * One window of a closed loop of senders (`sent.length` of them), each
 * keeping requests in flight: `refill(q)` tops sender q up, and `answered`
 * counts its replies. `use` is given the window's Load while it runs, then
 * undefined.
 */
export async function measureLoop(
  server: CpuSource,
  settings: Settings,
  loop: {
    sent: Float64Array;
    answered: Float64Array;
    refill(q: number): void;
    use(load: Load | undefined): void;
  },
): ReturnType<typeof measure> {
  const { sent, answered, refill, use } = loop;
  const total = sent.length;
  sent.fill(0);
  answered.fill(0);
  const current = new Load(
    () => {
      for (let q = 0; q < total; q++) refill(q);
    },
    () => {
      let missing = 0;
      for (let q = 0; q < total; q++) missing += sent[q]! - answered[q]!;
      return missing;
    },
  );
  use(current);
  try {
    return await measure(server, current, settings);
  } finally {
    use(undefined);
  }
}
