// Valve benchmark: evaluations per second for every rule of the seed file
// with data in hand, against the same rule compiled with `new Function` and
// run the way deepstream runs it. Not a test: it prints a table.
//
//   pnpm bench:valve [--ms=250] [--samples=3] [--only=TEXT]
//
// Two comparisons per rule:
//   engine:     permissions.evaluate(request) vs deepstream's per-message path
//               (rule cache lookup, argument array, fn.apply, === true);
//   expression: the compiled closure tree vs the bare new Function, both
//               called with everything prepared.
// Each figure is the median of several samples, taken alternately for Valve
// and the baseline so that background load hits both alike.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { checkExpression } from '../../packages/valve/src/expression/checker.js';
import { compileExpression } from '../../packages/valve/src/expression/compiler.js';
import { parseExpression } from '../../packages/valve/src/expression/parser.js';
import type { RuntimeContext } from '../../packages/valve/src/expression/runtime.js';
import { compilePermissions, type EvaluationResult } from '../../packages/valve/src/index.js';
import { compilePattern } from '../../packages/valve/src/pattern.js';
import { Baseline } from './baseline.js';
import { type BenchCase, CASES, RECORDS } from './cases.js';

const SEED = fileURLToPath(
  new URL('../../../shared/fixtures/seed-permissions.yml', import.meta.url),
);
function numberArg(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = arg === undefined ? fallback : Number(arg.slice(name.length + 3));
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}
const MEASURE_MS = numberArg('ms', 250);
const SAMPLES = Math.round(numberArg('samples', 3));
const WARMUP_MS = Math.max(50, MEASURE_MS / 2);
/** Only rules whose `section pattern type` contains this text. */
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.slice(7) ?? '';

type SeedFile = Record<string, Record<string, Record<string, boolean | string>>>;

let sink = 0;

/** Runs `fn` in batches for about `ms` milliseconds; returns calls per second. */
function measure(fn: () => boolean, ms: number): number {
  let batch = 1000;
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < batch; i++) if (fn()) sink++;
    calls += batch;
    elapsed = performance.now() - start;
    if (elapsed < ms / 20) batch *= 2;
  }
  return (calls / elapsed) * 1000;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/** Median rates of each function, sampled in turn after a warm-up of each. */
function rates(fns: readonly (() => boolean)[]): number[] {
  for (const fn of fns) measure(fn, WARMUP_MS);
  const samples: number[][] = fns.map(() => []);
  for (let s = 0; s < SAMPLES; s++) {
    fns.forEach((fn, i) => {
      samples[i]!.push(measure(fn, MEASURE_MS));
    });
  }
  return samples.map(median);
}

function valveExpression(rule: boolean | string, c: BenchCase): () => boolean {
  if (typeof rule === 'boolean') return () => rule;
  const pattern = compilePattern(c.pattern);
  const captures = pattern.match(c.name);
  if (captures === null) throw new Error(`${c.pattern} does not match ${c.name}`);
  const ast = parseExpression(rule);
  const checked = checkExpression(ast, {
    section: c.section,
    type: c.type as never,
    variables: pattern.variableIndex,
  });
  if (checked.errors.length > 0) throw new Error(`${rule}: ${checked.errors[0]?.message}`);
  const fn = compileExpression(ast, {
    variables: pattern.variableIndex,
    source: rule,
    traced: false,
  });
  const context: RuntimeContext = {
    user: c.user,
    name: c.name,
    action: c.action,
    actionName: '',
    vars: captures,
    now: Date.now(),
    data: c.data,
    dataReady: true,
    oldData: c.oldData,
    oldDataReady: true,
    resolveData: () => c.data,
    resolveOldData: () => c.oldData,
    crossReference: (name) => RECORDS.get(String(name)) ?? null,
    traceValue: () => {},
  };
  return () => fn(context) === true;
}

const format = (n: number): string => Math.round(n).toLocaleString('en-US');

