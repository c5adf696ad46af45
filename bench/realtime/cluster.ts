// Cross-node benchmark: event delivery when publisher and subscriber sit on
// different realtime nodes, with 1, 2 and 3 nodes in the same run. Each
// node is a process of its own (server-cluster-node.ts) on one Postgres
// database and one Redis key prefix; this process creates the app and is
// the load generator. Not a test: it prints a table.
//
//   pnpm bench:cluster [--seconds=3] [--rounds=3] [--nodes=1,2,3] ...
//   pnpm bench:cluster --help
//
// Shapes, on each cluster size n:
//   one-to-one  P publisher/subscriber pairs, one name each; pair i publishes
//               on node i mod n and subscribes on node (i+1) mod n, so with
//               n > 1 every delivery crosses nodes
//   fan-out     publishers and subscribers of one name spread round robin
//               over the nodes
// Each shape: the most it delivers (closed loop), then paced at half of
// that, where the latency target applies (p99 < 10 ms). Every measurement
// counts deliveries due against deliveries made: nothing may be lost.

import { cpus, loadavg } from 'node:os';
import { connectRedis } from '../../packages/cluster/src/index.ts';
import { loadTestConfig } from '../../packages/config/src/index.ts';
import { createTestDatabase } from '../../packages/db/src/testing.ts';
import { createLogger } from '../../packages/service/src/index.ts';
import { closeEverything, unexpectedCloseCount } from './client.ts';
import { type EventResult, type EventRig, type EventShape, openEventRig } from './events.ts';
import {
  type CpuSource,
  describe,
  formatMs,
  formatRate,
  median,
  type Settings,
} from './measure.ts';
import { table } from './report.ts';
import type { CpuReply } from './server-control.ts';
import { runBench, ServerProcess, stopAll } from './servers.ts';
import { createBenchAppIn } from './setup.ts';

const FLAGS = {
  seconds: { fallback: 3, help: 'counting window of each measurement, seconds' },
  rounds: { fallback: 3, help: 'measurements per shape and size (the median is reported)' },
  warmup: { fallback: 1, help: 'load before each window, seconds' },
  pairs: { fallback: 100, help: 'one-to-one publisher/subscriber pairs' },
  'pair-window': { fallback: 4, help: 'emits in flight per pair' },
  publishers: { fallback: 10, help: 'fan-out publishers' },
  subscribers: { fallback: 100, help: 'fan-out subscribers' },
  'fan-out-window': { fallback: 2, help: 'emits in flight per fan-out publisher' },
  'target-p99': { fallback: 10, help: 'p99 target at half the maximum, ms' },
} as const;
type Flag = keyof typeof FLAGS;

