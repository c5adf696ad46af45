import { dataSupport, type RuleType, type Section } from '../actions.js';
import { ExpressionError } from '../errors.js';
import type { CallNode, MemberNode, Node } from './ast.js';
import { compileRegex } from './regex.js';

/** What a rule uses, learned from its AST (never from a regex over its text). */
export interface RuleUsage {
  data: boolean;
  oldData: boolean;
  now: boolean;
  crossReference: boolean;
}

export interface CheckContext {
  readonly section: Section;
  readonly type: RuleType;
  /** The pattern's `$vars` and the position of each among the captures. */
  readonly variables: ReadonlyMap<string, number>;
}

export const GLOBAL_IDENTIFIERS = new Set(['user', 'data', 'oldData', 'now', 'action', 'name']);

/** Methods a rule may call, with their minimum and maximum argument counts. */
export const METHODS: ReadonlyMap<string, readonly [number, number]> = new Map([
  ['startsWith', [1, 2]],
  ['endsWith', [1, 2]],
  ['includes', [1, 2]],
  ['indexOf', [1, 2]],
  ['match', [1, 1]],
  ['toUpperCase', [0, 0]],
  ['toLowerCase', [0, 0]],
  ['trim', [0, 0]],
] as const);

/** Member names that lead out of plain data towards constructors and prototypes. */
export const FORBIDDEN_MEMBERS: ReadonlySet<string> = new Set([
  '__proto__',
  'prototype',
  'constructor',
]);

const SUPPORTED_CALLS = `_() and the methods ${[...METHODS.keys()].join(', ')}`;

/** Checks a parsed rule against the whitelist; returns every problem found. */
export function checkExpression(
  root: Node,
  context: CheckContext,
): { errors: ExpressionError[]; usage: RuleUsage } {
  const errors: ExpressionError[] = [];
  const usage: RuleUsage = { data: false, oldData: false, now: false, crossReference: false };
  const support = dataSupport(context.section, context.type);
  const report = (
    code: ExpressionError['code'],
    message: string,
    node: { start: number; end: number },
  ) => errors.push(new ExpressionError(code, message, node.start, node.end));

  const visitIdentifier = (name: string, node: Node): void => {
    if (name.startsWith('$')) {
      if (!context.variables.has(name)) {
        const known = [...context.variables.keys()];
        const hint = known.length > 0 ? `; the pattern defines ${known.join(', ')}` : '';
        report(
          'EXPR_UNKNOWN_VARIABLE',
          `variable ${name} is not defined by the pattern${hint}`,
          node,
        );
      }
      return;
    }
    if (name === '_') {
      report('EXPR_UNKNOWN_IDENTIFIER', "_ can only be called, as in _('record-name')", node);
      return;
    }
    if (!GLOBAL_IDENTIFIERS.has(name)) {
      report(
        'EXPR_UNKNOWN_IDENTIFIER',
        `'${name}' is not available in rules; use user, data, oldData, now, action, name, _() or the pattern's $variables`,
        node,
      );
      return;
    }
    if (name === 'data') {
      usage.data = true;
      if (!support.data) {
        report(
          'EXPR_DATA_NOT_AVAILABLE',
          `rule ${context.type} for ${context.section} does not support data`,
          node,
        );
      }
    } else if (name === 'oldData') {
      usage.oldData = true;
      if (!support.oldData) {
        report(
          'EXPR_OLD_DATA_NOT_AVAILABLE',
          `rule ${context.type} for ${context.section} does not support oldData`,
          node,
        );
      }
    } else if (name === 'now') usage.now = true;
  };

  const visitMember = (node: MemberNode): void => {
    const key =
      typeof node.property === 'string'
        ? node.property
        : node.property.kind === 'literal' && typeof node.property.value === 'string'
          ? node.property.value
          : undefined;
    if (key !== undefined && FORBIDDEN_MEMBERS.has(key)) {
      report('EXPR_FORBIDDEN_MEMBER', `'${key}' cannot be read in rules`, {
        start: node.propertyStart,
        end: node.end,
      });
    }
  };

  const visitCall = (node: CallNode): void => {
    const callee = node.callee;
    if (callee.kind === 'identifier' && callee.name === '_') {
      usage.crossReference = true;
      if (node.args.length !== 1) {
        report('EXPR_ARGUMENT_COUNT', '_() takes exactly one record name', node);
      }
      return;
    }
    if (callee.kind === 'member' && typeof callee.property === 'string') {
      const arity = METHODS.get(callee.property);
      if (arity !== undefined) {
        const [min, max] = arity;
        if (node.args.length < min || node.args.length > max) {
          const expected = min === max ? `${min}` : `${min} or ${max}`;
          report(
            'EXPR_ARGUMENT_COUNT',
            `${callee.property}() takes ${expected} argument${max === 1 ? '' : 's'}`,
            node,
          );
        }
        return;
      }
      report(
        'EXPR_UNKNOWN_FUNCTION',
        `function ${callee.property} is not supported; rules may call ${SUPPORTED_CALLS}`,
        { start: callee.propertyStart, end: node.end },
      );
      return;
    }
    const what =
      callee.kind === 'identifier'
        ? `function ${callee.name} is not supported`
        : callee.kind === 'member'
          ? 'methods must be called by name, as in x.toLowerCase(), not through [ ]'
          : 'only functions can be called, and only by name';
    report('EXPR_UNKNOWN_FUNCTION', `${what}; rules may call ${SUPPORTED_CALLS}`, node);
  };

  const visit = (node: Node, regexAllowed: boolean): void => {
    switch (node.kind) {
      case 'literal':
        return;
      case 'regex': {
        if (!regexAllowed) {
          report(
            'EXPR_REGEX_PLACEMENT',
            'a regular expression literal may only be the argument of match()',
            node,
          );
        }
        const compiled = compileRegex(node.pattern, node.flags);
        if (!compiled.ok) report('EXPR_REGEX_INVALID', compiled.message, node);
        return;
      }
      case 'identifier':
        visitIdentifier(node.name, node);
        return;
      case 'member':
        visitMember(node);
        visit(node.object, false);
        if (typeof node.property !== 'string') visit(node.property, false);
        return;
      case 'call': {
        visitCall(node);
        const isMatch = node.callee.kind === 'member' && node.callee.property === 'match';
        // The callee of `_()` is the bare `_`, which only makes sense called.
        if (node.callee.kind !== 'identifier' || node.callee.name !== '_') {
          visit(node.callee.kind === 'member' ? node.callee.object : node.callee, false);
          if (node.callee.kind === 'member' && typeof node.callee.property !== 'string') {
            visit(node.callee.property, false);
          }
        }
        node.args.forEach((arg, i) => {
          visit(arg, isMatch && i === 0);
        });
        return;
      }
      case 'chain':
        visit(node.expression, false);
        return;
      case 'unary':
        visit(node.argument, false);
        return;
      case 'array':
        for (const element of node.elements) visit(element, false);
        return;
      case 'binary':
      case 'logical':
        visit(node.left, false);
        visit(node.right, false);
        return;
      case 'conditional':
        visit(node.test, false);
        visit(node.consequent, false);
        visit(node.alternate, false);
        return;
    }
  };
  visit(root, false);
  return { errors, usage };
}