function main(): number {
  const text = readFileSync(SEED, 'utf8');
  const compiled = compilePermissions(text);
  if (!compiled.ok) throw new Error(`seed file invalid: ${JSON.stringify(compiled.errors)}`);
  const permissions = compiled.permissions;
  const file = parse(text) as SeedFile;
  const baseline = new Baseline(file, RECORDS);
  const loaders = { loadRecord: (name: string) => RECORDS.get(name) ?? null };

  const rows: string[][] = [];
  const summary: { rule: string; engine: number; engineRatio: number; exprRatio: number }[] = [];
  const cases = CASES.filter((c) => `${c.section} ${c.pattern} ${c.type}`.includes(ONLY));
  cases.forEach((c, i) => {
    const label = `${c.section} ${c.pattern} ${c.type}`;
    const rule = file[c.section]?.[c.pattern]?.[c.type];
    if (rule === undefined) throw new Error(`no seed rule for ${label}`);
    process.stderr.write(`[${i + 1}/${cases.length}] ${label}\n`);
    const request = { ...c };
    const valveEngine = () => (permissions.evaluate(request, loaders) as EvaluationResult).allowed;
    const baselineEngine = () =>
      baseline.evaluate(c.section, c.type, c.name, c.user, c.data, c.oldData, c.action);
    if (valveEngine() !== baselineEngine()) throw new Error(`verdicts differ for ${label}`);
    const valveExpr = valveExpression(rule, c);
    const baselineExpr = baseline.prepared(
      c.section,
      c.type,
      c.name,
      c.user,
      c.data,
      c.oldData,
      c.action,
    );
    if (valveExpr() !== baselineExpr()) throw new Error(`expression results differ for ${label}`);

    const [engine = 0, dsEngine = 0] = rates([valveEngine, baselineEngine]);
    const [expr = 0, dsExpr = 0] = rates([valveExpr, baselineExpr]);
    const engineRatio = dsEngine / engine;
    const exprRatio = dsExpr / expr;
    summary.push({ rule: label, engine, engineRatio, exprRatio });
    const shown = typeof rule === 'string' ? rule : String(rule);
    rows.push([
      String(i + 1),
      `${c.section} ${c.pattern} ${c.type}`,
      shown.length > 48 ? `${shown.slice(0, 45)}...` : shown,
      format(engine),
      format(dsEngine),
      `${engineRatio.toFixed(2)}x`,
      format(expr),
      format(dsExpr),
      `${exprRatio.toFixed(2)}x`,
    ]);
  });

  const header = [
    '#',
    'rule',
    'expression',
    'valve eval/s',
    'baseline eval/s',
    'ratio',
    'valve expr/s',
    'new Function/s',
    'expr ratio',
  ];
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => r[col]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, col) => (col <= 2 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!)))
      .join(' | ');
  const out: string[] = [];
  out.push(
    `Valve vs new Function on ${cases.length} seed rules (node ${process.version}; median of ${SAMPLES} samples of ${MEASURE_MS} ms)`,
  );
  out.push(
    'ratio = baseline / valve: how many times faster the unsafe baseline is (lower is better for valve)',
  );
  out.push(line(header));
  out.push(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const row of rows) out.push(line(row));

  const target = summary.filter(
    (s) => s.rule.includes('public-read-private-write/$userid') && !s.rule.endsWith('read'),
  );
  const slowest = Math.min(...target.map((s) => s.engine));
  const worstEngine = summary.reduce((a, b) => (b.engineRatio > a.engineRatio ? b : a));
  const worstExpr = summary.reduce((a, b) => (b.exprRatio > a.exprRatio ? b : a));
  out.push('');
  if (target.length > 0) {
    out.push(
      `user.id === $userid through evaluate(): ${format(slowest)} evals/s (target >= 1,000,000): ${slowest >= 1_000_000 ? 'met' : 'NOT met'}`,
    );
  }
  out.push(
    `worst engine ratio: ${worstEngine.engineRatio.toFixed(2)}x (${worstEngine.rule}; target <= 3x): ${worstEngine.engineRatio <= 3 ? 'met' : 'NOT met'}`,
  );
  out.push(
    `worst expression-only ratio: ${worstExpr.exprRatio.toFixed(2)}x (${worstExpr.rule}): ${worstExpr.exprRatio <= 3 ? 'within 3x' : 'NOT within 3x'}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  process.stderr.write(`(checksum ${sink})\n`);
  return 0;
}

process.exitCode = main();
