import { readFileSync } from 'node:fs';
import { attackWindows } from './marks.ts';

// Reads a turn-gaps.cjs recording of node A beside the bench:attacks output
// of the same run (with --trace-marks) and prints, per attack window, how
// long the event loop's busy stretches ran beyond 1 ms. A probe event that
// lands in a stretch waits out the rest of it, so M1 / 10 ms (the probe's
// interval) is about how many of the window's samples wait more than 1 ms
// for the node: two or three of ~200 decide its p99. Less noisy than the p99
// itself, and it tells GC pauses from the rest.
//
//   pnpm bench:attacks --only=huge-subscribe --deployments=cluster --trace-marks \
//     --server-node-flags='--require ./bench/attacks/turn-gaps.cjs' > run.log
//   pnpm bench:turn-gaps run.log [/tmp/turn-gaps-<pid>.json]
//
// Without the second argument the recording of node A's pid (as the run
// printed it) is read from /tmp.

type Recording = { gaps: [number, number][]; gcs: [number, number, number?][] };

/** The timer's own period: a gap's busy part is what it ran beyond this. */
const TIMER_MS = 1;
/** The window measured from each attack's start (bench:attacks' quiet window). */
const WINDOW_S = 2;

type WindowStats = {
  start: number;
  /** Sum over stretches of their length beyond 1 ms. */
  m1Ms: number;
  /** The same, over stretches with no GC pause in them. */
  m1NoGcMs: number;
  longest: number;
  over3Ms: number;
  gcCount: number;
  gcMs: number;
};

function windowStats(recording: Recording, start: number, seconds = WINDOW_S): WindowStats {
  const end = start + seconds;
  const gaps = recording.gaps.filter(([t]) => t >= start && t < end);
  const gcs = recording.gcs.filter(([t]) => t >= start && t < end);
  const hasGc = ([t, ms]: [number, number]) =>
    gcs.some(([g]) => g >= t - 0.0005 && g <= t + ms / 1000);
  const beyond = (ms: number) => Math.max(0, ms - TIMER_MS - 1);
  return {
    start,
    m1Ms: gaps.reduce((sum, [, ms]) => sum + beyond(ms), 0),
    m1NoGcMs: gaps.filter((gap) => !hasGc(gap)).reduce((sum, [, ms]) => sum + beyond(ms), 0),
    longest: Math.max(0, ...gaps.map(([, ms]) => ms - TIMER_MS)),
    over3Ms: gaps.filter(([, ms]) => ms - TIMER_MS > 3).length,
    gcCount: gcs.length,
    gcMs: gcs.reduce((sum, [, ms]) => sum + ms, 0),
  };
}

function main(): void {
  const [logFile, recordingFile] = process.argv.slice(2);
  if (!logFile) throw new Error('usage: turn-gaps.ts <bench output> [<recording json>]');
  const log = readFileSync(logFile, 'utf8');
  const pid = log.match(/node A [^(]*\(pid (\d+)/)?.[1];
  const file = recordingFile ?? `/tmp/turn-gaps-${pid}.json`;
  const recording = JSON.parse(readFileSync(file, 'utf8')) as Recording;
  const starts = attackWindows(log).map((window) => window.start);
  if (starts.length === 0)
    throw new Error(`no attack windows in ${logFile}: run with --trace-marks`);
  const f = (n: number) => n.toFixed(1);
  console.log(
    '| window (monotonic s) | M1 ms | M1 no GC ms | longest ms | over 3 ms | GC pauses |',
  );
  console.log('|---:|---:|---:|---:|---:|---|');
  for (const start of starts) {
    const s = windowStats(recording, start);
    console.log(
      `| ${s.start.toFixed(1)} | ${f(s.m1Ms)} | ${f(s.m1NoGcMs)} | ${f(s.longest)} | ${s.over3Ms} | ` +
        `${s.gcCount}, ${f(s.gcMs)} ms |`,
    );
  }
}

main();
