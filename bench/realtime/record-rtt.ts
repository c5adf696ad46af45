// Record round trips, one action at a time on an idle server: Hubstream's
// realtime node (server-hubstream.ts, the bench app's allow-all record
// rules) on Postgres, on PGlite (the embedded database of `pnpm start`) and
// as a cluster's node (Postgres and Redis), against deepstream 7 (server-deepstream.ts: its default in-memory cache
// and storage, allow-all Valve permissions), all driven by the official
// client (@deepstream/client) over 127.0.0.1. Not a test: it prints a table
// of p50 and p99 per action and server, and each Hubstream's ratio to
// deepstream.
//
//   pnpm bench:records \
//     [--iterations=200] [--rounds=3] [--warmup=20] [--only=delete,head] [--durability=fsync]
//     [--servers=postgres,cluster]   (deepstream is always measured: the ratios' base)
//     [--against=/tmp/old-checkout]
//
// --against: an A/B in one run. Each Hubstream server chosen is also started
// from that checkout (another `git worktree` of this repository, installed
// and built), labelled "old", and measured beside this checkout's in every
// round. On this shared 2-core machine the load moves within minutes, so
// two builds measured in separate runs differ by more than most changes
// do; with small blocks (--iterations=25 --rounds=30) both see the same load.
//
// Each round measures every action on each server in turn (the order of the
// servers alternates from round to round); the percentiles are over every
// round's samples. Actions:
//   create+read   getRecord(new name) until whenReady()
//   set whole     set(data) until a second client's subscription sees it
//   set path      set('p.n', value) until the second client sees it
//   set with ack  set(data, callback) until the write acknowledgement
//   delete        delete() of a written record until DELETE_SUCCESS
//   head          head(name) from a client that does not hold the record
//   has           has(name), likewise
//   snapshot      snapshot(name), likewise
// create+read and delete carry about 1 ms of the client's own for every
// server: the official client's default offline storage (NoopStorage)
// answers its get and delete through setTimeout(0) before the message goes
// out.
// Other processes share the machine's cores: run it more than once.

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { DeepstreamClient as Client } from '@deepstream/client';
import { Histogram } from './histogram.ts';
import { REALTIME_NODE, runBench, ServerProcess } from './servers.ts';

type Hubstream = 'postgres' | 'pglite' | 'cluster';
/** A server measured: deepstream, a Hubstream of this checkout, or one of --against's. */
type Kind = 'deepstream' | Hubstream | `${Hubstream} old`;
const HUBSTREAMS: readonly Hubstream[] = ['postgres', 'pglite', 'cluster'];
const LABELS: Record<Hubstream, string> = {
  postgres: 'Hubstream/Postgres',
  pglite: 'Hubstream/PGlite',
  cluster: 'Hubstream/cluster',
};
const label = (kind: Kind) =>
  kind === 'deepstream'
    ? 'deepstream'
    : kind.endsWith(' old')
      ? `${LABELS[kind.slice(0, -4) as Hubstream]} old`
      : LABELS[kind as Hubstream];
const servers = process.argv.find((a) => a.startsWith('--servers='))?.slice('--servers='.length);
const against = process.argv.find((a) => a.startsWith('--against='))?.slice('--against='.length);
const CHOSEN_HUBSTREAMS =
  servers === undefined
    ? HUBSTREAMS
    : HUBSTREAMS.filter((kind) => servers.split(',').includes(kind));
if (CHOSEN_HUBSTREAMS.length === 0) {
  throw new Error('--servers takes some of: postgres,pglite,cluster');
}
const KINDS: readonly Kind[] = [
  ...CHOSEN_HUBSTREAMS.flatMap((kind): Kind[] =>
    against === undefined ? [kind] : [`${kind} old`, kind],
  ),
  'deepstream',
];
// --durability: the Hubstream nodes' RECORD_WRITE_DURABILITY (commit, the
// default, or fsync: every acknowledged write and delete waits for its WAL
// flush; ENVS.md says what commit gives up).
const durability =
  process.argv.find((a) => a.startsWith('--durability='))?.slice('--durability='.length) ??
  'commit';
if (durability !== 'commit' && durability !== 'fsync') {
  throw new Error('--durability takes commit or fsync');
}
/** --against's servers: started here, as ServerProcess starts this checkout's. */
const olds = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of olds) child.kill('SIGTERM');
});

