// The bench's flags: `--name=value`, each with a default that keeps a run
// to a few minutes on a two-core machine. `--help` lists them.

import type { ServerKind } from './servers.ts';

export const SERVER_KINDS: readonly ServerKind[] = ['baseline', 'deepstream', 'hubstream'];

export const PHASES = [
  'fan-out',
  'one-to-one',
  'half-rate',
  'records',
  'records-ack',
  'reads',
  'rpc',
  'presence',
  'memory',
] as const;
export type Phase = (typeof PHASES)[number];

/** Which clients the fan-out and one-to-one phases use: the v7 client's protobuf, the 2.x client's text, or both. */
export const PROTOCOLS = ['protobuf', 'text', 'both'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

const FLAGS = {
  seconds: { fallback: 3, help: 'counting window of each measurement, seconds' },
  rounds: { fallback: 3, help: 'measurements per phase and server (the median is reported)' },
  warmup: { fallback: 1, help: 'load before each window, seconds' },
  publishers: { fallback: 10, help: 'fan-out publishers' },
  subscribers: { fallback: 100, help: 'fan-out subscribers' },
  pairs: { fallback: 100, help: 'one-to-one publisher/subscriber pairs (one name each)' },
  'fan-out-window': { fallback: 2, help: 'emits in flight per fan-out publisher' },
  'pair-window': { fallback: 4, help: 'emits in flight per one-to-one pair' },
  records: { fallback: 100, help: 'records, each with a writer of its own' },
  'record-subscribers': { fallback: 4, help: 'connections subscribed to every record' },
  'record-window': { fallback: 4, help: 'updates in flight per writer' },
  'read-records': { fallback: 100, help: 'records the subscribe-and-read phase reads in turn' },
  readers: { fallback: 50, help: 'subscribe-and-read loops, one connection each' },
  providers: { fallback: 10, help: 'RPC providers' },
  requestors: { fallback: 50, help: 'RPC requestors' },
  'rpc-window': { fallback: 4, help: 'requests in flight per requestor' },
  'presence-users': { fallback: 100, help: 'users online in the presence phase' },
  queriers: { fallback: 50, help: 'presence queriers' },
  'query-window': { fallback: 4, help: 'presence queries in flight per querier' },
  'query-names': { fallback: 10, help: 'users asked about per presence query' },
  payload: { fallback: 0, help: 'extra bytes of padding in every emit, update and request' },
  busy: {
    fallback: 0.3,
    help: 'cores used by other processes above which a window counts as noisy',
  },
  retries: { fallback: 0, help: 'extra attempts of a noisy window (the quietest is kept)' },
} as const;
type Flag = keyof typeof FLAGS;

function usage(): string {
  const lines = Object.entries(FLAGS).map(
    ([name, { fallback, help }]) => `  --${`${name}=${fallback}`.padEnd(24)} ${help}`,
  );
  return [
    'usage: pnpm bench:realtime [flags]',
    ...lines,
    `  --${'connections=1000,5000,10000'.padEnd(24)} idle connection counts of the memory phase`,
    `  --${`only=${PHASES.join(',')}`.padEnd(24)} phases to run`,
    `  --${'profile'.padEnd(24)} CPU-profile Hubstream's first window of each phase (perturbs it)`,
    `  --${'servers=baseline,deepstream,hubstream'.padEnd(24)} servers to compare`,
    `  --${'protocol=both'.padEnd(24)} fan-out and one-to-one with protobuf clients, 2.x text clients (Hubstream only) or both`,
  ].join('\n');
}

function parseOptions(argv: readonly string[]) {
  const values = Object.fromEntries(
    Object.entries(FLAGS).map(([name, { fallback }]) => [name, fallback]),
  ) as Record<Flag, number>;
  let connections = [1000, 5000, 10_000];
  let only: Phase[] = [...PHASES];
  let profile = false;
  let servers: ServerKind[] = [...SERVER_KINDS];
  let protocol: Protocol = 'both';
  for (const arg of argv) {
    if (arg === '--') continue;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${usage()}\n`);
      process.exit(0);
    }
    const kinds = /^--servers=(.*)$/.exec(arg);
    if (kinds) {
      servers = (kinds[1] ?? '').split(',') as ServerKind[];
      const unknown = servers.filter((kind) => !SERVER_KINDS.includes(kind));
      if (unknown.length > 0 || !servers.includes('hubstream')) {
        throw new Error(`--servers takes hubstream and some of ${SERVER_KINDS.join(', ')}`);
      }
      continue;
    }
    const chosen = /^--protocol=(.*)$/.exec(arg);
    if (chosen) {
      const name = chosen[1] ?? '';
      if (!PROTOCOLS.includes(name as Protocol)) {
        throw new Error(`--protocol takes one of ${PROTOCOLS.join(', ')}`);
      }
      protocol = name as Protocol;
      continue;
    }
    if (arg === '--profile') {
      profile = true;
      continue;
    }
    const match = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!match) throw new Error(`unknown argument ${arg}\n${usage()}`);
    const [, name = '', value = ''] = match;
    if (name === 'connections') {
      connections = value.split(',').map(Number);
      if (connections.some((n) => !Number.isInteger(n) || n <= 0)) {
        throw new Error('--connections takes positive whole numbers, comma-separated');
      }
      connections.sort((a, b) => a - b);
    } else if (name === 'only') {
      only = value.split(',') as Phase[];
      const unknown = only.filter((p) => !PHASES.includes(p));
      if (unknown.length > 0) throw new Error(`unknown phase ${unknown.join(', ')}\n${usage()}`);
    } else if (name in FLAGS) {
      const number = Number(value);
      const min = name === 'payload' || name === 'retries' ? 0 : Number.MIN_VALUE;
      if (!Number.isFinite(number) || number < min)
        throw new Error(`--${name}: bad value ${value}`);
      // Everything but durations counts something.
      const whole = name !== 'seconds' && name !== 'warmup' && name !== 'busy';
      if (whole && !Number.isInteger(number)) throw new Error(`--${name} takes a whole number`);
      values[name as Flag] = number;
    } else {
      throw new Error(`unknown flag --${name}\n${usage()}`);
    }
  }
  // Always in the same order: the rounds alternate from there.
  servers = SERVER_KINDS.filter((kind) => servers.includes(kind));
  return { ...values, connections, only: new Set(only), profile, servers, protocol };
}

export type Options = ReturnType<typeof parseOptions>;

export const options: Options = parseOptions(process.argv.slice(2));
