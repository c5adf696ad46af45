import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { nodeFlags, STANDALONE_MALLOC_ENV } from '../../test/deployment-files.ts';

// The servers under attack, as real processes started the way `pnpm start`
// and the role scripts start them: `scripts/build.mjs --if-changed`, then
// node on the built main file (see apps/standalone/test/process.ts and
// roles-process.ts, which this mirrors without their Vitest hooks). Each
// process leads a group of its own, so a stop kills whatever it started.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START_TIMEOUT_MS = 180_000;

export const ENTRY = {
  standalone: 'apps/standalone/dist/main.js',
  'control-plane': 'apps/control-plane/dist/main.js',
  realtime: 'apps/realtime/dist/main.js',
} as const;

/** What the start scripts run first: builds what changed since the last build. */
export async function buildIfChanged(): Promise<void> {
  const child = spawn(process.execPath, ['scripts/build.mjs', '--if-changed'], {
    cwd: ROOT,
    stdio: ['ignore', process.stderr, process.stderr],
  });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`scripts/build.mjs --if-changed exited with ${code}`);
}
export type Entry = keyof typeof ENTRY;

/**
 * Node's flags and environment for each entry, exactly as package.json's
 * start scripts (and the Dockerfile, docker-compose.yml, infra/k8s) pass
 * them (test/deployment-files.ts, which the deployment tests hold them to):
 * `pnpm start`'s --liftoff-only and 1 MB semi-space and its malloc settings
 * included, which this bench once lacked (its standalone then scavenged a
 * 16 MB young generation in 5-9 ms pauses that `pnpm start` does not have).
 */
const NODE_FLAGS: Record<Entry, string[]> = {
  standalone: nodeFlags('standalone'),
  'control-plane': nodeFlags('control-plane'),
  realtime: nodeFlags('realtime'),
};
// CPU pinning (issue 17's method): the server under measurement alone on CPU
// 0, everything else the bench starts (itself, its attackers, the probe, the
// webhook server, the other servers of a deployment) on CPU 1, so that an
// attack's own client work does not count as the server's stall. Postgres
// and Redis are system services and stay where they are.

/** The CPU of the process under measurement and the CPU of everything else. */
export const SERVER_CPU = 0;
export const BENCH_CPU = 1;

export type Pinning = { enabled: true } | { enabled: false; reason: string };
let pinning: Pinning = { enabled: false, reason: 'not set up' };

function taskset(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('taskset', args, (error, _stdout, stderr) =>
      error
        ? reject(new Error(`taskset ${args.join(' ')}: ${stderr || error.message}`))
        : resolve(),
    );
  });
}

/**
 * Pins this process (every thread, and so every child it spawns from now on)
 * to BENCH_CPU, and makes `ServerProcess.start(..., { measured: true })` start
 * its server on SERVER_CPU. Skipped, with the reason, without taskset or a
 * second CPU, or with `enabled` false.
 */
export async function setUpPinning(enabled: boolean): Promise<Pinning> {
  if (!enabled) pinning = { enabled: false, reason: 'turned off with --pin=off' };
  else if (cpus().length < 2) pinning = { enabled: false, reason: 'only one CPU' };
  else {
    try {
      await taskset(['-a', '-cp', String(BENCH_CPU), String(process.pid)]);
      pinning = { enabled: true };
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      pinning = {
        enabled: false,
        reason: missing ? 'taskset not found' : (error as Error).message.trim(),
      };
    }
  }
  return pinning;
}

/**
 * Moves node A's other threads (V8's compiler and GC workers, libuv's
 * pool) and the processes it started (the password process) to BENCH_CPU,
 * leaving its event loop alone on SERVER_CPU: as on a machine with more than
 * one core, where they run beside the event loop rather than in its place.
 * Pinned whole to one CPU, V8 compiling an attack's hot code took that CPU
 * from the event loop for several milliseconds at a time (the same nice,
 * shared fairly: "waiting for CPU" 11-33%). Threads made later inherit the
 * main thread's CPU, so the bench calls this before every quiet window.
 * Returns how many threads and processes it moved.
 */
