// pnpm bench:attacks' command line (run.ts): which attacks and deployments,
// and how the measured server and the probe are scheduled.

export const DEPLOYMENTS = ['standalone', 'cluster'] as const;
export type DeploymentName = (typeof DEPLOYMENTS)[number];

/**
 * The measured server's default priority (nice, see setMeasuredNice): above
 * whatever else runs on the machine, as the probe is (probe.ts).
 */
export const SERVER_NICE = -20;

/** The probe's default interval in ms: one event emitted and received each (run.ts, SAMPLING). */
export const PROBE_EVERY_MS = 2;

/** `controls`: rows --only= accepts that a default run leaves out (attacks-control.ts). */
export function parseOptions(
  argv: readonly string[],
  attacks: readonly string[],
  controls: readonly string[] = [],
) {
  let short = false;
  let only = [...attacks];
  let deployments: DeploymentName[] = [...DEPLOYMENTS];
  let floorMs = 0;
  let p99Mode: 'gate' | 'report' = 'gate';
  let pin = true;
  let serverNodeFlags: string[] = [];
  let serverNice = SERVER_NICE;
  let traceMarks = false;
  let realtime = true;
  let serverLog: string | null = null;
  let probeSlow: string | null = null;
  let probeSlowOverMs = 0.9;
  let rehearse: boolean | undefined;
  let helpersOff = true;
  let bursts: number | undefined;
  let probeEveryMs = PROBE_EVERY_MS;
  const usage = [
    'usage: pnpm bench:attacks [flags]',
    '  --short                      CI-sized volumes and windows (about a minute)',
    `  --only=${attacks.join(',')}`,
    '                               attacks to run, in this order',
    `                               (also the control rows ${controls.join(', ')}: nothing sent)`,
    '  --deployments=standalone,cluster',
    '  --p99-floor-ms=0             p99 target is max(2x quiet, quiet + this); 0 = plain 2x',
    '  --pin=on|off                 on (default): the measured server on CPU 0, the rest on CPU 1',
    '  --helper-threads=bench-cpu|server-cpu',
    "                               bench-cpu (default, with --pin=on): node A's threads but its event loop,",
    '                               and its child processes, on CPU 1; server-cpu: all on CPU 0 with it',
    '  --rehearse=on|off            on (default; off with --short): each attack first runs once at CI size,',
    "                               unmeasured, so the node's code for it is compiled before the quiet windows",
    '  --bursts=3                   3 (default; 1 with --short): an attack over in less than this many quiet',
    '                               windows is measured this many times, each with a set-up of its own; its p99 is the',
    "                               median of the windows' p99s, as the quiet reference is the median of 5",
    `  --probe-every-ms=${PROBE_EVERY_MS}           the probe's interval: one event emitted and received every this many ms`,
    '                               (run.ts, SAMPLING; 2 since 2026-12-07, 10 before)',
    '  --realtime=on|off            on (default, when permitted): the probe runs under SCHED_RR (chrt)',
    `  --server-nice=${SERVER_NICE}            the measured server's nice (when permitted; 0 = the bench's own)`,
    "  --server-node-flags='--cpu-prof --cpu-prof-dir=/tmp/prof'",
    '                               node flags for the measured server only (profile one attack with --only=)',
    "  --server-log=FILE            a copy of the measured server's stdout and stderr (with --trace-gc, say)",
    '  --trace-marks                print each attack window on CLOCK_MONOTONIC (to line up a perf trace)',
    "  --probe-slow=FILE            append the probe's samples over --probe-slow-over to FILE, sent time on CLOCK_MONOTONIC",
    '                               (pnpm bench:probe-waits lines them up with a CPU profile of node A)',
    '  --probe-slow-over=0.9        ms; 0 writes every sample (pnpm bench:probe-waits --attack-samples reads them all)',
    '  --p99=gate|report            gate (default): a missed p99 target fails the run;',
    '                               report: printed with pass/FAIL but not counted in the exit',
    '                               code (CI: timing on a shared machine is measured, not asserted)',
  ].join('\n');
  for (const arg of argv) {
    if (arg === '--') continue;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    }
    if (arg === '--short') {
      short = true;
      continue;
    }
    if (arg === '--trace-marks') {
      traceMarks = true;
      continue;
    }
    const match = /^--([a-z0-9-]+)=(.*)$/.exec(arg);
    const [, name = '', value = ''] = match ?? [];
    if (name === 'only') {
      only = value.split(',');
      const unknown = only.filter((a) => !attacks.includes(a) && !controls.includes(a));
      if (unknown.length) throw new Error(`unknown attack ${unknown.join(', ')}\n${usage}`);
    } else if (name === 'deployments') {
      deployments = value.split(',') as DeploymentName[];
      if (deployments.some((d) => !DEPLOYMENTS.includes(d)))
        throw new Error(`--deployments takes ${DEPLOYMENTS.join(', ')}`);
    } else if (name === 'server-node-flags') {
      serverNodeFlags = value.split(/\s+/).filter(Boolean);
    } else if (name === 'realtime') {
      if (value !== 'on' && value !== 'off') throw new Error('--realtime takes on or off');
      realtime = value === 'on';
    } else if (name === 'server-log') {
      serverLog = value;
    } else if (name === 'probe-slow') {
      probeSlow = value;
    } else if (name === 'probe-slow-over') {
      probeSlowOverMs = Number(value);
      if (!Number.isFinite(probeSlowOverMs) || probeSlowOverMs < 0)
        throw new Error('--probe-slow-over takes a number of ms, 0 or more');
    } else if (name === 'server-nice') {
      serverNice = Number(value);
      if (!Number.isInteger(serverNice) || serverNice < -20 || serverNice > 19)
        throw new Error('--server-nice takes an integer from -20 to 19');
    } else if (name === 'helper-threads') {
      if (value !== 'bench-cpu' && value !== 'server-cpu')
        throw new Error('--helper-threads takes bench-cpu or server-cpu');
      helpersOff = value === 'bench-cpu';
    } else if (name === 'rehearse') {
      if (value !== 'on' && value !== 'off') throw new Error('--rehearse takes on or off');
      rehearse = value === 'on';
    } else if (name === 'bursts') {
      bursts = Number(value);
      if (!Number.isInteger(bursts) || bursts < 1)
        throw new Error('--bursts takes a positive integer');
    } else if (name === 'probe-every-ms') {
      probeEveryMs = Number(value);
      if (!Number.isInteger(probeEveryMs) || probeEveryMs < 1)
        throw new Error('--probe-every-ms takes a positive integer');
    } else if (name === 'pin') {
      if (value !== 'on' && value !== 'off') throw new Error('--pin takes on or off');
      pin = value === 'on';
    } else if (name === 'p99') {
      if (value !== 'gate' && value !== 'report') throw new Error('--p99 takes gate or report');
      p99Mode = value;
    } else if (name === 'p99-floor-ms') {
      floorMs = Number(value);
      if (!Number.isFinite(floorMs) || floorMs < 0) throw new Error('--p99-floor-ms: bad value');
    } else {
      throw new Error(`unknown argument ${arg}\n${usage}`);
    }
  }
  return {
    short,
    only,
    deployments,
    floorMs,
    p99Mode,
    pin,
    serverNodeFlags,
    serverNice,
    traceMarks,
    serverLog,
    probeSlow,
    probeSlowOverMs,
    realtime,
    rehearse: rehearse ?? !short,
    helpersOff,
    bursts: bursts ?? (short ? 1 : 3),
    probeEveryMs,
  };
}
