// Idle memory of `pnpm start` (issue 17: under 200 MB RSS idle). Not a test:
// it prints a table.
//
//   pnpm bench:idle-rss [--runs=3] [--idle=30] [--variant='label=FLAGS…'] …
//
// Each run spawns the built standalone process as `pnpm start` execs it
// (`node <nodeFlags('standalone')> apps/standalone/dist/main.js`: the flags
// package.json, the Dockerfile and compose share) on a fresh DATA_DIR, waits
// for its `listening` log line (the start time), leaves it idle for --idle
// seconds and reads its /proc/<pid>/status: VmRSS (what the target is about),
// RssAnon (heap, wasm memory, buffers), RssFile (the node binary and other
// mapped files) and VmHWM (the peak). A fastify server with one route
// (bare-server.mjs) idles beside it as the baseline.
//
// The shipped command's environment has package.json's malloc variables
// (STANDALONE_MALLOC_ENV); a second row runs it as before issue 17, with a
// realtime node's flags and no malloc variables.
// --variant adds a start command to compare with the shipped one: its words
// are node flags added after the shipped ones, or KEY=VALUE environment
// variables, e.g. --variant='liftoff=--liftoff-only MALLOC_ARENA_MAX=2', or
// entry=PATH: another build's main.js (e.g. a copy of an older dist/).
// The runs of every kind are interleaved, so a change in the machine's load
// falls on all of them alike. Other processes share the machine: give the
// load average with the figures (printed).

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../packages/testing/src/free-port.ts';
import { nodeFlags, STANDALONE_MALLOC_ENV } from '../../test/deployment-files.ts';
import { table } from '../realtime/report.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = 'apps/standalone/dist/main.js';
const BARE_SERVER = fileURLToPath(new URL('./bare-server.mjs', import.meta.url));
const START_TIMEOUT_MS = 60_000;
const TARGET_MB = 200;

type Variant = {
  label: string;
  /** Added to the shipped flags and environment. */
  flags: string[];
  env: Record<string, string>;
  entry: string;
  /** Instead of the shipped flags and environment: a realtime node's flags, no malloc variables. */
  plain?: boolean;
};
type Sample = { startMs: number; status: Record<string, number> };