export async function moveHelpersOff(pid: number): Promise<number> {
  if (!pinning.enabled || !helpersOff || pid <= 0) return 0;
  let moved = 0;
  const tids = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  for (const tid of tids) {
    if (Number(tid) === pid) continue;
    await taskset(['-cp', String(BENCH_CPU), tid]).then(
      () => moved++,
      () => {}, // the thread ended meanwhile
    );
  }
  for (const child of await childrenOf(pid)) {
    await taskset(['-a', '-cp', String(BENCH_CPU), String(child)]).then(
      () => moved++,
      () => {},
    );
  }
  return moved;
}

let helpersOff = true;

/** --helper-threads: whether moveHelpersOff moves anything (bench-cpu) or not (server-cpu). */
export function setHelpersOff(off: boolean): void {
  helpersOff = off;
}

/** The pids whose parent is `pid` (/proc/<n>/stat's ppid). */
async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) children.push(Number(entry));
  }
  return children;
}

type LogEntry = Record<string, unknown>;

const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Kills every process this bench started (on the way out, also after a failure). */
export function killEverything(): void {
  for (const child of running) killGroup(child, 'SIGKILL');
}

export class ServerProcess {
  readonly label: string;
  readonly child: ChildProcess;
  readonly logs: LogEntry[] = [];
  /** Every line the server wrote to stdout so far (kept or not). */
  linesLogged = 0;
  /** The URLs of the `listening` log line. */
  listening: Record<string, string> = {};
  /** The process that runs the server (the biggest of the group), whose memory is read. */
  serverPid = -1;
  #exited: Promise<unknown[]>;

  private constructor(label: string, child: ChildProcess) {
    this.label = label;
    this.child = child;
    this.#exited = once(child, 'exit');
  }

