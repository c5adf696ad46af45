import { processMetrics } from '@hubstream/service';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  at,
  codeSpans,
  eachNode,
  property,
  propertyName,
  readDoc,
  type Source,
  section,
  tableRows,
  unionMembers,
  unwrap,
} from './source-scan.ts';

// METRICS.md is what an operator builds dashboards and alerts from; like
// ENVS.md it must say exactly what the code does. Every metric the sources
// register (`new Counter({ name })`, or a `counterFrom(registry, name, ...)`
// style helper) is in its tables with the same type and labels, and every
// hubstream_* metric the tables name is registered; the process metrics
// they name are prom-client's defaults as this repository collects them;
// and the closed label values the tables spell out are the code's.

const doc = readDoc('METRICS.md');
const rows = tableRows(section(doc, 'What is measured'));

type Registered = { name: string; type: string; labels: string[]; where: string };

const METRIC_CLASSES: Record<string, string> = {
  Counter: 'counter',
  Gauge: 'gauge',
  Histogram: 'histogram',
  Summary: 'summary',
};

function stringsOf(array: ts.Expression | undefined, where: string): string[] {
  if (array === undefined) return [];
  const node = unwrap(array);
  if (!ts.isArrayLiteralExpression(node)) throw new Error(`labels not a list at ${where}`);
  return node.elements.map((e) => {
    if (!ts.isStringLiteral(e)) throw new Error(`a label that is not a literal at ${where}`);
    return e.text;
  });
}

/** How the metric named by this string literal is registered. */
function registration(literal: ts.StringLiteral, source: Source): Registered {
  const where = at(literal, source);
  const parent = literal.parent;
  // new Counter({ name: 'hubstream_...', labelNames: [...] })
  if (
    ts.isPropertyAssignment(parent) &&
    propertyName(parent) === 'name' &&
    ts.isObjectLiteralExpression(parent.parent) &&
    ts.isNewExpression(parent.parent.parent) &&
    ts.isIdentifier(parent.parent.parent.expression)
  ) {
    const type = METRIC_CLASSES[parent.parent.parent.expression.text];
    if (type) {
      const labels = stringsOf(property(parent.parent, 'labelNames'), where);
      return { name: literal.text, type, labels, where };
    }
  }
  // counterFrom(registry, 'hubstream_...', help, [labels], read)
  if (ts.isCallExpression(parent) && ts.isIdentifier(parent.expression)) {
    const type = /^(counter|gauge|histogram|summary)From$/.exec(parent.expression.text)?.[1];
    if (type) {
      const labels = stringsOf(
        parent.arguments.find((a) => ts.isArrayLiteralExpression(unwrap(a))),
        where,
      );
      return { name: literal.text, type, labels, where };
    }
  }
  throw new Error(
    `cannot tell how the metric ${literal.text} at ${where} is registered: use new Counter/Gauge/Histogram({ name }) or a counterFrom-style helper`,
  );
}

function registered(): Map<string, Registered> {
  const found = new Map<string, Registered>();
  eachNode((node, source) => {
    if (!ts.isStringLiteral(node) || !/^hubstream_[a-z0-9_]+$/.test(node.text)) return;
    const metric = registration(node, source);
    const earlier = found.get(metric.name);
    if (earlier) {
      expect(metric, `${metric.name} registered twice alike`).toEqual({
        ...earlier,
        where: metric.where,
      });
    }
    found.set(metric.name, metric);
  });
  return found;
}

/** The table rows of our own metrics (one name each), by name. */
function documented(): Map<string, { type: string; labels: string[]; meaning: string }> {
  const out = new Map<string, { type: string; labels: string[]; meaning: string }>();
  for (const [metric, type, labels, meaning] of rows) {
    const names = codeSpans(metric!);
    if (!names.some((n) => n.startsWith('hubstream_'))) continue;
    expect(names, 'one hubstream_* metric per row').toHaveLength(1);
    expect(out.has(names[0]!), `${names[0]} in one row`).toBe(false);
    out.set(names[0]!, { type: type!, labels: codeSpans(labels!), meaning: meaning! });
  }
  return out;
}

/** Label values a metric's row spells out: its lower-case code spans. */
const spelledOut = (meaning: string) => codeSpans(meaning).filter((s) => /^[a-z][a-z_-]*$/.test(s));

/** The closed-set labels are the realtime node's: it declares the types of what it counts. */
const realtimeNode = (path: string) => path.startsWith('apps/realtime/src/');

describe('METRICS.md', () => {
  it('lists exactly the hubstream_* metrics the sources register', () => {
    const inCode = registered();
    expect(inCode.size, 'metrics found in the sources').toBeGreaterThan(10);
    expect([...documented().keys()].sort()).toEqual([...inCode.keys()].sort());
  });

  it('gives each its type and labels as registered', () => {
    const docs = documented();
    for (const metric of registered().values()) {
      const row = docs.get(metric.name);
      expect({ type: row?.type, labels: row?.labels }, metric.where).toEqual({
        type: metric.type,
        labels: metric.labels,
      });
    }
  });

  it("names only process metrics that prom-client's defaults collect", async () => {
    const collected = (await processMetrics().getMetricsAsJSON()).map((m) => m.name);
    const named = rows
      .flatMap(([metric]) => codeSpans(metric!))
      .filter((n) => /^(nodejs|process)_/.test(n));
    expect(named.length).toBeGreaterThan(0);
    for (const name of named) {
      const match = name.endsWith('*')
        ? collected.some((c) => c.startsWith(name.slice(0, -1)))
        : collected.includes(name);
      expect(match, `${name} is collected`).toBe(true);
    }
  });

  it('spells out exactly the label values of the closed-set labels', () => {
    // metric -> the union type its one label's values come from
    const closedSets: Record<string, string> = {
      hubstream_realtime_auth_failures_total: 'NodeAuthFailureReason',
      hubstream_realtime_rate_limited_total: 'LimitName',
      hubstream_realtime_protocol_errors_total: 'ProtocolError',
      hubstream_realtime_guard_closes_total: 'GuardClose',
      hubstream_http_api_requests_total: 'RequestOutcome',
    };
    const docs = documented();
    for (const [metric, type] of Object.entries(closedSets)) {
      const row = docs.get(metric);
      expect(row, `${metric} documented`).toBeDefined();
      expect(spelledOut(row!.meaning).sort(), `${metric} values (type ${type})`).toEqual(
        unionMembers(type, realtimeNode).sort(),
      );
    }
  });
});
