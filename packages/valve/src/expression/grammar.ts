import type { LiteralValue } from './ast.js';

// The fixed vocabulary of the rule grammar.

/** Binary operator precedence, as in JS; `??` binds loosest and may not mix with && or ||. */
export const PRECEDENCE: Record<string, number> = {
  '??': 1,
  '||': 2,
  '&&': 3,
  '|': 4,
  '^': 5,
  '&': 6,
  '==': 7,
  '!=': 7,
  '===': 7,
  '!==': 7,
  '<': 8,
  '>': 8,
  '<=': 8,
  '>=': 8,
  in: 8,
  instanceof: 8,
  '<<': 9,
  '>>': 9,
  '>>>': 9,
  '+': 10,
  '-': 10,
  '*': 11,
  '/': 11,
  '%': 11,
  '**': 12,
};

/** Rejected wherever they appear: rules cannot change anything. */
export const ASSIGNMENT_OPERATORS = new Set([
  '=',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '**=',
  '<<=',
  '>>=',
  '>>>=',
  '&=',
  '|=',
  '^=',
  '&&=',
  '||=',
  '??=',
]);

/** Names that are values, not variables. */
export const LITERAL_NAMES: ReadonlyMap<string, LiteralValue> = new Map<string, LiteralValue>([
  ['true', true],
  ['false', false],
  ['null', null],
  ['undefined', undefined],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
]);

/** Words that start statements or declarations: a rule is one expression. */
export const STATEMENT_KEYWORDS = new Set([
  'if',
  'else',
  'for',
  'while',
  'do',
  'return',
  'var',
  'let',
  'const',
  'throw',
  'try',
  'catch',
  'finally',
  'switch',
  'case',
  'default',
  'break',
  'continue',
  'with',
  'debugger',
  'import',
  'export',
  'yield',
  'await',
]);