  /**
   * Starts a server. `measured`: the process whose stalls the probe measures,
   * started on SERVER_CPU when pinning is on (the others inherit BENCH_CPU).
   */
  static async start(
    entry: Entry,
    label: string,
    env: Record<string, string>,
    { measured = false }: { measured?: boolean } = {},
  ) {
    const extra = measured ? measuredNodeFlags : [];
    const node = [process.execPath, ...NODE_FLAGS[entry], ...extra, ENTRY[entry]];
    const niced =
      measured && measuredNice !== 0 ? ['nice', '-n', String(measuredNice), ...node] : node;
    const argv =
      measured && pinning.enabled ? ['taskset', '-c', String(SERVER_CPU), ...niced] : niced;
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HTTP_PORT: '0',
        REALTIME_PORT: '0',
        // The malloc settings every role runs with: package.json's start
        // scripts set them for `pnpm start`, the Dockerfile's ENV for every
        // role of the image (docker-compose.yml and infra/k8s run the
        // separate roles from it). The realtime role once ran here without
        // them: each large frame's copy came from freshly mapped pages, ~2 ms
        // of page faults per 640 KB on this VM (huge SUBSCRIBE, cluster).
        ...STANDALONE_MALLOC_ENV,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    running.add(child);
    child.once('exit', () => running.delete(child));
    // detached: a session of its own, so (with autogroups) a scheduling group of its own.
    if (measured && measuredNice !== 0 && child.pid) await setGroupNice(child.pid, measuredNice);
    const server = new ServerProcess(label, child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
      // Warnings (process.emitWarning) and V8's own traces go to stderr.
      if (measured && measuredLog) appendFileSync(measuredLog, chunk);
    });
    const up = new Promise<LogEntry>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${label} did not start in ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      createInterface({ input: child.stdout! }).on('line', (line) => {
        server.linesLogged++;
        if (measured && measuredLog) appendFileSync(measuredLog, `${line}\n`);
        let entry: LogEntry;
        try {
          entry = JSON.parse(line) as LogEntry;
        } catch {
          entry = { msg: line };
        }
        // Only warnings and errors are kept (an attack makes nodes log a lot), up to a bound.
        const kept =
          entry.listening !== undefined || (typeof entry.level === 'number' && entry.level >= 40);
        if (kept && server.logs.length < 20_000) server.logs.push(entry);
        if (entry.listening) {
          clearTimeout(timer);
          resolve(entry);
        }
      });
      void server.#exited.then(([code]) => {
        clearTimeout(timer);
        reject(new Error(`${label} exited with ${code} before it listened: ${stderr}`));
      });
    });
    const entryLine = await up;
    server.listening = entryLine.listening as Record<string, string>;
    server.serverPid = await biggestDescendant(child.pid ?? -1);
    return server;
  }

  /** Warnings and errors logged since `from` (an index into `logs`), most frequent first. */
  problemsSince(from: number): string[] {
    const counts = new Map<string, number>();
    for (const entry of this.logs.slice(from)) {
      if (typeof entry.level !== 'number' || entry.level < 40) continue;
      const msg = String(entry.msg ?? '?');
      counts.set(msg, (counts.get(msg) ?? 0) + 1);
    }
    return [...counts].sort((a, b) => b[1] - a[1]).map(([msg, n]) => `${msg} (x${n})`);
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** CPU spent by the server process so far (see cpuOf). */
  cpu(): Promise<CpuSample | null> {
    return cpuOf(this.serverPid);
  }

  /** Resident memory of the server process, in bytes (VmRSS). */
  rss(): Promise<number> {
    return rssOf(this.serverPid);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => killGroup(this.child, 'SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(timer);
    killGroup(this.child, 'SIGKILL'); // anything the group left behind
  }
}

/** Extra node flags for the measured server (--server-node-flags, e.g. --cpu-prof). */
/**
 * The scheduling priority (nice) of the server under measurement, every
 * thread of it, and of its scheduling group (setGroupNice): 0 leaves it at
 * the bench's. Pinning keeps the bench's own processes off its CPU, but not
 * the rest of the machine (other users' tests and builds), which the kernel
 * would otherwise let preempt it for tens of milliseconds at a time; a node
 * stands for a machine of its own. Its own threads (event loop, GC, thread
 * pool) share the CPU under the fair scheduler, as they would there. (Not a
 * real-time policy: with only the event loop under SCHED_RR, V8's sweeper
 * thread starved and the event loop spun at 95% re-posting sweep steps; with
 * every thread under it, a GC or argon2 thread held the CPU against the
 * event loop for up to the 100 ms round-robin slice.)
 */
let measuredNice = 0;
export function setMeasuredNice(nice: number): void {
  measuredNice = nice;
}

/** Whether this process may use the real-time policies (tried with chrt). */
export async function mayUseRealtime(): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('chrt', ['-r', '1', 'true'], (error) => resolve(error === null));
  });
}

/**
 * With the kernel's autogroups (sched_autogroup_enabled), each session is a
 * scheduling group of its own and a process's nice only orders it within its
 * group: every other session on the machine gets an equal share of the CPU
 * however niced this one is. Sets the nice of the group `pid` leads (a
 * session of its own: spawned detached); nothing where autogroups are off.
 */
export async function setGroupNice(pid: number, nice: number): Promise<void> {
  try {
    await writeFile(`/proc/${pid}/autogroup`, String(nice));
  } catch (error) {
    // No autogroups (the file is missing or the feature off): nice alone orders the CPU.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** A file that gets a copy of the measured server's stdout and stderr (with --trace-gc, say), or null. */
let measuredLog: string | null = null;
export function setMeasuredLog(path: string | null): void {
  measuredLog = path;
}

let measuredNodeFlags: string[] = [];
export function setMeasuredNodeFlags(flags: string[]): void {
  measuredNodeFlags = flags;
}

/** A loopback URL on the port of a listening URL (the servers print their bound address). */
export function loopback(url: string, scheme: 'http' | 'ws'): string {
  return `${scheme}://127.0.0.1:${new URL(url).port}`;
}

/** The CPUs a process may run on (Cpus_allowed_list), to show the pinning took. */
export async function cpusOf(pid: number): Promise<string> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return /^Cpus_allowed_list:\s+(\S+)/m.exec(status)?.[1] ?? '?';
  } catch {
    return '?';
  }
}

