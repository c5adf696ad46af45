import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  check,
  compilePermissions,
  type EvaluationResult,
  limits,
  VALVE_ERROR_CODES,
  type ValveLoaders,
  type ValveRequest,
} from '../src/index.js';
import { fileText } from './helpers.js';

// Property tests: whatever the rule, the data, the name or the loader does,
// check() and evaluate() return (never throw), evaluate gives a verdict, and a
// traced evaluation stays within the step limit and agrees with the fast one.

const IDENTIFIERS = [
  'user',
  'data',
  'oldData',
  'now',
  'action',
  'name',
  '$a',
  '$b',
  '_',
  'process',
  'this',
  'globalThis',
  'constructor',
  'x',
  'undefined',
  'NaN',
];
const MEMBERS = [
  'id',
  'data',
  'isAuthenticated',
  'x',
  'y',
  'length',
  'role',
  '0',
  'constructor',
  '__proto__',
  'prototype',
  'toString',
  'valueOf',
  'new',
];
const METHODS = [
  'startsWith',
  'endsWith',
  'includes',
  'indexOf',
  'match',
  'toUpperCase',
  'toLowerCase',
  'trim',
  'toString',
  'call',
  'constructor',
  'substr',
];
const BINARY = [
  '+',
  '-',
  '*',
  '/',
  '%',
  '**',
  '==',
  '!=',
  '===',
  '!==',
  '<',
  '<=',
  '>',
  '>=',
  '&&',
  '||',
  '??',
  'in',
  'instanceof',
  '&',
  '|',
  '^',
  '<<',
  '>>',
  '>>>',
  '=',
  '+=',
  ',',
];
const UNARY = ['!', '-', '+', '~', 'typeof ', 'void ', 'delete ', '++', 'new '];
const LITERALS = [
  'true',
  'false',
  'null',
  '0',
  '-1',
  '1e400',
  '"a"',
  "'__proto__'",
  '"constructor"',
  '[]',
  '[1, "a", null]',
  '/a+/',
  '/(a+)+$/i',
  '/a/g',
  '`t`',
  '{}',
  '"x".repeat',
];

const expression: fc.Arbitrary<string> = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...IDENTIFIERS),
    fc.constantFrom(...LITERALS),
    fc.integer().map(String),
    fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s)),
    fc
      .tuple(tie('expr'), fc.constantFrom(...MEMBERS), fc.boolean())
      .map(([e, m, opt]) => `${e}${opt ? '?.' : '.'}${m}`),
    fc.tuple(tie('expr'), tie('expr')).map(([e, k]) => `${e}[${k}]`),
    fc
      .tuple(tie('expr'), fc.constantFrom(...BINARY), tie('expr'))
      .map(([a, op, b]) => `(${a} ${op} ${b})`),
    fc.tuple(fc.constantFrom(...UNARY), tie('expr')).map(([op, e]) => `${op}${e}`),
    fc.tuple(tie('expr'), tie('expr'), tie('expr')).map(([a, b, c]) => `(${a} ? ${b} : ${c})`),
    fc
      .tuple(tie('expr'), fc.constantFrom(...METHODS), fc.array(tie('expr'), { maxLength: 2 }))
      .map(([e, m, args]) => `${e}.${m}(${args.join(', ')})`),
    tie('expr').map((e) => `_(${e})`),
    fc.array(tie('expr'), { maxLength: 3 }).map((items) => `[${items.join(', ')}]`),
  ),
})).expr;

const nameSegment = fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !s.includes('/'));

const loaderArb: fc.Arbitrary<ValveLoaders> = fc
  .tuple(
    fc.constantFrom('sync', 'async', 'throws', 'rejects'),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 })),
  )
  .map(([mode, records]) => ({
    loadRecord(name: string) {
      const value = Object.hasOwn(records, name) ? records[name] : null;
      if (mode === 'throws') throw new Error('loader threw');
      if (mode === 'rejects') return Promise.reject(new Error('loader rejected'));
      return mode === 'sync' ? value : Promise.resolve(value);
    },
  }));

const RUNTIME_CODES = Object.entries(VALVE_ERROR_CODES)
  .filter(([, kind]) => kind === 'runtime')
  .map(([code]) => code);

