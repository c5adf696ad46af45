import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  at,
  codeSpans,
  constObject,
  eachNode,
  numberEntries,
  property,
  propertyName,
  readDoc,
  section,
  stringValues,
  tableRows,
} from './source-scan.ts';

// ERROR_CODES.md is the reference for whoever handles our errors; like
// ENVS.md it must say exactly what the code does. Each table is compared
// with what the sources send: the close codes table with CLOSE_CODES and
// the codes some connection is closed with, the login refusals with the
// `clientData: { error }` the auth strategies answer, the control plane's
// codes with API_ERROR_STATUS and the codes its routes use, the HTTP data
// API's statuses with those its routes refuse with, and the error codes of
// every process's /ready and /metrics.

const doc = readDoc('ERROR_CODES.md');
const sorted = <T>(values: Iterable<T>) => [...new Set(values)].sort();

describe('ERROR_CODES.md', () => {
  it('lists exactly the WebSocket close codes, each with its number', () => {
    const documented = tableRows(section(doc, 'WebSocket close codes (realtime node)')).map(
      (row) => [codeSpans(row[1]!)[0], Number(row[0])],
    );
    const defined = numberEntries(constObject('CLOSE_CODES')).sort((a, b) => a[1] - b[1]);
    expect(documented).toEqual(defined);
  });

  it('documents no close code that no connection is closed with, and sends no other', () => {
    const defined = new Map(numberEntries(constObject('CLOSE_CODES')));
    const used = new Set<string>();
    const raw: string[] = [];
    eachNode((node, source) => {
      if (
        ts.isPropertyAccessExpression(node) &&
        ts.isIdentifier(node.expression) &&
        node.expression.text === 'CLOSE_CODES'
      ) {
        used.add(node.name.text);
      }
      // A close with a number written out instead of a CLOSE_CODES name.
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        node.expression.name.text === 'close' &&
        node.arguments[0] &&
        ts.isNumericLiteral(node.arguments[0])
      ) {
        raw.push(`${node.arguments[0].text} at ${at(node, source)}`);
      }
    });
    expect(raw, 'closed with a number, not a CLOSE_CODES name').toEqual([]);
    expect(sorted(used)).toEqual(sorted(defined.keys()));
  });

  it('lists exactly the login refusals the auth strategies answer with', () => {
    const documented = tableRows(section(doc, 'Login refusals (realtime node)')).map(
      (row) => codeSpans(row[0]!)[0],
    );
    const sent: string[] = [];
    eachNode((node, source) => {
      if (!ts.isPropertyAssignment(node) || propertyName(node) !== 'clientData') return;
      if (!ts.isObjectLiteralExpression(node.initializer)) return;
      const error = property(node.initializer, 'error');
      // `error: reply.body`: a webhook's own refusal, passed through as it is (documented so).
      if (!error || ts.isPropertyAccessExpression(error)) return;
      sent.push(...stringValues(error, at(node, source)));
    });
    expect(sent.length, 'login refusals found in the sources').toBeGreaterThan(5);
    expect(sorted(documented)).toEqual(sorted(sent));
    expect(documented.length, 'each refusal in one row').toBe(new Set(documented).size);
  });

  it("lists exactly the control plane's error codes, each with its status", () => {
    const documented = tableRows(section(doc, 'HTTP API error codes (control plane)')).flatMap(
      (row) => codeSpans(row[0]!).map((code) => [code, Number(row[1])] as const),
    );
    const defined = numberEntries(constObject('API_ERROR_STATUS'));
    const byCode = (a: readonly [string, number], b: readonly [string, number]) =>
      a[0].localeCompare(b[0]);
    expect([...documented].sort(byCode)).toEqual([...defined].sort(byCode));
  });

  it('documents no control plane error code that no route uses', () => {
    const codes = new Set(numberEntries(constObject('API_ERROR_STATUS')).map(([code]) => code));
    const used = new Set<string>();
    eachNode(
      (node) => {
        if (ts.isStringLiteral(node) && codes.has(node.text)) used.add(node.text);
      },
      // The API reference's examples name codes without sending them.
      (path) => path.startsWith('apps/control-plane/src/') && !path.includes('api-docs'),
    );
    expect(sorted(used)).toEqual(sorted(codes));
  });

  it("lists exactly the statuses the HTTP data API's refusals carry", () => {
    const documented = tableRows(section(doc, 'HTTP data API (realtime node)')).map((row) =>
      Number(row[0]),
    );
    const sent = new Set<number>();
    const status = (node: ts.Expression | undefined) => {
      if (node && ts.isNumericLiteral(node) && Number(node.text) >= 400) {
        sent.add(Number(node.text));
      }
    };
    eachNode(
      (node) => {
        if (ts.isCallExpression(node) && ts.isIdentifier(node.expression)) {
          if (node.expression.text === 'fail') status(node.arguments[0]);
          if (node.expression.text === 'sendText') status(node.arguments[1]);
        }
        if (ts.isPropertyAssignment(node) && propertyName(node) === 'status') {
          status(node.initializer);
        }
      },
      (path) => path.includes('/http-api/'),
    );
    // What the request metric counts refusals by (METRICS.md) is a status documented here too.
    const counted = constObject('REFUSALS').properties.map((p) => Number(p.name?.getText()));
    expect(sent.size, 'HTTP data API refusals found in the sources').toBeGreaterThan(3);
    expect(sorted(documented)).toEqual(sorted(sent));
    expect(counted.filter((s) => !documented.includes(s))).toEqual([]);
  });

  it("lists exactly the error codes of every process's own routes (/ready, /metrics)", () => {
    const documented = tableRows(section(doc, 'Every process')).map(
      (row) => [codeSpans(row[0]!)[0] ?? row[0]!, Number(row[1])] as const,
    );
    const sent: (readonly [string, number])[] = [];
    eachNode(
      (node, source) => {
        // reply.code(N).send({ error: { code: 'X', ... } })
        if (!ts.isPropertyAssignment(node) || propertyName(node) !== 'error') return;
        if (!ts.isObjectLiteralExpression(node.initializer)) return;
        const code = property(node.initializer, 'code');
        if (!code) return;
        let call: ts.Node = node;
        while (!ts.isCallExpression(call) || !call.getText().includes('.code(')) {
          call = call.parent;
          if (!call) throw new Error(`no reply.code(...) around ${at(node, source)}`);
        }
        const status = /\.code\((\d{3})\)/.exec(call.getText())?.[1];
        for (const value of stringValues(code, at(node, source))) {
          sent.push([value, Number(status)]);
        }
      },
      (path) => path.startsWith('packages/service/src/'),
    );
    const byCode = (a: readonly [string, number], b: readonly [string, number]) =>
      a[0].localeCompare(b[0]);
    expect(sent.length).toBeGreaterThan(0);
    expect([...documented].sort(byCode)).toEqual([...sent].sort(byCode));
  });
});
