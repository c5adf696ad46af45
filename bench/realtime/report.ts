import { formatMs, formatRate, type Result } from './measure.ts';
import type { MemoryLevel } from './memory.ts';
import type { ServerKind } from './servers.ts';

// The summary: a Markdown table, padded so that it reads as a table in the
// terminal and renders as one when pasted.

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };
/** One figure (or set of figures) per server; a server whose run failed holds its error. */
export type Pair<T> = Partial<Record<ServerKind, Outcome<T>>>;

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

export function addRow(
  phase: string,
  baseline: string,
  hubstream: string,
  ratioText: string,
  target: string,
  verdict: Verdict,
) {
  summary.push([phase, baseline, hubstream, ratioText, target, verdict]);
}

const cell = <T>(outcome: Outcome<T> | undefined, show: (value: T) => string) =>
  outcome === undefined ? '—' : outcome.ok ? show(outcome.value) : 'did not run';

/** A phase's rate against the baseline (with a minimum ratio, or for information) and its latency. */
export function throughputRows(name: string, unit: string, pair: Pair<Result>, minimum?: number) {
  const b = value(pair.baseline);
  const h = value(pair.hubstream);
  const both = b !== undefined && h !== undefined;
  addRow(
    `${name}: ${unit}`,
    cell(pair.baseline, (r) => formatRate(r.rate)),
    cell(pair.hubstream, (r) => formatRate(r.rate)),
    both ? ratio(h.rate, b.rate) : '—',
    minimum === undefined ? '—' : `≥ ${minimum.toFixed(2)}x`,
    !both
      ? 'not run'
      : minimum === undefined
        ? 'info'
        : h.rate / b.rate >= minimum
          ? 'pass'
          : 'FAIL',
  );
  addRow(
    `${name}: p50 / p99 ms`,
    cell(pair.baseline, (r) => `${formatMs(r.p50Ms)} / ${formatMs(r.p99Ms)}`),
    cell(pair.hubstream, (r) => `${formatMs(r.p50Ms)} / ${formatMs(r.p99Ms)}`),
    both ? `p99 ${ratio(h.p99Ms, b.p99Ms)}` : '—',
    '—',
    both ? 'info' : 'not run',
  );
}

/** A p99 latency against the baseline's, with a maximum ratio. */
export function latencyRow(name: string, pair: Pair<Result>, maximum: number) {
  const b = value(pair.baseline);
  const h = value(pair.hubstream);
  const both = b !== undefined && h !== undefined;
  addRow(
    `${name}: p99 ms`,
    cell(pair.baseline, (r) => formatMs(r.p99Ms)),
    cell(pair.hubstream, (r) => formatMs(r.p99Ms)),
    both ? ratio(h.p99Ms, b.p99Ms) : '—',
    `≤ ${maximum.toFixed(2)}x`,
    !both ? 'not run' : h.p99Ms / b.p99Ms <= maximum ? 'pass' : 'FAIL',
  );
}

/** Kilobytes per idle connection at each count, against an absolute maximum. */
export function memoryRows(
  pair: Pair<MemoryLevel[]>,
  counts: readonly number[],
  maximumKb: number,
): void {
  for (const connections of counts) {
    const at = (levels: MemoryLevel[] | undefined) =>
      levels?.find((level) => level.connections === connections);
    const b = at(value(pair.baseline));
    const h = at(value(pair.hubstream));
    const show = (level: MemoryLevel | undefined) =>
      level ? `${level.rssKb.toFixed(1)} (heap ${level.heapKb.toFixed(1)})` : 'did not run';
    // Resident memory misses growth into pages already resident, and heap
    // misses native memory: the larger of the two is held to the target.
    const worst = (level: MemoryLevel) => Math.max(level.rssKb, level.heapKb);
    addRow(
      `6 memory, ${connections.toLocaleString('en-US')} idle connections: KB each, resident (heap)`,
      pair.baseline ? show(b) : '—',
      pair.hubstream ? show(h) : '—',
      b && h ? ratio(worst(h), worst(b)) : '—',
      `≤ ${maximumKb} KB, larger of the two`,
      h === undefined ? 'not run' : worst(h) <= maximumKb ? 'pass' : 'FAIL',
    );
  }
}
