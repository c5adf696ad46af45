import { cpuMicrosPerUnit, formatMs, formatRate, type Result } from './measure.ts';
import type { MemoryLevel } from './memory.ts';
import type { ServerKind } from './servers.ts';

// The summary: a Markdown table, padded so that it reads as a table in the
// terminal and renders as one when pasted.

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };
/**
 * What a phase measures side by side: each server with protobuf clients, and
 * `text`, Hubstream with 2.x text-protocol clients (fan-out and one-to-one).
 */
export type Lane = ServerKind | 'text';
/** One figure (or set of figures) per lane; a lane whose run failed holds its error. */
export type Pair<T> = Partial<Record<Lane, Outcome<T>>>;

export const value = <T>(outcome: Outcome<T> | undefined): T | undefined =>
  outcome?.ok ? outcome.value : undefined;

export type Row = readonly string[];

export function table(
  header: Row,
  rows: readonly Row[],
  align: readonly ('l' | 'r')[] = [],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (text: string, i: number) =>
    align[i] === 'r' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  const line = (row: Row) => `| ${row.map((text, i) => cell(text ?? '', i)).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (align[i] === 'r' ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export function ratio(ours: number, theirs: number): string {
  if (!Number.isFinite(ours) || !Number.isFinite(theirs) || theirs === 0) return '—';
  return `${(ours / theirs).toFixed(2)}x`;
}

export type Verdict = 'pass' | 'FAIL' | 'info' | 'not run';
/** The summary table's rows, in the order the phases ran. */
export const summary: string[][] = [];
export const SUMMARY_HEADER: Row = [
  'Phase',
  'bare ws',
  'deepstream 7',
  'Hubstream',
  'Hubstream / bare',
  'Hubstream / deepstream',
  'Target',
  'Result',
];
export const SUMMARY_ALIGN = ['l', 'r', 'r', 'r', 'r', 'r', 'l', 'l'] as const;

/** A target: Hubstream's figure against one of the other servers', at least or at most `ratio` times it. */
export type Target = { against: 'baseline' | 'deepstream'; atLeast?: number; atMost?: number };

const AGAINST: Record<Target['against'], string> = { baseline: 'bare', deepstream: 'deepstream' };

function targetText(target: Target | undefined): string {
  if (!target) return '—';
  const bound =
    target.atLeast !== undefined
      ? `≥ ${target.atLeast.toFixed(2)}x`
      : `≤ ${target.atMost?.toFixed(2)}x`;
  return `${bound} ${AGAINST[target.against]}`;
}

/** One row: each server's figure, Hubstream's ratios to both others, the target's verdict. */
function addFigure<T>(
  phase: string,
  pair: Pair<T>,
  figure: (value: T) => number,
  show: (value: T) => string,
  target?: Target,
) {
  const h = value(pair.hubstream);
  const ratioTo = (kind: 'baseline' | 'deepstream') => {
    const other = value(pair[kind]);
    return h !== undefined && other !== undefined ? ratio(figure(h), figure(other)) : '—';
  };
  let verdict: Verdict = 'info';
  const against = target ? value(pair[target.against]) : undefined;
  if (target && (h === undefined || against === undefined)) verdict = 'not run';
  else if (target && h !== undefined && against !== undefined) {
    const r = figure(h) / figure(against);
    const ok =
      (target.atLeast === undefined || r >= target.atLeast) &&
      (target.atMost === undefined || r <= target.atMost);
    verdict = Number.isFinite(r) && ok ? 'pass' : 'FAIL';
  } else if (h === undefined) verdict = 'not run';
  summary.push([
    phase,
    cell(pair.baseline, show),
    cell(pair.deepstream, show),
    cell(pair.hubstream, show),
    ratioTo('baseline'),
    ratioTo('deepstream'),
    targetText(target),
    verdict,
  ]);
}

/** A row of its own (a phase that could not run at all). */
export function addRow(phase: string, verdict: Verdict, note = '—') {
  summary.push([phase, note, note, note, '—', '—', '—', verdict]);
}

const cell = <T>(outcome: Outcome<T> | undefined, show: (value: T) => string) =>
  outcome === undefined ? '—' : outcome.ok ? show(outcome.value) : 'did not run';

/** A phase's rate (with a target, or for information) and its latency, for information. */
export function throughputRows(name: string, unit: string, pair: Pair<Result>, target?: Target) {
  addFigure(
    `${name}: ${unit}`,
    pair,
    (r) => r.rate,
    (r) => formatRate(r.rate),
    target,
  );
  addFigure(
    `${name}: p50 / p99 ms`,
    pair,
    (r) => r.p99Ms,
    (r) => `${formatMs(r.p50Ms)} / ${formatMs(r.p99Ms)}`,
  );
  // What one unit cost the server's process: steadier than the rate when
  // other processes share the cores.
  addFigure(`${name}: server CPU µs each`, pair, cpuMicrosPerUnit, (r) =>
    cpuMicrosPerUnit(r).toFixed(1),
  );
}

/** p50, p99 and p99.9 latency, the last two against the bare baseline's with a maximum ratio each. */
export function latencyRows(
  name: string,
  pair: Pair<Result>,
  maximum: { p99: number; p999: number },
) {
  addFigure(
    `${name}: p50 ms`,
    pair,
    (r) => r.p50Ms,
    (r) => formatMs(r.p50Ms),
  );
  addFigure(
    `${name}: p99 ms`,
    pair,
    (r) => r.p99Ms,
    (r) => formatMs(r.p99Ms),
    {
      against: 'baseline',
      atMost: maximum.p99,
    },
  );
  addFigure(
    `${name}: p99.9 ms`,
    pair,
    (r) => r.p999Ms,
    (r) => formatMs(r.p999Ms),
    {
      against: 'baseline',
      atMost: maximum.p999,
    },
  );
}

/**
 * Rows of a phase's text lane (Hubstream with 2.x clients): its figure in
 * Hubstream's column, and as a ratio to Hubstream's with protobuf clients,
 * the rate against `atLeast`.
 */
export function textRows(name: string, unit: string, pair: Pair<Result>, atLeast: number) {
  const text = pair.text;
  if (text === undefined) return;
  const protobuf = value(pair.hubstream);
  const row = (
    what: string,
    figure: (r: Result) => number,
    show: (r: Result) => string,
    bound?: number,
    note = (r: number) => `${r.toFixed(2)}x protobuf`,
  ) => {
    const t = value(text);
    const r = t !== undefined && protobuf !== undefined ? figure(t) / figure(protobuf) : Number.NaN;
    const shown = Number.isFinite(r) ? note(r) : 'no protobuf figure';
    let verdict: Verdict = 'info';
    if (t === undefined) verdict = 'not run';
    else if (bound !== undefined) {
      verdict = Number.isFinite(r) ? (r >= bound ? 'pass' : 'FAIL') : 'not run';
    }
    summary.push([
      `${name} (text): ${what}`,
      '—',
      '—',
      cell(text, show),
      '—',
      '—',
      bound === undefined
        ? 'text / Hubstream protobuf'
        : `≥ ${bound.toFixed(2)}x Hubstream protobuf`,
      `${verdict}: ${shown}`,
    ]);
  };
  row(
    unit,
    (r) => r.rate,
    (r) => formatRate(r.rate),
    atLeast,
  );
  row(
    'p50 / p99 ms',
    (r) => r.p99Ms,
    (r) => `${formatMs(r.p50Ms)} / ${formatMs(r.p99Ms)}`,
    undefined,
    (r) => `${r.toFixed(2)}x protobuf's p99`,
  );
  // On a loaded machine the rates measure the contention as much as the
  // server; the inverse of the CPU ratio is the rate the server's core would
  // give text clients against protobuf ones.
  row(
    'server CPU µs each',
    cpuMicrosPerUnit,
    (r) => cpuMicrosPerUnit(r).toFixed(1),
    undefined,
    (r) => `${r.toFixed(2)}x protobuf (${(1 / r).toFixed(2)}x its rate per CPU)`,
  );
}

/**
 * Kilobytes per idle connection at each count, against bare `ws`'s. Resident
 * memory misses growth into pages already resident, and heap misses native
 * memory: the larger of the two is compared.
 */
export function memoryRows(pair: Pair<MemoryLevel[]>, counts: readonly number[], maximum: number) {
  for (const connections of counts) {
    const at = (levels: MemoryLevel[]) => levels.find((level) => level.connections === connections);
    const levelPair: Pair<MemoryLevel> = {};
    for (const kind of ['baseline', 'deepstream', 'hubstream'] as const) {
      const outcome = pair[kind];
      if (!outcome) continue;
      const level = outcome.ok ? at(outcome.value) : undefined;
      levelPair[kind] = level ? { ok: true, value: level } : { ok: false, error: 'did not run' };
    }
    addFigure(
      `6 memory, ${connections.toLocaleString('en-US')} idle connections: KB each, resident (heap), larger compared`,
      levelPair,
      (level) => Math.max(level.rssKb, level.heapKb),
      (level) => `${level.rssKb.toFixed(1)} (${level.heapKb.toFixed(1)})`,
      { against: 'baseline', atMost: maximum },
    );
  }
}
