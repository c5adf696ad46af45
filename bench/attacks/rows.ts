import type { AttackResult } from './attack.ts';
import type { QuietResult } from './probe.ts';

// One row of the attack suite's table (run.ts): what was measured, and
// which targets it met.

export const RSS_LIMIT_BYTES = 150 * 1024 * 1024;
export const P99_FACTOR = 2;

/** How the p99 target is set and counted (--p99-floor-ms, --p99). */
export type Targets = { floorMs: number; p99Mode: 'gate' | 'report' };

export type Row = {
  deployment: string;
  attack: string;
  result: AttackResult | { error: string };
  rss: { before: number; peak: number; after: number };
  /** Node A (the probe's node) during the attack: CPU of its event loop and whole process, run-queue wait. */
  cpu: {
    windowMs: number;
    mainMs: number;
    processMs: number;
    waitMs: number;
    /** Node A's other threads that used CPU in the window, by name, most first. */
    threads: string;
  } | null;
  quiet: QuietResult;
  /**
   * The attack's window, or windows: a burst is measured --bursts times
   * (run.ts), and its p99 is then the median of theirs (each in windowP99Ms).
   */
  during: QuietResult;
  /** How long the attack itself ran (the probe's window is at least the quiet window, run.ts). */
  attackMs: number;
  /**
   * Which quiet p99 the attack's is held to: `windows`, the median of the
   * quiet windows' p99s (an attack measured in windows of that length);
   * `pooled`, the p99 of all quiet samples together (one long window: run.ts,
   * LONG ATTACKS).
   */
  reference: 'windows' | 'pooled';
};

/** The quiet p99 the row's attack p99 is held to (Row.reference). */
export function quietP99(row: Row): number {
  return row.reference === 'pooled' ? row.quiet.pooledP99Ms : row.quiet.p99Ms;
}

export const NO_PROBE: QuietResult = {
  windowP99Ms: [],
  sent: 0,
  received: 0,
  lost: 0,
  p50Ms: Number.NaN,
  p99Ms: Number.NaN,
  maxMs: Number.NaN,
  latenciesMs: [],
  pooledP99Ms: Number.NaN,
};

export const toMb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
export const percent = (part: number, whole: number) =>
  whole > 0 ? `${Math.round((100 * part) / whole)}%` : '—';
export const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '—');

function p99Limit(quiet: number, floorMs: number): number {
  return Math.max(P99_FACTOR * quiet, quiet + floorMs);
}

/** Which targets a row met; `gated`: what the exit code counts (see --p99). */
export function verdicts(row: Row, targets: Targets) {
  const result = 'error' in row.result ? null : row.result;
  const growth = row.rss.peak - row.rss.before;
  const rssOk = Number.isFinite(growth) && growth < RSS_LIMIT_BYTES;
  const p99Ok =
    row.during.lost === 0 && row.during.p99Ms <= p99Limit(quietP99(row), targets.floorMs);
  const impersonationsOk = (result?.impersonations ?? 0) === 0;
  const stateOk = (result?.stateChanges ?? 0) === 0;
  const defended = result?.defended === true;
  return {
    rssOk,
    p99Ok,
    impersonationsOk,
    stateOk,
    defended,
    ok: rssOk && p99Ok && impersonationsOk && stateOk && defended && result !== null,
    // What the exit code counts: with --p99=report a missed p99 is shown, not gated.
    gated:
      rssOk &&
      (p99Ok || targets.p99Mode === 'report') &&
      impersonationsOk &&
      stateOk &&
      defended &&
      result !== null,
  };
}

export const mark = (ok: boolean) => (ok ? 'pass' : 'FAIL');
