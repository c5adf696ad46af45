import { readFileSync } from 'node:fs';
import { type AttackWindow, attackWindows } from './marks.ts';

// What node A was running while the probe's slowest samples waited. Reads
// the probe's slow samples (bench:attacks --probe-slow=FILE: each sample
// over a threshold as "<sent, CLOCK_MONOTONIC s> <latency ms>"), a CPU
// profile of node A from the same run (V8's sample times are on
// CLOCK_MONOTONIC too) and the run's output with --trace-marks, and prints,
// for each slow sample inside an attack window, the frames node A's samples
// were in between the event's sending and its delivery: GC, a module load, a
// database query, an attack's own work, or nothing at all (the node idle:
// the wait was elsewhere). Then the frames summed over every slow sample.
//
//   pnpm bench:attacks --only=huge-subscribe --deployments=cluster --trace-marks \
//     --probe-slow=/tmp/slow.txt \
//     --server-node-flags='--cpu-prof --cpu-prof-dir=/tmp/prof --cpu-prof-interval=100' > run.log
//   pnpm bench:probe-waits run.log /tmp/slow.txt /tmp/prof/CPU.*.cpuprofile [--over=1.3]
//
// Or, without a profile, the samples sent during the attacks (run with
// --probe-slow-over=0): pnpm bench:probe-waits run.log /tmp/slow.txt --attack-samples
//
// The profile's own cost slows node A (at 100 us a sample, about a tenth):
// the frames are what to look at, not the latencies.

type ProfileNode = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
};
type Profile = { nodes: ProfileNode[]; startTime: number; samples: number[]; timeDeltas: number[] };

/** The window measured from each attack's start (bench:attacks' quiet window). */
const WINDOW_S = 2;

function parseArgs(argv: readonly string[]) {
  let over = 1.3;
  let attackSamples = false;
  const files: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('--over=')) over = Number(arg.slice('--over='.length));
    else if (arg === '--attack-samples') attackSamples = true;
    else files.push(arg);
  }
  const [logFile, slowFile, profileFile] = files;
  if (!logFile || !slowFile || (!profileFile && !attackSamples) || !Number.isFinite(over)) {
    throw new Error(
      'usage: probe-waits.ts <bench output> <--probe-slow file> <node A .cpuprofile> [--over=ms]\n' +
        '       probe-waits.ts <bench output> <--probe-slow file> --attack-samples',
    );
  }
  return { logFile, slowFile, profileFile, over, attackSamples };
}

/** The --probe-slow file: [sent, CLOCK_MONOTONIC s; latency ms] per sample. */
function readSamples(slowFile: string): [number, number][] {
  return readFileSync(slowFile, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ').map(Number) as [number, number]);
}

/**
 * --attack-samples: the probe's samples (with --probe-slow-over=0, every
 * one) sent while an attack ran or in the 0.1 s after (what it left to the
 * node), as quantiles and counts over 0.6, 1 and 2 ms. A window's p99 mixes them with ~85% quiet samples; these alone
 * tell two builds or settings apart in fewer runs (bench:attacks --bursts=6).
 */
function printAttackSamples(windows: readonly AttackWindow[], slowFile: string): void {
  const latencies = readSamples(slowFile)
    .filter(([sentAt]) => windows.some((w) => sentAt >= w.start && sentAt <= w.end + 0.1))
    .map(([, ms]) => ms)
    .sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]?.toFixed(2);
  const over = (ms: number) => latencies.filter((v) => v > ms).length;
  console.log(
    `${latencies.length} samples sent during ${windows.length} attack windows: ` +
      `p50 ${at(0.5)}, p90 ${at(0.9)}, p95 ${at(0.95)}, max ${latencies.at(-1)?.toFixed(1)} ms; ` +
      `over 0.6 ms ${over(0.6)}, over 1 ms ${over(1)}, over 2 ms ${over(2)}`,
  );
}

function main(): void {
  const { logFile, slowFile, profileFile, over, attackSamples } = parseArgs(process.argv.slice(2));
  const windows = attackWindows(readFileSync(logFile, 'utf8'));
  if (windows.length === 0)
    throw new Error(`no attack windows in ${logFile}: run with --trace-marks`);
  if (attackSamples || !profileFile) {
    printAttackSamples(windows, slowFile);
    return;
  }
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const frame = (id: number) => {
    const f = byId.get(id)!.callFrame;
    const file = f.url.split('/').slice(-1)[0];
    return file ? `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber}` : f.functionName;
  };
  /** The three outermost JS frames under the root: what kind of callback it was. */
  const entry = (id: number) => {
    const chain: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      chain.push(byId.get(at)!.callFrame.functionName || '(anonymous)');
    }
    return chain.reverse().slice(1, 4).join(' > ');
  };
  let t = profile.startTime;
  const samples = profile.samples.map((id, i) => {
    t += profile.timeDeltas[i]!;
    return { at: t / 1e6, id };
  });
  const slow = readSamples(slowFile);

  const total = new Map<string, number>();
  const top = (counts: Map<string, number>, n: number) =>
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, c]) => `${k} x${c}`)
      .join(' | ');
  let row = '';
  for (const [sentAt, latencyMs] of slow) {
    if (latencyMs < over) continue;
    const window = windows.find((w) => sentAt >= w.start && sentAt < w.start + WINDOW_S);
    if (!window) continue;
    if (window.row !== row) {
      row = window.row;
      console.log(`\n## ${row}`);
    }
    const during = samples.filter((s) => s.at >= sentAt && s.at <= sentAt + latencyMs / 1000);
    const frames = new Map<string, number>();
    const entries = new Map<string, number>();
    for (const { id } of during) {
      const f = frame(id);
      frames.set(f, (frames.get(f) ?? 0) + 1);
      total.set(f, (total.get(f) ?? 0) + 1);
      const e = entry(id);
      entries.set(e, (entries.get(e) ?? 0) + 1);
    }
    console.log(
      `+${(sentAt - window.start).toFixed(3)} s: ${latencyMs.toFixed(2)} ms, ${during.length} samples` +
        (during.length
          ? `: ${top(frames, 5)}\n    in: ${top(entries, 3)}`
          : ' (node A not sampled)'),
    );
  }
  console.log('\n## frames over all slow samples in attack windows (samples)');
  for (const [f, c] of [...total].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`${String(c).padStart(6)} ${f}`);
  }
}

main();