/**
 * CPU time of a process and its main thread (the event loop), the main
 * thread's run-queue wait, and CPU time by thread name (V8's compiler and GC
 * workers, libuv's pool: what else shares the event loop's CPU).
 */
export type CpuSample = {
  at: number;
  processMs: number;
  mainMs: number;
  mainWaitMs: number;
  byThread: Map<string, number>;
};

const TICK_MS = 10; // USER_HZ is 100 on Linux

async function statTimes(path: string): Promise<number> {
  const stat = await readFile(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the comm.
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/**
 * How the process's CPU was spent so far: /proc/<pid>/stat for every thread,
 * /proc/<pid>/task/<pid>/schedstat for the main thread (run time, and time
 * spent runnable but waiting for the CPU: other processes on its CPU).
 */
export async function cpuOf(pid: number): Promise<CpuSample | null> {
  try {
    const [processMs, schedstat, byThread] = await Promise.all([
      statTimes(`/proc/${pid}/stat`),
      readFile(`/proc/${pid}/task/${pid}/schedstat`, 'utf8'),
      threadTimes(pid),
    ]);
    const [runNs = 0, waitNs = 0] = schedstat.trim().split(' ').map(Number);
    return {
      at: performance.now(),
      processMs,
      mainMs: runNs / 1e6,
      mainWaitMs: waitNs / 1e6,
      byThread,
    };
  } catch {
    return null;
  }
}

/** CPU time of every thread but the main one, summed by thread name (comm). */
async function threadTimes(pid: number): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  const tids = await readdir(`/proc/${pid}/task`);
  await Promise.all(
    tids
      .filter((tid) => tid !== String(pid))
      .map(async (tid) => {
        try {
          const [comm, ms] = await Promise.all([
            readFile(`/proc/${pid}/task/${tid}/comm`, 'utf8'),
            statTimes(`/proc/${pid}/task/${tid}/stat`),
          ]);
          const name = comm.trim();
          times.set(name, (times.get(name) ?? 0) + ms);
        } catch {
          // the thread ended meanwhile
        }
      }),
  );
  return times;
}

/** The threads that used CPU between two samples, most first: "name 120 ms, ...". */
export function threadsBetween(before: CpuSample, after: CpuSample, top = 3): string {
  return [...after.byThread]
    .map(([name, ms]) => [name, ms - (before.byThread.get(name) ?? 0)] as const)
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => `${name} ${ms} ms`)
    .join(', ');
}

export async function rssOf(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Of `root` and its descendants, the process using the most memory: the server tsx runs. */
async function biggestDescendant(root: number): Promise<number> {
  const parents = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(name), ppid);
    } catch {
      // exited meanwhile
    }
  }
  const family = [root];
  for (let i = 0; i < family.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === family[i]) family.push(pid);
  }
  let best = root;
  let bestRss = -1;
  for (const pid of family) {
    const rss = await rssOf(pid);
    if (rss > bestRss) {
      best = pid;
      bestRss = rss;
    }
  }
  return best;
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak seen. */
export function sampleRss(read: () => Promise<number>, everyMs = 100) {
  let peak = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const rss = await read();
      if (rss > peak) peak = rss;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop(): Promise<number> {
      stopped = true;
      await loop;
      const rss = await read();
      return Math.max(peak, rss);
    },
  };
}

/** A temporary directory removed by `cleanup`. */
export async function tempDir(prefix: string) {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}