function parse(argv: readonly string[]) {
  let runs = 3;
  let idle = 30;
  const variants: Variant[] = [
    { label: 'pnpm start (shipped)', flags: [], env: {}, entry: MAIN },
    // What pnpm start ran before issue 17's memory flags: a realtime node's.
    { label: 'realtime flags, no malloc env', flags: [], env: {}, entry: MAIN, plain: true },
  ];
  for (const arg of argv) {
    if (arg === '--') continue;
    const [name, value = ''] = arg.split(/=(.*)/s, 2) as [string, string?];
    if (name === '--runs' || name === '--idle') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${name} takes a whole number ≥ 1`);
      if (name === '--runs') runs = n;
      else idle = n;
    } else if (name === '--variant') {
      const [label = '', words = ''] = value.split(/=(.*)/s, 2) as [string, string?];
      if (label === '') throw new Error("--variant takes 'label=FLAGS or KEY=VALUE …'");
      const variant: Variant = { label, flags: [], env: {}, entry: MAIN };
      for (const word of words.split(/\s+/).filter(Boolean)) {
        const env = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(word);
        if (env) variant.env[env[1]!] = env[2]!;
        else if (word.startsWith('entry=')) variant.entry = word.slice('entry='.length);
        else if (word.startsWith('--')) variant.flags.push(word);
        else throw new Error(`--variant ${label}: '${word}' is neither a --flag nor KEY=VALUE`);
      }
      variants.push(variant);
    } else {
      process.stdout.write(
        "usage: pnpm bench:idle-rss [--runs=3] [--idle=30] [--variant='label=--flag KEY=VALUE'] …\n",
      );
      process.exit(arg === '--help' || arg === '-h' ? 0 : 2);
    }
  }
  return { runs, idle, variants };
}

/** /proc/<pid>/status's memory lines, in kB. */
function memoryStatus(pid: number): Record<string, number> {
  const status: Record<string, number> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const match = /^(Vm\w+|Rss\w+):\s+(\d+) kB$/.exec(line);
    if (match) status[match[1]!] = Number(match[2]);
  }
  return status;
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/** Spawns, waits until `ready` says it serves, idles, reads its memory, stops it. */
async function measure(
  argv: string[],
  env: Record<string, string>,
  ready: (line: string) => boolean,
  idleSeconds: number,
): Promise<Sample> {
  const started = performance.now();
  const child = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  try {
    const up = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`not serving within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (!ready(line)) return;
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${argv.join(' ')} exited with ${code}: ${stderr.slice(-2000)}`));
      });
    });
    await up;
    const startMs = performance.now() - started;
    await sleep(idleSeconds * 1000);
    return { startMs, status: memoryStatus(child.pid!) };
  } finally {
    await stop(child);
  }
}

async function standalone(variant: Variant, idle: number): Promise<Sample> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'hubstream-idle-rss-'));
  try {
    return await measure(
      [...nodeFlags(variant.plain ? 'realtime' : 'standalone'), ...variant.flags, variant.entry],
      {
        DATA_DIR: dataDir,
        HTTP_PORT: '0',
        REALTIME_PORT: '0',
        TLS_SELF_SIGNED: 'false',
        LOG_LEVEL: 'info',
        ...(variant.plain ? {} : STANDALONE_MALLOC_ENV),
        ...variant.env,
      },
      (line) => line.includes('"listening"'),
      idle,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function bare(idle: number): Promise<Sample> {
  const port = await freePort();
  // bare-server.mjs prints nothing: it serves once GET /ready answers.
  const started = performance.now();
  const child = spawn(process.execPath, [BARE_SERVER, String(port)], { stdio: 'ignore' });
  try {
    for (;;) {
      if (performance.now() - started > START_TIMEOUT_MS) throw new Error('bare server: no start');
      const ok = await fetch(`http://127.0.0.1:${port}/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await sleep(10);
    }
    const startMs = performance.now() - started;
    await sleep(idle * 1000);
    return { startMs, status: memoryStatus(child.pid!) };
  } finally {
    await stop(child);
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const mb = (kb: number) => (kb / 1024).toFixed(0);

async function main() {
  const { runs, idle, variants } = parse(process.argv.slice(2));
  const samples = new Map<string, Sample[]>();
  const add = (label: string, sample: Sample) =>
    samples.set(label, [...(samples.get(label) ?? []), sample]);
  const loads: string[] = [loadavg()[0]!.toFixed(2)];
  for (let run = 1; run <= runs; run++) {
    for (const variant of variants) {
      add(variant.label, await standalone(variant, idle));
      process.stderr.write(`  run ${run}: ${variant.label} done\n`);
    }
    add('bare fastify (baseline)', await bare(idle));
    loads.push(loadavg()[0]!.toFixed(2));
  }
  const commands = new Map(
    variants.map((v) => [
      v.label,
      [
        ...Object.entries(v.env).map(([k, x]) => `${k}=${x}`),
        ...v.flags,
        ...(v.entry === MAIN ? [] : [v.entry]),
      ].join(' ') || '—',
    ]),
  );
  const rows = [...samples].map(([label, list]) => {
    const rss = list.map((s) => s.status.VmRSS ?? Number.NaN);
    const field = (name: string) => mb(median(list.map((s) => s.status[name] ?? Number.NaN)));
    return [
      label,
      commands.get(label) ?? '',
      rss.map(mb).join(' / '),
      mb(median(rss)),
      field('RssAnon'),
      field('RssFile'),
      field('VmHWM'),
      median(list.map((s) => s.startMs)).toFixed(0),
    ];
  });
  process.stdout.write(
    `idle RSS ${idle} s after start, MB (median of ${runs}; target < ${TARGET_MB} MB); ` +
      `${cpus().length} cores, load average ${loads.join(' → ')}\n` +
      `shipped: ${Object.entries(STANDALONE_MALLOC_ENV)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')} node ${nodeFlags('standalone').join(' ')}\n` +
      `realtime flags: node ${nodeFlags('realtime').join(' ')}\n\n`,
  );
  process.stdout.write(
    `${table(
      ['process', 'added', 'VmRSS per run', 'VmRSS', 'RssAnon', 'RssFile', 'peak', 'start ms'],
      rows,
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
    )}\n`,
  );
}

await main();