function assertWellFormed(result: EvaluationResult): void {
  expect(['allowed', 'denied', 'error']).toContain(result.verdict);
  expect(result.allowed).toBe(result.verdict === 'allowed');
  if (result.verdict === 'error') expect(RUNTIME_CODES).toContain(result.error?.code);
  else expect(result.error).toBeUndefined();
}

describe('fuzzing', () => {
  it('check() and evaluate() never throw, and always give a verdict, for random rules, data and loaders', async () => {
    await fc.assert(
      fc.asyncProperty(
        expression,
        fc.jsonValue({ maxDepth: 3 }),
        fc.tuple(nameSegment, nameSegment),
        fc.constantFrom(
          'write',
          'read',
          'UPDATE',
          'PATCH',
          'CREATEANDUPDATE',
          'SUBSCRIBECREATEANDREAD',
        ),
        fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
        loaderArb,
        async (rule, data, [a, b], action, oldData, loaders) => {
          const text = fileText({
            record: { '*': { read: true, create: true }, 'x/$a/$b': { write: rule, read: rule } },
          });
          const report = check(text);
          for (const error of report.errors) {
            expect(VALVE_ERROR_CODES[error.code]).toBe('check');
            expect(error.line).toBeGreaterThan(0);
            expect(error.column).toBeGreaterThan(0);
          }
          const compiled = compilePermissions(text);
          expect(compiled.ok).toBe(report.ok);
          if (!compiled.ok) return;
          const request: ValveRequest = {
            section: 'record',
            action,
            name: `x/${a}/${b}`,
            user: { id: a, isAuthenticated: true, data: { role: b } },
            data,
            path: 'y',
            ...(oldData === undefined ? {} : { oldData }),
          };
          const fast = await compiled.permissions.evaluate(request, loaders);
          const traced = await compiled.permissions.evaluate(request, loaders, { trace: true });
          assertWellFormed(fast);
          assertWellFormed(traced);
          expect(traced.verdict).toBe(fast.verdict);
          expect(traced.error?.code).toBe(fast.error?.code);
          const steps = (traced.trace ?? []).filter((e) => e.kind === 'value').length;
          expect(steps).toBeLessThanOrEqual(limits.MAX_EVALUATION_STEPS);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('check() never throws on arbitrary text', () => {
    const yamlish = fc.string({
      unit: fc.constantFrom(
        'record',
        'event',
        'rpc',
        'presence',
        '"*"',
        ':',
        ' ',
        '\n',
        '  ',
        '{',
        '}',
        '[',
        ']',
        ',',
        '"',
        "'",
        'read',
        'true',
        '&a',
        '*a',
        '<<',
        '#',
        '-',
        '|',
        '$x',
        'user.id',
        '\\',
        '\t',
      ),
      maxLength: 60,
    });
    fc.assert(
      fc.property(fc.oneof(yamlish, fc.string({ unit: 'binary', maxLength: 200 })), (text) => {
        const report = check(text);
        expect(report.ok).toBe(report.errors.length === 0);
        for (const error of report.errors)
          expect(Object.keys(VALVE_ERROR_CODES)).toContain(error.code);
      }),
      { numRuns: 1000 },
    );
  });

  it('check() never throws on arbitrary rule text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-ascii', maxLength: 80 }), (rule) => {
        const report = check(fileText({ event: { '*': { publish: rule } } }));
        for (const error of report.errors) expect(error.path[0]).toBe('event');
      }),
      { numRuns: 1000 },
    );
  });

  it('evaluate() never throws on malformed requests', async () => {
    const compiled = compilePermissions(
      fileText({ record: { '*': { write: 'data.x === 1', read: '_(name) !== null' } } }),
    );
    if (!compiled.ok) throw new Error('invalid');
    const permissions = compiled.permissions;
    await fc.assert(
      fc.asyncProperty(
        fc.anything(),
        fc.record(
          {
            section: fc.constantFrom('record', 'event', 7),
            action: fc.oneof(fc.string(), fc.integer(), fc.constant('read')),
            name: fc.anything(),
            user: fc.anything(),
            data: fc.anything(),
            path: fc.anything(),
          },
          { requiredKeys: [] },
        ),
        async (junk, shaped) => {
          for (const request of [junk, shaped]) {
            assertWellFormed(
              await permissions.evaluate(request as ValveRequest, { loadRecord: () => null }),
            );
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