async function startOld(kind: Hubstream): Promise<{ url: string; stop(): Promise<void> }> {
  const checkout = resolve(against!);
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      '--expose-gc',
      ...REALTIME_NODE,
      join(checkout, 'bench/realtime/server-hubstream.ts'),
    ],
    {
      cwd: checkout,
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      env: { ...process.env, BENCH_DATABASE: kind, BENCH_RECORD_DURABILITY: durability },
    },
  );
  olds.add(child);
  const exited = once(child, 'exit');
  const url = await Promise.race([
    new Promise<string>((ok) => createInterface({ input: child.stdout! }).once('line', ok)),
    exited.then(() => {
      throw new Error(`${kind} from ${checkout} exited before printing its URL`);
    }),
  ]);
  return {
    url: url.trim(),
    async stop() {
      olds.delete(child);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

const start = (kind: Kind): Promise<{ url: string; stop(): Promise<void> }> => {
  if (kind === 'deepstream') return ServerProcess.start('deepstream');
  if (kind.endsWith(' old')) return startOld(kind.slice(0, -4) as Hubstream);
  const env = { BENCH_DATABASE: kind, BENCH_RECORD_DURABILITY: durability };
  return ServerProcess.start('hubstream', env, `hubstream-${kind}`);
};
const ACTIONS = [
  'create+read',
  'set whole',
  'set path',
  'set with ack',
  'delete',
  'head',
  'has',
  'snapshot',
] as const;
type Action = (typeof ACTIONS)[number];

function flag(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  if (!arg) return fallback;
  const value = Number(arg.slice(name.length + 3));
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} takes a positive integer`);
  return value;
}
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const CHOSEN = only === undefined ? ACTIONS : ACTIONS.filter((a) => only.split(',').includes(a));
if (CHOSEN.length === 0) throw new Error(`--only takes some of: ${ACTIONS.join(',')}`);
const ITERATIONS = flag('iterations', 200);
const ROUNDS = flag('rounds', 3);
const WARMUP = flag('warmup', 20);

const fromRealtime = createRequire(new URL('../../apps/realtime/package.json', import.meta.url));
const { DeepstreamClient } = fromRealtime('@deepstream/client') as {
  DeepstreamClient: new (url: string, options?: object) => Client;
};

type Rig = { writer: Client; watcher: Client; reader: Client; close(): void };

async function openRig(url: string): Promise<Rig> {
  const open = async () => {
    // subscriptionInterval 0: subscriptions leave at once, not in the client's 100 ms batches.
    const client = new DeepstreamClient(url, { maxReconnectAttempts: 0, subscriptionInterval: 0 });
    client.on('error', (error: unknown, event: string) => {
      process.stderr.write(`  client error on ${url}: ${event} ${String(error)}\n`);
    });
    await client.login({});
    return client;
  };
  const clients = [await open(), await open(), await open()] as const;
  return {
    writer: clients[0],
    watcher: clients[1],
    reader: clients[2],
    close: () => {
      for (const client of clients) client.close();
    },
  };
}

let runId = 0;

/** Times `count` round trips of one action; the first `skip` are not recorded. */
async function measure(rig: Rig, action: Action, count: number, skip: number, into: Histogram) {
  const { writer, watcher, reader } = rig;
  const prefix = `rtt/${process.pid}/${++runId}`;
  const time = async (i: number, run: () => Promise<unknown>) => {
    const start = performance.now();
    await run();
    if (i >= skip) into.record((performance.now() - start) * 1000);
  };
  const total = count + skip;
  switch (action) {
    case 'create+read':
      for (let i = 0; i < total; i++) {
        const record = writer.record.getRecord(`${prefix}/${i}`);
        await time(i, () => record.whenReady());
        record.discard();
      }
      return;
    case 'set whole':
    case 'set path': {
      const name = `${prefix}/watched`;
      const mine = writer.record.getRecord(name);
      const theirs = watcher.record.getRecord(name);
      await Promise.all([mine.whenReady(), theirs.whenReady()]);
      let waiting: { n: number; resolve: () => void } | null = null;
      theirs.subscribe((data: { n?: number; p?: { n?: number } }) => {
        const seen = action === 'set path' ? data?.p?.n : data?.n;
        if (waiting && seen === waiting.n) waiting.resolve();
      });
      for (let i = 0; i < total; i++) {
        await time(
          i,
          () =>
            new Promise<void>((resolve) => {
              waiting = { n: i, resolve };
              if (action === 'set path') mine.set('p.n', i);
              else mine.set({ n: i, text: 'a record of a few fields', list: [1, 2, 3] });
            }),
        );
      }
      mine.discard();
      theirs.discard();
      return;
    }
    case 'set with ack': {
      const record = writer.record.getRecord(`${prefix}/acked`);
      await record.whenReady();
      for (let i = 0; i < total; i++) {
        await time(
          i,
          () =>
            new Promise<void>((resolve, reject) =>
              record.set({ n: i, text: 'a record of a few fields' }, (error: unknown) =>
                error ? reject(new Error(String(error))) : resolve(),
              ),
            ),
        );
      }
      record.discard();
      return;
    }
    case 'delete':
      for (let i = 0; i < total; i++) {
        const record = writer.record.getRecord(`${prefix}/${i}`);
        await record.whenReady();
        await new Promise<void>((resolve, reject) =>
          record.set({ n: i }, (error: unknown) =>
            error ? reject(new Error(String(error))) : resolve(),
          ),
        );
        await time(i, () => record.delete() as Promise<void>);
      }
      return;
    case 'head':
    case 'has':
    case 'snapshot': {
      const name = `${prefix}/read`;
      const record = writer.record.getRecord(name);
      await record.whenReady();
      await new Promise<void>((resolve, reject) =>
        record.set({ n: 1, text: 'a record of a few fields' }, (error) =>
          error ? reject(new Error(String(error))) : resolve(),
        ),
      );
      for (let i = 0; i < total; i++) {
        if (action === 'head') await time(i, () => reader.record.head(name));
        else if (action === 'has') await time(i, () => reader.record.has(name));
        else await time(i, () => reader.record.snapshot(name));
      }
      record.discard();
      return;
    }
  }
}

const ms = (micros: number) => (micros / 1000).toFixed(2).padStart(8);
const ratio = (a: number, b: number) => `${(a / b).toFixed(1)}x`.padStart(7);

await runBench(async () => {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(
    `record round trips: ${ITERATIONS} per action, server and round, ${ROUNDS} rounds, ` +
      `${WARMUP} warm-up each; RECORD_WRITE_DURABILITY=${durability}; ${cpus().length} cores, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  const servers = {} as Record<Kind, { url: string; stop(): Promise<void> }>;
  const rigs = {} as Record<Kind, Rig>;
  for (const kind of KINDS) {
    servers[kind] = await start(kind);
    rigs[kind] = await openRig(servers[kind].url);
  }
  const histograms = Object.fromEntries(
    KINDS.map((kind) => [kind, Object.fromEntries(ACTIONS.map((a) => [a, new Histogram()]))]),
  ) as Record<Kind, Record<Action, Histogram>>;
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? KINDS : [...KINDS].reverse();
    for (const action of CHOSEN) {
      for (const kind of order) {
        await measure(rigs[kind], action, ITERATIONS, WARMUP, histograms[kind][action]);
      }
    }
    say(`  round ${round + 1} of ${ROUNDS} done`);
  }
  for (const kind of KINDS) rigs[kind].close();
  // --against's servers drop their databases on the way out, as runBench's do.
  await Promise.all(
    KINDS.filter((kind) => kind.endsWith(' old')).map((kind) => servers[kind].stop()),
  );

  say('');
  const hubstreams = KINDS.filter((kind) => kind !== 'deepstream');
  const column = (text: string) => ` | ${text.padStart(17)} p50      p99`;
  say(
    `ms, one at a time  ${KINDS.map((kind) => column(label(kind))).join('')}` +
      hubstreams.map((kind) => ` | ratio ${kind.padStart(8)} p50     p99`).join(''),
  );
  for (const action of CHOSEN) {
    const at = (kind: Kind, q: number) => histograms[kind][action].quantile(q);
    const times = KINDS.map((kind) => ` |              ${ms(at(kind, 0.5))} ${ms(at(kind, 0.99))}`);
    const ratios = hubstreams.map(
      (kind) =>
        ` |              ${ratio(at(kind, 0.5), at('deepstream', 0.5))} ${ratio(at(kind, 0.99), at('deepstream', 0.99))}`,
    );
    say(`${action.padEnd(19)}${times.join('')}${ratios.join('')}`);
  }
});