function parse(argv: readonly string[]) {
  const values = Object.fromEntries(
    Object.entries(FLAGS).map(([name, { fallback }]) => [name, fallback]),
  ) as Record<Flag, number>;
  let nodes = [1, 2, 3];
  const usage = () =>
    [
      'usage: pnpm bench:cluster [flags]',
      ...Object.entries(FLAGS).map(
        ([name, { fallback, help }]) => `  --${`${name}=${fallback}`.padEnd(22)} ${help}`,
      ),
      `  --${'nodes=1,2,3'.padEnd(22)} cluster sizes to measure, in order`,
    ].join('\n');
  for (const arg of argv) {
    if (arg === '--') continue;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${usage()}\n`);
      process.exit(0);
    }
    const match = /^--([a-z0-9-]+)=(.*)$/.exec(arg);
    if (!match) throw new Error(`unknown argument ${arg}\n${usage()}`);
    const [, name = '', raw = ''] = match;
    if (name === 'nodes') {
      nodes = raw.split(',').map(Number);
      if (nodes.some((n) => !Number.isInteger(n) || n < 1 || n > 8)) {
        throw new Error('--nodes takes whole numbers from 1 to 8, comma-separated');
      }
    } else if (name in FLAGS) {
      const number = Number(raw);
      if (!Number.isFinite(number) || number <= 0) throw new Error(`--${name}: bad value ${raw}`);
      values[name as Flag] = number;
    } else {
      throw new Error(`unknown flag --${name}\n${usage()}`);
    }
  }
  return { ...values, nodes };
}

const options = parse(process.argv.slice(2));
const say = (line: string) => process.stdout.write(`${line}\n`);
const settings: Settings = {
  warmupMs: options.warmup * 1000,
  durationMs: options.seconds * 1000,
  drainMs: 3000,
  progress: say,
};

/** The CPU of every node of a cluster, read as one. */
class Nodes implements CpuSource {
  constructor(readonly servers: readonly ServerProcess[]) {}

  get url(): string {
    return this.servers[0]!.url;
  }

  async cpu(): Promise<CpuReply> {
    const replies = await Promise.all(this.servers.map((s) => s.cpu()));
    return {
      user: replies.reduce((sum, r) => sum + r.user, 0),
      system: replies.reduce((sum, r) => sum + r.system, 0),
      wallMs: replies[0]!.wallMs,
    };
  }
}

type ShapeRun = {
  label: string;
  shape: EventShape;
  window: number;
  /** Node index of publisher i and subscriber i among n nodes. */
  publisherNode(index: number, n: number): number;
  subscriberNode(index: number, n: number): number;
};

const SHAPES: readonly ShapeRun[] = [
  {
    label: 'one-to-one',
    shape: { names: options.pairs, publishers: 1, subscribers: 1 },
    window: options['pair-window'],
    publisherNode: (i, n) => i % n,
    subscriberNode: (i, n) => (i + 1) % n,
  },
  {
    label: 'fan-out',
    shape: { names: 1, publishers: options.publishers, subscribers: options.subscribers },
    window: options['fan-out-window'],
    publisherNode: (i, n) => i % n,
    subscriberNode: (i, n) => (i + 1) % n,
  },
];

type Row = { nodes: number; shape: string; max: EventResult; half: EventResult; paced: number };

async function measureRounds(
  rig: EventRig,
  pacing: Parameters<EventRig['measure']>[1],
  line: string,
): Promise<EventResult> {
  const results: EventResult[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const warm = round === 0 ? { ...settings, warmupMs: settings.warmupMs * 2 } : settings;
    const result = await rig.measure(warm, pacing);
    results.push(result);
    say(
      `    ${round + 1}/${options.rounds} ${line}: ${describe(result, 'delivered')}; ` +
        `${formatRate(result.received)} of ${formatRate(result.expected)} due delivered`,
    );
  }
  const middle = median(results);
  // Counts over all rounds, not the median round's.
  middle.expected = results.reduce((sum, r) => sum + r.expected, 0);
  middle.received = results.reduce((sum, r) => sum + r.received, 0);
  return middle;
}

async function main() {
  const started = performance.now();
  say('# Hubstream cross-node benchmark');
  say(
    `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}), ` +
      `load average ${loadavg()
        .map((n) => n.toFixed(1))
        .join(' ')}; cluster sizes ${options.nodes.join(', ')}; ` +
      `${options.rounds} rounds of ${options.seconds} s after ${options.warmup} s warm-up`,
  );

  const { TEST_REDIS_URL: redisUrl } = loadTestConfig();
  const keyPrefix = `bench:${process.pid}:`;
  const testDb = await createTestDatabase('bench_cluster');
  const quiet = createLogger({ level: 'silent', name: 'bench' });
  const rows: Row[] = [];
  try {
    const appId = await createBenchAppIn(testDb.url);

    for (const n of options.nodes) {
      say(`\n## ${n} node${n === 1 ? '' : 's'}: starting …`);
      const servers = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          ServerProcess.start(
            'cluster-node',
            {
              BENCH_NODE_ID: `bench-node-${i}-${process.pid}`,
              BENCH_KEY_PREFIX: keyPrefix,
              BENCH_REDIS_URL: redisUrl,
              BENCH_DATABASE_URL: testDb.url,
            },
            `node ${i}`,
          ),
        ),
      );
      const nodes = new Nodes(servers);
      const urlOf = (index: number) => `${servers[index]!.url}/${appId}`;
      say(`  ${servers.map((s, i) => `node ${i} ${s.url} (pid ${s.pid})`).join('; ')}`);
      try {
        for (const run of SHAPES) {
          const rig = await openEventRig({ url: urlOf(0), cpu: () => nodes.cpu() }, run.shape, {
            payloadBytes: 0,
            tag: `${run.label}-${n}`,
            placement: {
              publisher: (i) => urlOf(run.publisherNode(i, n)),
              subscriber: (i) => urlOf(run.subscriberNode(i, n)),
            },
          });
          try {
            say(`  ${run.label}: most delivered, ${run.window} emits in flight per publisher`);
            const max = await measureRounds(rig, { kind: 'closed', window: run.window }, 'max');
            const emitsPerSec = max.rate / run.shape.subscribers / 2;
            say(`  ${run.label}: paced at half of that, ${formatRate(emitsPerSec)} emits/s`);
            const half = await measureRounds(rig, { kind: 'paced', emitsPerSec }, 'half');
            rows.push({ nodes: n, shape: run.label, max, half, paced: emitsPerSec });
          } finally {
            await rig.close();
          }
        }
      } finally {
        await stopAll();
      }
    }
  } finally {
    await closeEverything();
    await stopAll();
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

  if (unexpectedCloseCount() > 0) {
    say(`\nnote: ${unexpectedCloseCount()} connections were closed by a node during the run`);
  }
  const target = options['target-p99'];
  say(`\n## Summary (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  say(
    table(
      [
        'Nodes',
        'Shape',
        'Max delivered/s',
        'p50 / p99 ms at max',
        'Half: delivered/s',
        'p50 / p99 ms at half',
        'Delivered / due (all windows)',
        `p99 < ${target} ms at half`,
      ],
      rows.map((r) => [
        String(r.nodes),
        r.shape,
        formatRate(r.max.rate),
        `${formatMs(r.max.p50Ms)} / ${formatMs(r.max.p99Ms)}`,
        formatRate(r.half.rate),
        `${formatMs(r.half.p50Ms)} / ${formatMs(r.half.p99Ms)}`,
        `${formatRate(r.max.received + r.half.received)} / ${formatRate(r.max.expected + r.half.expected)}` +
          (r.max.received + r.half.received === r.max.expected + r.half.expected
            ? ' (none lost)'
            : ' (LOST)'),
        r.half.p99Ms < target ? 'pass' : 'FAIL',
      ]),
      ['r', 'l', 'r', 'r', 'r', 'r', 'r', 'l'],
    ),
  );
  say(
    `\nmachine: load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} at the end; every node, Redis, Postgres and the load generator share ` +
      `${cpus().length} CPUs`,
  );
}

await runBench(main);
