// The attack suite of issue 12: each way a hostile tenant's end user can
// hurt a shared realtime node, tried against a real `pnpm start` process and
// against the separate roles (a control plane and two realtime nodes over
// Redis), while a well-behaved client of another app on the attacked node
// measures its latency. Not a test: it prints a table, and exits non-zero
// when a target is missed.
//
//   pnpm bench:attacks [--short] [--only=slow-reader,...] [--deployments=standalone,cluster]
//                      [--p99=gate|report] [--pin=on|off] [--realtime=on|off] [--server-nice=-20]
//                      [--server-node-flags='--cpu-prof ...'] [--server-log=FILE] [--trace-marks]
//   pnpm bench:attacks --help
//
// CI runs `--short --p99=report`: the p99 is printed, not gated (timing on a
// shared machine is measured by benchmarks, never asserted). The server under
// measurement runs on CPU 0 (taskset), everything the bench starts on CPU 1.
// Pinning cannot keep the rest of the machine (other users' tests and
// builds) off CPU 0, and the fair scheduler let it delay node A's wake-ups
// by 5 to 25 ms at nice -10 (perf sched traces: with autogroups a nice only
// counts within its session). Where permitted node A runs at nice -20 in a
// scheduling group of its own (--server-nice), and the probe under SCHED_RR
// (--realtime), so that the p99 measures the node, not the machine. A
// column shows node A's own CPU use and its wait for the CPU. Node A's other
// threads and child processes are moved to CPU 1 before each quiet window
// (--helper-threads), its event loop alone on CPU 0, as on a machine with
// more than one core; each attack is rehearsed once, unmeasured, so the
// node's code for it is compiled (--rehearse); the servers run with the
// start scripts' own flags and environment.
//
// Targets per row: the attacked process's resident memory grows by less
// than 150 MB (peak during the attack against just before); the
// well-behaved client's p99 stays within 2x its quiet p99 (measured just
// before the attack, nothing lost); no login gets another user's id; refused
// input changes nothing; and the defence issue 12 asks for is seen (the
// outcome column says what the server did).

import { appendFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { table } from '../realtime/report.ts';
import { Developer, HIGH_LIMITS, OPEN_RULES } from './api.ts';
import type { Attack, AttackContext, AttackResult, Prepared } from './attack.ts';
import { openImpersonation, passwordGuessing, webhookDrip } from './attacks-auth.ts';
import { idleBurst, idleLong } from './attacks-control.ts';
import { malformedControlPlane, SHORT_HEADERS_TIMEOUT_MS, slowloris } from './attacks-http.ts';
import { listenPatterns } from './attacks-listen.ts';
import { hugeSubscribe, loginPendingFlood, neverLogIn, slowReader } from './attacks-node.ts';
import { type Deployment, startCluster, startStandalone } from './deployments.ts';
import { type DeploymentName, parseOptions } from './options.ts';
import { combineWindows, mayPrioritize, median, Probe } from './probe.ts';
import type { ProbeResult } from './probe-process.ts';
import {
  BENCH_CPU,
  buildIfChanged,
  cpusOf,
  killEverything,
  mayUseRealtime,
  moveHelpersOff,
  SERVER_CPU,
  sampleRss,
  setHelpersOff,
  setMeasuredLog,
  setMeasuredNice,
  setMeasuredNodeFlags,
  setUpPinning,
  threadsBetween,
} from './processes.ts';
import { RawClient, terminateAll } from './raw.ts';
import {
  mark,
  ms,
  NO_PROBE,
  P99_FACTOR,
  percent,
  quietP99,
  type Row,
  toMb,
  verdicts,
} from './rows.ts';
import { WebhookServer } from './webhook-server.ts';

const ATTACKS: Record<string, Attack> = {
  'slow-reader': slowReader,
  'login-pending': loginPendingFlood,
  'huge-subscribe': hugeSubscribe,
  'never-login': neverLogIn,
  'password-guessing': passwordGuessing,
  impersonation: openImpersonation,
  'webhook-drip': webhookDrip,
  'listen-patterns': listenPatterns,
  slowloris,
  'malformed-control-plane': malformedControlPlane,
};

/** Control rows (attacks-control.ts): run with --only=, never by default. */
const CONTROLS: Record<string, Attack> = { idle: idleLong, 'idle-burst': idleBurst };

const options = parseOptions(process.argv.slice(2), Object.keys(ATTACKS), Object.keys(CONTROLS));

/**
 * The quiet reference before each attack: the median p99 of several windows,
 * measured right before the attack (see Probe.quietReference). One 3 s window
 * (300 samples, so its p99 was its third-worst) gave 2 to 50 ms on this
 * shared machine from one run to the next.
 */
const QUIET = options.short ? { ms: 1_000, windows: 3 } : { ms: 2_000, windows: 5 };

// ATTACK_WINDOW: the probe measures an attack for at least one quiet
// window's length (QUIET.ms) from its start, also when the attack itself is
// over sooner (what a burst left to the node is still handled meanwhile).
// Bursts of 0.3-0.7 s (huge SUBSCRIBEs, listen patterns) gave 30-70
// samples, whose p99 is their single worst: one stall of the machine
// decided the row, where each quiet p99 is the second worst of 200 (and the
// reference their median). Both sides are now p99s of as many samples; the
// attack's own duration is printed beside it.
//
// BURSTS: the quiet reference is the median of 5 windows' p99s, but a burst
// (an attack over within one window) was one window: a single window's p99
// is its second-worst sample, and on this machine quiet windows alone ranged
// from 1.3 to 15.9 ms within one run (2026-12-07), so one stall of the
// machine in the attack's only window failed the row where the same stall in
// a quiet window was outvoted. A burst is now measured --bursts times (3 in
// a full run), each time with a set-up of its own, and its p99 is the median
// of the windows' p99s: the same estimator on both sides. Each window's p99
// is printed; every other target must hold in every window. Attacks that
// last longer (slow reader, never log in, slowloris: 15-20 s) are one window
// of 1,500-2,000 samples (7,500-10,000 at today's 2 ms, SAMPLING), whose p99
// is their 15th-20th (75th-100th) worst.
//
// SHORT ATTACKS: "a burst" is any attack over in less than --bursts quiet
// windows (6 s in a full run), not only within one. A webhook drip over in
// 2.1 s, or malformed control-plane input over in 3.0 s, was one window of
// 210-300 samples whose p99 is its 2nd-3rd worst sample: the full run of
// 2026-12-07 failed both (1.7 -> 4.8 ms, 1.4 -> 3.3 ms) against quiet
// windows that ranged 1.1-2.3 and 1.1-6.9 ms in the same minute. Measured
// --bursts times, they are estimated as the quiet reference is.
//
// SAMPLING: the probe sends one event every 2 ms (PROBE_EVERY_MS; 10 ms
// until 2026-12-07, which the notes above were written at: a 2 s window
// was 200 samples, and its p99 the second worst). At 10 ms, on a calm
// machine (quiet p99s of 0.3-0.5 ms), a single stall of the host decided a
// window: quiet windows of one row ranged 0.2-10.0 ms, and a control row
// that sends nothing (idle-burst) read 1.3 -> 2.5 ms, a hair under the 2x
// target with the machine alone. At 2 ms a window is 1,000 samples and its
// p99 their tenth worst; the same rows in the same hour: quiet windows
// 0.2-0.9 ms, four idle-burst rows 0.4-0.6 -> 0.3, and the password
// guessing row 0.5 -> 0.8 and 0.9 in both of two (at 10 ms: 0.7 -> 0.6 and
// 0.4 -> 0.7, inside the noise). The attack's share of a window's samples
// is what it was (an attack of 0.3 s is 15% of a 2 s window at either
// interval), so an attack that delays the node is seen as before, now
// without the host's single stalls deciding. The cost: node A's event loop
// handles 500 events in and out a second for the probe, 3% busy in an idle
// window instead of 1%.
//
// LONG ATTACKS: an attack still running after --bursts quiet windows (slow
// reader, never log in, slowloris: 15-20 s) is one window, and its p99 is
// that of all its samples (its 15th-20th worst). The median of 2 s windows'
// p99s is a different estimator, and a lower one wherever the machine's
// stalls come in bunches: bare ws (an echo server on CPU 0 at nice -20, a
// client on CPU 1 under SCHED_RR, one round trip every 10 ms, nothing else
// running) on 2026-12-07 had a p99 of 7.2 ms over 20 s while the median of
// its ten 2 s windows' p99s was 3.4 ms (they ranged 1.8-9.3), a spinning
// loop lost 2-4% of each CPU in gaps of 1-14 ms even under SCHED_FIFO (the
// host's), and the full run of that evening failed never log in (2.9 ->
// 7.0 ms, quiet windows 1.0-9.1) with node A's loop 7% busy. Such a window
// is held to the p99 of the quiet windows' samples pooled (1,000 in a full
// run; 5,000 at today's 2 ms): the same estimator over a comparable
// stretch. Both are printed.

const progress = (line: string) => process.stderr.write(`${line}\n`);
const say = (line: string) => process.stdout.write(`${line}\n`);

/** One handshake per app on every node, so that each has loaded the app (then closed). */
async function warmApps(deployment: Deployment, apps: readonly string[]): Promise<void> {
  const nodes = [...new Set([deployment.nodeA, deployment.nodeB])];
  await Promise.all(
    apps.flatMap((app) =>
      nodes.map(async (node) => {
        const { client } = await RawClient.challenged(`${node}/${app}`);
        client.terminate();
      }),
    ),
  );
}

/**
 * With --trace-marks: the attack window on
 * CLOCK_MONOTONIC (seconds), to line it up with a trace of the machine
 * (`perf sched record -k CLOCK_MONOTONIC -C 0`).
 */
function traceMark(context: AttackContext, what: string): void {
  if (!options.traceMarks) return;
  if (options.serverLog) appendFileSync(options.serverLog, `### ${what}\n`);
  context.progress(`${what} at monotonic ${(Number(process.hrtime.bigint()) / 1e9).toFixed(6)} s`);
}

/**
 * The rehearsal (--rehearse, on by default in a full run): the attack once at
 * CI size against apps of its own, unmeasured, before its quiet windows. A
 * node that has been up a while has compiled the code the attack runs
 * (logins, handshakes, subscribes, refusals: V8 compiles a function once it
 * has run often enough, on node A's one CPU, and the first run of each path
 * was 10-20 ms stalls); the measured run then shows what the attack costs a
 * warm node, which the attacker can cause again, rather than what a process
 * pays once. Everything it opened is closed before the quiet windows.
 */
async function rehearse(attack: Attack, context: AttackContext): Promise<void> {
  const appsBefore = context.developer.apps.length;
  const quiet = { ...context, short: true, progress: () => {} };
  try {
    const prepared = await attack.prepare(quiet);
    try {
      await warmApps(context.deployment, context.developer.apps.slice(appsBefore));
      const result = await prepared.run();
      if ('error' in result) context.progress(`rehearsal: ${String(result.error)}`);
    } finally {
      await prepared.cleanup();
      terminateAll();
    }
  } catch (error) {
    context.progress(`rehearsal failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  await new Promise((resolve) => setTimeout(resolve, 1_000));
}

/** One measured window: the attack's run, with the probe measuring from its start. */
type Window = { result: Row['result']; during: ProbeResult; attackMs: number; cpu: Row['cpu'] };

async function measureWindow(
  prepared: Prepared,
  context: AttackContext,
  probe: Probe,
  quietMs: number,
): Promise<Window> {
  const { deployment } = context;
  const cpuBefore = await deployment.node.cpu();
  await probe.start();
  const attackStart = performance.now();
  traceMark(context, `attack start (probe pid ${probe.pid})`);
  const linesBefore = deployment.node.linesLogged;
  let result: Row['result'];
  try {
    result = await prepared.run();
  } catch (error) {
    result = { error: error instanceof Error ? error.message : String(error) };
  }
  const attackMs = performance.now() - attackStart;
  traceMark(
    context,
    `attack end (node A logged ${deployment.node.linesLogged - linesBefore} lines)`,
  );
  // The attack's window is at least as long as one quiet window, so that
  // its p99 is over as many samples as each quiet p99 (ATTACK_WINDOW).
  if (attackMs < quietMs) await new Promise((resolve) => setTimeout(resolve, quietMs - attackMs));
  const during = await probe.stop();
  const cpuAfter = await deployment.node.cpu();
  if (prepared.verify && !('error' in result))
    result = withVerified(result, await prepared.verify());
  const cpu =
    cpuBefore && cpuAfter
      ? {
          windowMs: cpuAfter.at - cpuBefore.at,
          mainMs: cpuAfter.mainMs - cpuBefore.mainMs,
          processMs: cpuAfter.processMs - cpuBefore.processMs,
          waitMs: cpuAfter.mainWaitMs - cpuBefore.mainWaitMs,
          threads: threadsBetween(cpuBefore, cpuAfter),
        }
      : null;
  return { result, during, attackMs, cpu };
}

/** The attack's result with the changes its refused input made (Prepared.verify) counted in. */
function withVerified(result: AttackResult, changes: readonly string[]): AttackResult {
  return {
    ...result,
    outcome: changes.length ? `${result.outcome}; changed: ${changes.join(', ')}` : result.outcome,
    defended: result.defended && changes.length === 0,
    stateChanges: (result.stateChanges ?? 0) + changes.length,
  };
}

/**
 * The windows of one attack as one row: the p99 is the median of theirs (as
 * the quiet reference is the median of its windows'), every target must hold
 * in every window, and the outcome shown is the first window's, or the first
 * that was not defended.
 */
function combineAttackWindows(
  windows: readonly Window[],
): Pick<Row, 'result' | 'during' | 'attackMs' | 'cpu'> {
  const first = windows[0]!;
  const failed = windows.find((w) => 'error' in w.result);
  const results = windows.map((w) => w.result as AttackResult);
  const sumOf = (pick: (r: AttackResult) => number | undefined) =>
    results.some((r) => pick(r) === undefined)
      ? undefined
      : results.reduce((n, r) => n + pick(r)!, 0);
  const shown = results.find((r) => !r.defended) ?? results[0]!;
  const impersonations = sumOf((r) => r.impersonations);
  const stateChanges = sumOf((r) => r.stateChanges);
  const result: Row['result'] = failed
    ? failed.result
    : {
        volume: windows.length > 1 ? `${shown.volume}, ${windows.length} times` : shown.volume,
        outcome: shown.outcome,
        defended: results.every((r) => r.defended),
        ...(impersonations === undefined ? {} : { impersonations }),
        ...(stateChanges === undefined ? {} : { stateChanges }),
      };
  const cpus = windows.map((w) => w.cpu);
  const cpu = cpus.every((c) => c !== null)
    ? {
        windowMs: cpus.reduce((n, c) => n + c.windowMs, 0),
        mainMs: cpus.reduce((n, c) => n + c.mainMs, 0),
        processMs: cpus.reduce((n, c) => n + c.processMs, 0),
        waitMs: cpus.reduce((n, c) => n + c.waitMs, 0),
        threads: first.cpu!.threads,
      }
    : null;
  return {
    result,
    during: combineWindows(windows.map((w) => w.during)),
    attackMs: median(windows.map((w) => w.attackMs)),
    cpu,
  };
}

async function runOne(
  attack: Attack,
  context: AttackContext,
  probe: Probe,
  quiet: { ms: number; windows: number },
): Promise<Row> {
  const { deployment } = context;
  const process_ = attack.target === 'node' ? deployment.node : deployment.controlPlane;
  if (options.rehearse) await rehearse(attack, context);
  // The nodes load the attack's apps before the quiet window: the first load
  // of an app (a database read and a rules compile; under pnpm start a
  // synchronous query of the in-process database) happens to any new app and
  // is not part of the attack.
  const prepare = async () => {
    const appsBefore = context.developer.apps.length;
    const prepared = await attack.prepare(context);
    await warmApps(deployment, context.developer.apps.slice(appsBefore));
    return prepared;
  };
  let prepared = await prepare();
  await moveHelpersOff(deployment.node.serverPid);
  const servers = [...new Set([deployment.node, deployment.controlPlane, ...deployment.others])];
  const logMarks = servers.map((s) => s.logs.length);
  try {
    const quietResult = await probe.quietReference(quiet.ms, quiet.windows);
    const before = await process_.rss();
    const sampler = sampleRss(() => process_.rss());
    const windows = [await measureWindow(prepared, context, probe, quiet.ms)];
    // A burst (over before --bursts quiet windows are) is measured --bursts
    // times (BURSTS, SHORT ATTACKS), each time against apps and clients of its own.
    while (
      windows.length < options.bursts &&
      windows[0]!.attackMs < quiet.ms * options.bursts &&
      !('error' in windows[0]!.result) &&
      !process_.exited
    ) {
      await prepared.cleanup();
      terminateAll();
      // What closing the last window's clients left to the node is done before the next.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      prepared = await prepare();
      windows.push(await measureWindow(prepared, context, probe, quiet.ms));
    }
    const peak = await sampler.stop();
    const after = await process_.rss();
    const measured = combineAttackWindows(windows);
    // One window longer than the quiet reference's windows (LONG ATTACKS).
    const reference =
      windows.length === 1 && windows[0]!.attackMs >= 2 * quiet.ms ? 'pooled' : 'windows';
    if (process_.exited) measured.result = { error: `${process_.label} exited during the attack` };
    servers.forEach((server, i) => {
      const problems = server.problemsSince(logMarks[i]!);
      if (problems.length > 0)
        context.progress(`${server.label} logged: ${problems.slice(0, 4).join('; ')}`);
    });
    return {
      deployment: deployment.name,
      attack: attack.name,
      rss: { before, peak, after },
      quiet: quietResult,
      ...measured,
      reference,
    };
  } finally {
    await prepared.cleanup();
    terminateAll();
  }
}

/** Whether the probe runs under SCHED_RR (--realtime, when permitted). */
let realtime = false;

async function runDeployment(name: DeploymentName, webhook: WebhookServer): Promise<Row[]> {
  // The short run cannot wait out the 10 s default header timeout: it sets a shorter one.
  const env: Record<string, string> = options.short
    ? {
        HTTP_HEADERS_TIMEOUT_MS: String(SHORT_HEADERS_TIMEOUT_MS),
        HTTP_REQUEST_TIMEOUT_MS: String(2 * SHORT_HEADERS_TIMEOUT_MS),
      }
    : {};
  progress(`\n## ${name}: starting …`);
  const started = performance.now();
  const deployment: Deployment =
    name === 'standalone' ? await startStandalone(env) : await startCluster(env);
  progress(
    `  up in ${((performance.now() - started) / 1000).toFixed(1)} s: control plane ${deployment.api}, ` +
      `node A ${deployment.nodeA} (pid ${deployment.node.serverPid}, CPUs ${await cpusOf(deployment.node.serverPid)})` +
      (deployment.nodeB === deployment.nodeA ? '' : `, node B ${deployment.nodeB}`) +
      `; the bench on CPUs ${await cpusOf(process.pid)}`,
  );
  const rows: Row[] = [];
  let probe: Probe | undefined;
  try {
    const developer = await Developer.signUp(deployment.api);
    const probeApp = await developer.createApp('well-behaved', {
      rules: OPEN_RULES,
      limits: HIGH_LIMITS,
    });
    probe = await Probe.start(`${deployment.nodeA}/${probeApp}`, options.probeEveryMs, {
      realtime,
      nice: Math.min(-10, options.serverNice),
      slowFile: options.probeSlow,
      slowOverMs: options.probeSlowOverMs,
    });
    await probe.quiet(options.short ? 300 : 2_000); // warm-up
    const context: AttackContext = {
      deployment,
      developer,
      webhook,
      short: options.short,
      progress: (line) => progress(`    ${line}`),
    };
    for (const key of options.only) {
      const attack = (ATTACKS[key] ?? CONTROLS[key])!;
      const t0 = performance.now();
      progress(`  ${attack.name} …`);
      const row = await runOne(attack, context, probe, QUIET).catch(
        (error: unknown): Row => ({
          deployment: deployment.name,
          attack: attack.name,
          result: {
            error: `set-up failed: ${error instanceof Error ? error.message : String(error)}`,
          },
          rss: { before: Number.NaN, peak: Number.NaN, after: Number.NaN },
          cpu: null,
          quiet: NO_PROBE,
          during: NO_PROBE,
          attackMs: 0,
          reference: 'windows',
        }),
      );
      rows.push(row);
      const v = verdicts(row, options);
      const text = 'error' in row.result ? `ERROR ${row.result.error}` : row.result.outcome;
      progress(
        `    ${text}\n    RSS +${toMb(row.rss.peak - row.rss.before)} MB, p99 ${ms(quietP99(row))} -> ` +
          `${ms(row.during.p99Ms)} ms (quiet windows ${row.quiet.windowP99Ms.map(ms).join(' ')}` +
          `, pooled ${ms(row.quiet.pooledP99Ms)}` +
          (row.reference === 'pooled' ? ': one long attack window, held to the pooled p99' : '') +
          (row.during.windowP99Ms.length > 1
            ? `; attack windows ${row.during.windowP99Ms.map(ms).join(' ')}`
            : '') +
          `); event loop busy ${row.cpu ? percent(row.cpu.mainMs, row.cpu.windowMs) : '—'}, ` +
          `waiting for CPU ${row.cpu ? percent(row.cpu.waitMs, row.cpu.windowMs) : '—'}; ` +
          `attack ${(row.attackMs / 1000).toFixed(1)} s, probe window ${row.cpu ? (row.cpu.windowMs / 1000).toFixed(1) : '—'} s, ${row.during.sent} samples; ` +
          `${v.ok ? 'pass' : 'FAIL'} (${((performance.now() - t0) / 1000).toFixed(1)} s)` +
          (row.cpu?.threads ? `\n    node A's other threads: ${row.cpu.threads}` : ''),
      );
      if (deployment.node.exited || deployment.controlPlane.exited) {
        progress('  a server exited: the remaining attacks are skipped');
        break;
      }
    }
  } finally {
    await probe?.close();
    await deployment.stop();
  }
  return rows;
}

async function main(): Promise<number> {
  const t0 = performance.now();
  say('# Hubstream attack suite (issue 12)');
  say(
    `node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()
      .map((n) => n.toFixed(1))
      .join(' ')}; ${options.short ? 'short (CI) run' : 'full run'}`,
  );
  progress('building what changed (as pnpm start does) …');
  await buildIfChanged();
  const pinning = await setUpPinning(options.pin);
  setHelpersOff(options.helpersOff);
  setMeasuredNodeFlags(options.serverNodeFlags);
  setMeasuredLog(options.serverLog);
  const serverNice = options.serverNice !== 0 && mayPrioritize() ? options.serverNice : 0;
  setMeasuredNice(serverNice);
  realtime = options.realtime && (await mayUseRealtime());
  say(
    pinning.enabled
      ? `CPU pinning (taskset): the server under measurement (standalone; cluster: node A) on CPU ${SERVER_CPU}; ` +
          `the bench, its attackers, the probe, the webhook server, the control plane and node B on CPU ${BENCH_CPU}; ` +
          'Postgres and Redis unpinned; ' +
          (options.helpersOff
            ? "node A's other threads (V8's compiler workers, libuv's pool) and child processes moved to " +
              `CPU ${BENCH_CPU} before each quiet window, its event loop alone on CPU ${SERVER_CPU} (--helper-threads)`
            : `node A's other threads on CPU ${SERVER_CPU} with its event loop (--helper-threads=server-cpu)`)
      : `CPU pinning skipped: ${pinning.reason}`,
  );
  say(
    serverNice !== 0
      ? `The server under measurement runs at nice ${serverNice} (every thread) and in a scheduling group of its own: the rest of the machine rarely delays it.`
      : 'The server under measurement runs at the priority of everything else on the machine.',
  );
  say(
    realtime
      ? "The probe (the other app's well-behaved client, a user on a machine of its own) runs under the " +
          'real-time round-robin policy (SCHED_RR 1, chrt): the attackers and the rest of the machine do not delay it.'
      : mayPrioritize()
        ? "The probe (the other app's well-behaved client) runs at nice -10, above the attackers it shares a CPU with."
        : "The probe runs at the attackers' priority (not permitted to raise it): attackers' client-side work may show in its p99.",
  );
  const webhook = await WebhookServer.start();
  const rows: Row[] = [];
  try {
    for (const name of options.deployments) rows.push(...(await runDeployment(name, webhook)));
  } finally {
    await webhook.close();
  }

  say('');
  say(
    table(
      [
        'Deployment',
        'Attack',
        'Volume sent',
        'RSS MB before / peak / after',
        'Outcome',
        'Other app p99 ms quiet / attack',
        'Node A CPU: event loop (all threads) / waiting',
        'RSS +<150 MB',
        `p99 ≤ ${P99_FACTOR}x`,
        'Impersonations',
        'State changes',
        'Defence',
      ],
      rows.map((row) => {
        const v = verdicts(row, options);
        const result = 'error' in row.result ? null : row.result;
        return [
          row.deployment,
          row.attack,
          result?.volume ?? '—',
          `${toMb(row.rss.before)} / ${toMb(row.rss.peak)} / ${toMb(row.rss.after)}`,
          result?.outcome ?? `ERROR: ${(row.result as { error: string }).error}`,
          `${ms(quietP99(row))}${row.reference === 'pooled' ? ' pooled' : ''} / ${ms(row.during.p99Ms)}` +
            (row.during.windowP99Ms.length > 1
              ? ` (${row.during.windowP99Ms.map(ms).join(', ')})`
              : '') +
            (row.during.lost > 0 ? ` (${row.during.lost} lost)` : ''),
          row.cpu
            ? `${percent(row.cpu.mainMs, row.cpu.windowMs)} (${percent(row.cpu.processMs, row.cpu.windowMs)}) / ` +
              percent(row.cpu.waitMs, row.cpu.windowMs)
            : '—',
          mark(v.rssOk),
          mark(v.p99Ok),
          result?.impersonations === undefined
            ? '—'
            : `${result.impersonations} ${mark(v.impersonationsOk)}`,
          result?.stateChanges === undefined ? '—' : `${result.stateChanges} ${mark(v.stateOk)}`,
          mark(v.defended),
        ];
      }),
    ),
  );
  const failed = rows.filter((row) => !verdicts(row, options).ok);
  const gatedFailed = rows.filter((row) => !verdicts(row, options).gated);
  say('');
  if (options.floorMs > 0) {
    say(
      `p99 target: max(${P99_FACTOR}x quiet, quiet + ${options.floorMs} ms), set with --p99-floor-ms ` +
        '(sub-millisecond quiet p99s on a shared machine move by more than 2x with scheduling alone).',
    );
  } else {
    say(
      `p99 target: ${P99_FACTOR}x the quiet p99 measured just before each attack (the median p99 of ` +
        `${QUIET.windows} quiet windows of ${QUIET.ms / 1000} s, a sample every ${options.probeEveryMs} ms), ` +
        "nothing lost; the attack's p99 is over " +
        `at least ${QUIET.ms / 1000} s from its start (as many samples as a quiet window)` +
        (options.bursts > 1
          ? `; an attack over within ${options.bursts} windows is measured ${options.bursts} times, each with a set-up ` +
            "of its own, and its p99 is the median of the windows' p99s (in brackets), as the quiet " +
            'reference is; every other target holds in every window.'
          : '.') +
        ` An attack of one window of at least ${(2 * QUIET.ms) / 1000} s is held to the p99 of the quiet ` +
        "windows' samples pooled (marked pooled), the same estimator as its own.",
    );
  }
  say(
    options.rehearse
      ? 'Each attack first ran once at CI size against apps of its own, unmeasured (--rehearse): ' +
          'the numbers are those of a node whose code for the attack is already compiled.'
      : "No rehearsals (--rehearse=off): each attack's first run on the node is measured, compiling included.",
  );
  say(
    'Node A CPU: share of the attack window its event loop (main thread) ran, in brackets every ' +
      'thread of the process (GC, thread pool), and share the event loop was runnable but waited ' +
      'for its CPU (other threads and processes there: a high wait with a low busy share means the ' +
      'p99 measured the machine, not the node).',
  );
  if (options.p99Mode === 'report') {
    const p99Missed = rows.filter((row) => !verdicts(row, options).p99Ok).length;
    say(
      `p99 reported, not gated (--p99=report): ${p99Missed} row(s) missed it; the exit code ` +
        'counts only memory, impersonations, state changes and defence.',
    );
  }
  say(
    `${rows.length - failed.length}/${rows.length} rows met every target ` +
      `(${((performance.now() - t0) / 1000).toFixed(0)} s; load average ${loadavg()
        .map((n) => n.toFixed(1))
        .join(' ')} at the end).`,
  );
  return gatedFailed.length === 0 ? 0 : 1;
}

process.on('exit', killEverything);
const interrupted = () => {
  killEverything();
  process.exit(130);
};
process.on('SIGINT', interrupted);
process.on('SIGTERM', interrupted);
let code = 1;
try {
  code = await main();
} catch (error) {
  process.stderr.write(
    `\nattack suite failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
}
terminateAll();
process.exit(code);
