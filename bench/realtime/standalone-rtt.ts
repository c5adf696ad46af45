// Round trips through `pnpm start` as it ships (the built standalone with
// package.json's flags and malloc settings), driven by the official client
// over 127.0.0.1: what an app's clients wait for now that the database (and
// the control plane and the jobs) run in the process' second thread, and
// the realtime node reaches PGlite through calls. Not a test: it prints a
// table of p50, p99 and p99.9 per action and build.
//
//   pnpm bench:standalone-rtt [--iterations=200] [--rounds=5] [--against=/tmp/old-checkout]
//
// --against: another checkout of this repository, installed and built (a
// `git worktree`): its apps/standalone/dist/main.js runs beside this one's,
// the rounds interleaved (round 1 of each, then round 2 …, the order
// alternating), so a change in the machine's load falls on both alike.
// Actions, one at a time on an idle server:
//   set with ack   setDataWithAck(name, data) until the write acknowledgement
//                  (committed to PGlite)
//   create+read    getRecord(new name) until whenReady() (a miss in memory:
//                  read from PGlite)
//   event          emit until a second client's subscription hears it (no
//                  database: the realtime thread alone)

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { nodeFlags, STANDALONE_MALLOC_ENV } from '../../test/deployment-files.ts';
import { Developer, HIGH_LIMITS, OPEN_RULES } from '../attacks/api.ts';
import { DeepstreamClient } from '../attacks/deps.ts';
import { table } from './report.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = 'apps/standalone/dist/main.js';
const START_TIMEOUT_MS = 60_000;

function option(name: string, fallback: string): string {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? arg.slice(name.length + 3) : fallback;
}
const iterations = Number(option('iterations', '200'));
const rounds = Number(option('rounds', '5'));
const against = option('against', '');
if (!Number.isInteger(iterations) || iterations < 1 || !Number.isInteger(rounds) || rounds < 1)
  throw new Error('--iterations and --rounds take positive integers');

type Build = { label: string; entry: string };
const builds: Build[] = [{ label: 'this checkout', entry: path.join(ROOT, MAIN) }];
if (against) builds.push({ label: `--against ${against}`, entry: path.join(against, MAIN) });

type Server = { child: ChildProcess; dataDir: string; api: string; ws: string };

