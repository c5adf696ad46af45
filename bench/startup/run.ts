// Start-time benchmark (issues 13 and 15): how long the built servers take
// from `spawn` to serving, each beside a baseline measured in the same
// minutes, since on a shared machine only figures taken together compare.
// Not a test: it prints a table.
//
//   pnpm bench:startup [--runs=5] [--restarts=3] [--clusters=2]
//
// Measured (wall time from spawn; the CPU column is the process' own user +
// system time when it first answers, from /proc):
//   realtime node      `node --enable-source-maps apps/realtime/dist/main.js`
//                      on Postgres and Redis, as a deployment runs it: to
//                      GET /ready, then to the first official client's
//                      login (open auth) on a fresh connection; once more
//                      without --enable-source-maps, to show what it costs
//   three at once      three nodes spawned together, until the last is ready
//   pnpm start         the first start on an empty DATA_DIR, then restarts
//                      on that DATA_DIR, to GET /ready of the control plane
// Baselines: `node -e 0` (to exit), a bare Fastify server with one route
// (bare-server.mjs, to /ready), three of those at once, and
// `pnpm exec node -e 0` (what pnpm itself adds to `pnpm start`).
//
// The runs of every kind are interleaved (run 1 of each, then run 2 …), so
// a change in the machine's load falls on all of them alike.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectRedis } from '../../packages/cluster/src/index.ts';
import { loadTestConfig } from '../../packages/config/src/index.ts';
import { createTestDatabase } from '../../packages/db/src/testing.ts';
import { createLogger } from '../../packages/service/src/index.ts';
import { freePort } from '../../packages/testing/src/free-port.ts';
import { table } from '../realtime/report.ts';
import { createBenchAppIn } from '../realtime/setup.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REALTIME_MAIN = path.join(ROOT, 'apps/realtime/dist/main.js');
const BARE_SERVER = fileURLToPath(new URL('./bare-server.mjs', import.meta.url));
/** A start that takes longer than this failed. */
const START_TIMEOUT_MS = 60_000;
/** Linux's USER_HZ, the unit of /proc/<pid>/stat's times, on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

type Client = {
  login(data: object): Promise<unknown>;
  close(): void;
  on(event: 'error', listener: (error: unknown, event: string) => void): void;
};
const fromRealtime = createRequire(new URL('../../apps/realtime/package.json', import.meta.url));
const { DeepstreamClient } = fromRealtime('@deepstream/client') as {
  DeepstreamClient: new (url: string, options?: object) => Client;
};

const FLAGS = {
  runs: { fallback: 5, help: 'starts of each single process (realtime node, baselines)' },
  restarts: { fallback: 3, help: '`pnpm start` restarts after the first start' },
  clusters: { fallback: 2, help: 'times three realtime nodes are started at once' },
} as const;
type Flag = keyof typeof FLAGS;

function parse(argv: readonly string[]): Record<Flag, number> {
  const values = Object.fromEntries(
    Object.entries(FLAGS).map(([name, { fallback }]) => [name, fallback]),
  ) as Record<Flag, number>;
  const usage = () =>
    [
      'usage: pnpm bench:startup [flags]',
      ...Object.entries(FLAGS).map(
        ([name, { fallback, help }]) => `  --${`${name}=${fallback}`.padEnd(14)} ${help}`,
      ),
    ].join('\n');
  for (const arg of argv) {
    if (arg === '--') continue;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${usage()}\n`);
      process.exit(0);
    }
    const match = /^--([a-z]+)=(.*)$/.exec(arg);
    if (!match || !(match[1]! in FLAGS)) throw new Error(`unknown argument ${arg}\n${usage()}`);
    const number = Number(match[2]);
    if (!Number.isInteger(number) || number < 1 || number > 100) {
      throw new Error(`--${match[1]} takes a whole number from 1 to 100, not ${match[2]}`);
    }
    values[match[1] as Flag] = number;
  }
  return values;
}

const options = parse(process.argv.slice(2));
const say = (line: string) => process.stdout.write(`${line}\n`);

/**
 * User + system CPU of a live process so far, in ms, with that of its
 * children (those it waited for, as `pnpm start` does for the build check,
 * and the live ones, as the server it started); undefined where /proc is not.
 */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name (which may hold spaces) in parentheses:
    // utime, stime, cutime, cstime.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter((child) => child !== '')
      .map((child) => cpuMs(Number(child)) ?? 0);
    return (ticks * 1000) / CLOCK_TICKS_PER_SECOND + children.reduce((a, b) => a + b, 0);
  } catch {
    return undefined;
  }
}

type Started = { child: ChildProcess; readyMs: number; cpuMs: number | undefined };

/** Spawns `command` and resolves when GET `url` answers 2xx, with the wall time from spawn. */
async function startUntilReady(
  command: string,
  args: readonly string[],
  url: string,
  env: NodeJS.ProcessEnv,
  detached = false,
): Promise<Started> {
  const started = performance.now();
  const child = spawn(command, args, {
    cwd: ROOT,
    env,
    detached,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    // The last few KiB only: enough to say why a start failed.
    stderr = (stderr + chunk.toString()).slice(-4096);
  });
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    exited = `exited (${code ?? signal}) before it was ready\n${stderr}`;
  });
  for (;;) {
    if (exited) throw new Error(`${command} ${args.join(' ')}: ${exited}`);
    if (performance.now() - started > START_TIMEOUT_MS) {
      stop(child, detached);
      throw new Error(`${command} ${args.join(' ')}: not ready in ${START_TIMEOUT_MS} ms`);
    }
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) {
      const readyMs = performance.now() - started;
      return { child, readyMs, cpuMs: cpuMs(child.pid) };
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Ctrl-C for a detached process group (`pnpm start`), SIGTERM for one server. */
function stop(child: ChildProcess, group: boolean): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  if (group) process.kill(-child.pid, 'SIGINT');
  else child.kill('SIGTERM');
}

async function stopAndWait(child: ChildProcess, group = false): Promise<void> {
  const exited = child.exitCode !== null || child.signalCode !== null;
  if (exited) return;
  const done = once(child, 'exit');
  stop(child, group);
  await done;
}