/** The build's process on a new DATA_DIR, once its banner names both URLs. */
async function start(build: Build): Promise<Server> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'hubstream-rtt-'));
  const child = spawn(process.execPath, [...nodeFlags('standalone'), build.entry], {
    cwd: path.dirname(path.dirname(path.dirname(build.entry))),
    env: {
      PATH: process.env.PATH ?? '',
      ...STANDALONE_MALLOC_ENV,
      DATA_DIR: dataDir,
      HTTP_PORT: '0',
      REALTIME_PORT: '0',
      ACCOUNT_RATE_LIMIT_MAX: '1000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const listening = await new Promise<{ controlPlaneUrl: string; realtimeUrl: string }>(
    (resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${build.label}: no banner`)),
        START_TIMEOUT_MS,
      );
      child.once('exit', (code) => reject(new Error(`${build.label} exited with ${code}`)));
      lines.on('line', (line) => {
        try {
          const entry = JSON.parse(line) as {
            listening?: { controlPlaneUrl: string; realtimeUrl: string };
          };
          if (entry.listening?.realtimeUrl) {
            clearTimeout(timer);
            resolve(entry.listening);
          }
        } catch {}
      });
    },
  );
  // Plain http:// and ws:// answer on the same ports (loopback).
  return {
    child,
    dataDir,
    api: listening.controlPlaneUrl.replace(/^https:/, 'http:'),
    ws: listening.realtimeUrl.replace(/^wss:/, 'ws:'),
  };
}

async function stop(server: Server) {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
  await rm(server.dataDir, { recursive: true, force: true });
}

async function client(url: string): Promise<DeepstreamClient> {
  // subscriptionInterval 0: subscriptions leave at once, not in the client's 100 ms batches.
  const c = new DeepstreamClient(url, { maxReconnectAttempts: 0, subscriptionInterval: 0 });
  await c.login({});
  return c;
}

const ACTIONS = ['set with ack', 'create+read', 'event'] as const;
type Action = (typeof ACTIONS)[number];

/** One round of every action on `server`: the samples in ms, by action. */
async function round(server: Server, appId: string, tag: string) {
  const url = `${server.ws}/${appId}`;
  const [a, b] = await Promise.all([client(url), client(url)]);
  const samples = new Map<Action, number[]>(ACTIONS.map((action) => [action, []]));
  try {
    const record = `rtt/${tag}`;
    for (let i = 0; i < iterations; i++) {
      const at = performance.now();
      await a.record.setDataWithAck(record, { i, at: Date.now() });
      samples.get('set with ack')?.push(performance.now() - at);
    }
    for (let i = 0; i < iterations; i++) {
      const at = performance.now();
      const r = a.record.getRecord(`rtt/${tag}/new/${i}`);
      await r.whenReady();
      samples.get('create+read')?.push(performance.now() - at);
      r.discard();
    }
    let heard: (() => void) | undefined;
    b.event.subscribe(`rtt/${tag}`, () => heard?.());
    // The subscription is in place once an emit of a's is heard (a sender
    // does not hear its own): a's emits until then, 10 ms apart.
    await new Promise<void>((resolve) => {
      const again = setInterval(() => a.event.emit(`rtt/${tag}`, 'ready?'), 10);
      heard = () => {
        clearInterval(again);
        resolve();
      };
    });
    // A late 'ready?' must not end a measured wait.
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let i = 0; i < iterations; i++) {
      const at = performance.now();
      await new Promise<void>((resolve) => {
        heard = resolve;
        a.event.emit(`rtt/${tag}`, i);
      });
      samples.get('event')?.push(performance.now() - at);
    }
  } finally {
    a.close();
    b.close();
  }
  return samples;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(
  `# pnpm start round trips: ${iterations} of each action a round, ${rounds} rounds, ${cpus().length} CPUs, load ${load()}`,
);
const servers: Server[] = [];
const apps: string[] = [];
try {
  for (const build of builds) {
    const server = await start(build);
    servers.push(server);
    const developer = await Developer.signUp(server.api);
    apps.push(await developer.createApp('rtt', { rules: OPEN_RULES, limits: HIGH_LIMITS }));
    console.log(`  ${build.label}: ${server.ws}`);
  }
  const all = builds.map(() => new Map<Action, number[]>(ACTIONS.map((a) => [a, []])));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? builds.map((_, i) => i) : builds.map((_, i) => i).reverse();
    for (const i of order) {
      const got = await round(servers[i] as Server, apps[i] as string, `${r}`);
      for (const action of ACTIONS) all[i]?.get(action)?.push(...(got.get(action) ?? []));
    }
    console.log(`  round ${r + 1}/${rounds} done (load ${load()})`);
  }
  const rows = ACTIONS.flatMap((action) =>
    builds.map((build, i) => {
      const sorted = [...(all[i]?.get(action) ?? [])].sort((x, y) => x - y);
      return [
        action,
        build.label,
        String(sorted.length),
        quantile(sorted, 0.5).toFixed(2),
        quantile(sorted, 0.99).toFixed(2),
        quantile(sorted, 0.999).toFixed(2),
      ];
    }),
  );
  console.log(
    `\n${table(['action', 'build', 'samples', 'p50 ms', 'p99 ms', 'p99.9 ms'], rows, ['l', 'l', 'r', 'r', 'r', 'r'])}`,
  );
  console.log(`\nload average at the end: ${load()}`);
} finally {
  await Promise.allSettled(servers.map(stop));
}
process.exit(0);