/** CPU ms of this process' children that it waited for (cutime + cstime); undefined where /proc is not. */
function waitedChildrenCpuMs(): number | undefined {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Wall time and CPU (with its children's) of a process that only starts and exits. */
function timeToExit(command: string, args: readonly string[]): [number, number | undefined] {
  const cpuBefore = waitedChildrenCpuMs();
  const started = performance.now();
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: exit ${result.status}`);
  const wall = performance.now() - started;
  const cpuAfter = waitedChildrenCpuMs();
  return [
    wall,
    cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
  ];
}

/** Figures of one kind of start. */
class Series {
  readonly wall: number[] = [];
  readonly cpu: number[] = [];
  add(wallMs: number, cpu?: number): void {
    this.wall.push(wallMs);
    if (cpu !== undefined) this.cpu.push(cpu);
  }
}

const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b);
const median = (values: readonly number[]) => {
  const s = sorted(values);
  return s.length === 0 ? Number.NaN : s[Math.floor((s.length - 1) / 2)]!;
};
const ms = (value: number) => (Number.isFinite(value) ? `${Math.round(value)}` : '—');

async function loginOnce(url: string): Promise<void> {
  const client = new DeepstreamClient(url, { maxReconnectAttempts: 0 });
  client.on('error', () => {});
  try {
    await Promise.race([
      client.login({}),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`no login on ${url} in 10 s`)), 10_000),
      ),
    ]);
  } finally {
    client.close();
  }
}

async function main() {
  const began = performance.now();
  say('# Hubstream start-time benchmark');
  say(
    `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}), load average ${loadavg()
      .map((n) => n.toFixed(1))
      .join(
        ' ',
      )}; ${options.runs} runs, ${options.restarts} restarts, ${options.clusters} × 3 nodes`,
  );
  // What `pnpm start` would do first: the dist/ measured is the sources' build.
  const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-changed'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (build.status !== 0) throw new Error(`build failed:\n${build.stderr}`);
  say(build.stderr.toString().trim());

  const { TEST_REDIS_URL: redisUrl } = loadTestConfig();
  const keyPrefix = `bench-startup:${process.pid}:`;
  const testDb = await createTestDatabase('bench_startup');
  const quiet = createLogger({ level: 'silent', name: 'bench' });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'hubstream-bench-startup-'));
  const series = new Map<string, Series>();
  const of = (name: string) => {
    const known = series.get(name);
    if (known) return known;
    const fresh = new Series();
    series.set(name, fresh);
    return fresh;
  };
  const running = new Set<{ child: ChildProcess; group: boolean }>();
  try {
    const appId = await createBenchAppIn(testDb.url);

    const nodeEnv = (port: number): NodeJS.ProcessEnv => ({
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: testDb.url,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: keyPrefix,
      REALTIME_HOST: '127.0.0.1',
      REALTIME_PORT: String(port),
    });
    const realtime = async (label: string, flags: readonly string[], login: boolean) => {
      const port = await freePort();
      const started = performance.now();
      const run = await startUntilReady(
        process.execPath,
        [...flags, REALTIME_MAIN],
        `http://127.0.0.1:${port}/ready`,
        nodeEnv(port),
      );
      const entry = { child: run.child, group: false };
      running.add(entry);
      of(label).add(run.readyMs, run.cpuMs);
      if (login) {
        await loginOnce(`ws://127.0.0.1:${port}/${appId}`);
        of(`${label} login`).add(performance.now() - started);
      }
      await stopAndWait(run.child);
      running.delete(entry);
    };
    const bare = async (label: string) => {
      const port = await freePort();
      const run = await startUntilReady(
        process.execPath,
        [BARE_SERVER, String(port)],
        `http://127.0.0.1:${port}/ready`,
        process.env,
      );
      of(label).add(run.readyMs, run.cpuMs);
      await stopAndWait(run.child);
    };

    say(`\n## Single processes (${options.runs} runs of each, interleaved)`);
    for (let i = 0; i < options.runs; i++) {
      of('node -e 0').add(...timeToExit(process.execPath, ['-e', '0']));
      await bare('bare');
      await realtime('realtime', ['--enable-source-maps'], true);
      await realtime('realtime without source maps', [], false);
      say(
        `  run ${i + 1}: realtime ${ms(of('realtime').wall.at(-1)!)} ms to /ready ` +
          `(${ms(of('realtime').cpu.at(-1) ?? Number.NaN)} ms CPU), ` +
          `${ms(of('realtime login').wall.at(-1)!)} ms to login; bare Fastify ${ms(of('bare').wall.at(-1)!)} ms`,
      );
    }

    say(`\n## Three at once (${options.clusters} times)`);
    for (let i = 0; i < options.clusters; i++) {
      for (const kind of ['bare', 'realtime'] as const) {
        const started = performance.now();
        const runs = await Promise.all(
          [0, 1, 2].map(async () => {
            const port = await freePort();
            return kind === 'bare'
              ? startUntilReady(
                  process.execPath,
                  [BARE_SERVER, String(port)],
                  `http://127.0.0.1:${port}/ready`,
                  process.env,
                )
              : startUntilReady(
                  process.execPath,
                  ['--enable-source-maps', REALTIME_MAIN],
                  `http://127.0.0.1:${port}/ready`,
                  nodeEnv(port),
                );
          }),
        );
        of(`${kind} x3`).add(performance.now() - started);
        await Promise.all(runs.map((run) => stopAndWait(run.child)));
      }
      say(
        `  ${i + 1}: three realtime nodes ${ms(of('realtime x3').wall.at(-1)!)} ms, ` +
          `three bare Fastify ${ms(of('bare x3').wall.at(-1)!)} ms`,
      );
    }

    say(`\n## pnpm start (DATA_DIR ${dataDir})`);
    for (let i = 0; i <= options.restarts; i++) {
      of('pnpm exec').add(...timeToExit('pnpm', ['exec', 'node', '-e', '0']));
      const httpPort = await freePort();
      const realtimePort = await freePort();
      const run = await startUntilReady(
        'pnpm',
        ['start'],
        `http://127.0.0.1:${httpPort}/ready`,
        {
          ...process.env,
          DATA_DIR: dataDir,
          HTTP_PORT: String(httpPort),
          REALTIME_PORT: String(realtimePort),
        },
        true,
      );
      const entry = { child: run.child, group: true };
      running.add(entry);
      of(i === 0 ? 'pnpm first' : 'pnpm restart').add(run.readyMs, run.cpuMs);
      await stopAndWait(run.child, true);
      running.delete(entry);
      say(
        `  ${i === 0 ? 'first start' : `restart ${i}`}: ${ms(run.readyMs)} ms to /ready ` +
          `(${ms(run.cpuMs ?? Number.NaN)} ms CPU)`,
      );
    }
  } finally {
    for (const { child, group } of running) await stopAndWait(child, group).catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
    await testDb.drop().catch(() => {});
    const redis = connectRedis(redisUrl, quiet);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    await redis.quit();
  }

  const row = (what: string, name: string, baseline: string, baselineName: string) => {
    const s = of(name);
    const b = of(baselineName);
    const w = sorted(s.wall);
    return [
      what,
      String(w.length),
      ms(w[0] ?? Number.NaN),
      ms(median(w)),
      ms(w.at(-1) ?? Number.NaN),
      ms(median(s.cpu)),
      baseline,
      ms(median(b.wall)),
      ms(median(b.cpu)),
    ];
  };
  say(`\n## Summary (${((performance.now() - began) / 1000).toFixed(0)} s)\n`);
  say(
    table(
      [
        'Start (wall ms from spawn)',
        'Runs',
        'Min',
        'Median',
        'Max',
        'CPU ms',
        'Baseline, same minutes',
        'Median',
        'CPU ms',
      ],
      [
        row('realtime node → /ready', 'realtime', 'bare Fastify → /ready', 'bare'),
        row(
          'realtime node → first client login',
          'realtime login',
          'node -e 0 → exit',
          'node -e 0',
        ),
        row(
          'realtime node, no --enable-source-maps → /ready',
          'realtime without source maps',
          'bare Fastify → /ready',
          'bare',
        ),
        row(
          '3 realtime nodes at once → all ready',
          'realtime x3',
          '3 bare Fastify at once',
          'bare x3',
        ),
        row(
          'pnpm start, empty DATA_DIR → /ready',
          'pnpm first',
          'pnpm exec node -e 0',
          'pnpm exec',
        ),
        row('pnpm start, restart → /ready', 'pnpm restart', 'pnpm exec node -e 0', 'pnpm exec'),
      ],
      ['l', 'r', 'r', 'r', 'r', 'r', 'l', 'r', 'r'],
    ),
  );
  say(
    `\nCPU ms: user + system time of the process and its children (pnpm start: pnpm, the ` +
      `build check and the server) at the first ready answer (median; — where not measured). Machine: load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} at the end; the servers, Postgres, Redis and this process share ` +
      `${cpus().length} CPUs.`,
  );
}

await main();
process.exit(0);
