import { type CheckErrorCode, ExpressionError } from '../errors.js';
import { MAX_AST_DEPTH, MAX_AST_NODES } from '../limits.js';
import type { BinaryOperator, LogicalOperator, Node, UnaryOperator } from './ast.js';
import { ASSIGNMENT_OPERATORS, LITERAL_NAMES, PRECEDENCE, STATEMENT_KEYWORDS } from './grammar.js';
import { type Token, tokenize } from './lexer.js';

type NodeInit = Omit<Node, 'depth' | 'parenthesized'>;

/** Parses one rule expression into an AST; throws ExpressionError with offsets on the first problem. */
export function parseExpression(source: string): Node {
  return new Parser(tokenize(source)).parseRule();
}

class Parser {
  private pos = 0;
  private nodeCount = 0;
  private nesting = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parseRule(): Node {
    const expression = this.parseAssignmentLevel();
    const t = this.peek();
    if (t.kind === 'punct' && t.text === ',') {
      this.fail('EXPR_COMMA', 'the comma operator is not allowed in rules', t);
    }
    if (t.kind === 'punct' && t.text === ';') {
      this.fail('EXPR_STATEMENT', 'a rule is a single expression; `;` is not allowed', t);
    }
    if (t.kind !== 'eof') this.fail('EXPR_SYNTAX', `unexpected ${describe(t)}`, t);
    return expression;
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (this.pos < this.tokens.length - 1) this.pos++;
    return t;
  }

  private isPunct(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'punct' && t.text === text;
  }

  private expect(text: string): Token {
    const t = this.next();
    if (t.kind !== 'punct' || t.text !== text) {
      this.fail('EXPR_SYNTAX', `expected '${text}' but found ${describe(t)}`, t);
    }
    return t;
  }

  private fail(code: CheckErrorCode, message: string, at: Token | Node): never {
    throw new ExpressionError(code, message, at.start, Math.max(at.end, at.start + 1));
  }

  private make<T extends NodeInit>(init: T, parts: readonly Node[]): T & Node {
    this.nodeCount++;
    let depth = 1;
    for (const part of parts) depth = Math.max(depth, part.depth + 1);
    const node = { ...init, depth, parenthesized: false } as unknown as T & Node;
    if (this.nodeCount > MAX_AST_NODES) {
      this.fail('EXPR_TOO_COMPLEX', `a rule may have at most ${MAX_AST_NODES} parts`, node);
    }
    if (depth > MAX_AST_DEPTH) {
      this.fail('EXPR_TOO_DEEP', `a rule may nest at most ${MAX_AST_DEPTH} levels deep`, node);
    }
    return node;
  }

  /** An expression where assignment would be legal in JS; we reject it here. */
  private parseAssignmentLevel(): Node {
    this.nesting++;
    if (this.nesting > MAX_AST_DEPTH) {
      this.fail(
        'EXPR_TOO_DEEP',
        `a rule may nest at most ${MAX_AST_DEPTH} levels deep`,
        this.peek(),
      );
    }
    const expression = this.parseConditional();
    const t = this.peek();
    if (t.kind === 'punct' && ASSIGNMENT_OPERATORS.has(t.text)) {
      this.fail('EXPR_ASSIGNMENT', `assignment (${t.text}) is not allowed in rules`, t);
    }
    if (t.kind === 'punct' && t.text === '=>') {
      this.fail('EXPR_FUNCTION', 'functions are not allowed in rules', t);
    }
    this.nesting--;
    return expression;
  }

  private parseConditional(): Node {
    const test = this.parseBinary(1);
    if (!this.isPunct('?')) return test;
    this.next();
    const consequent = this.parseAssignmentLevel();
    this.expect(':');
    const alternate = this.parseAssignmentLevel();
    return this.make(
      { kind: 'conditional', test, consequent, alternate, start: test.start, end: alternate.end },
      [test, consequent, alternate],
    );
  }

  private binaryOperator(): string | undefined {
    const t = this.peek();
    if (t.kind === 'punct' || (t.kind === 'name' && (t.text === 'in' || t.text === 'instanceof'))) {
      return t.text in PRECEDENCE ? t.text : undefined;
    }
    return undefined;
  }

  private parseBinary(minPrecedence: number): Node {
    let left = this.parseUnary();
    for (;;) {
      const operator = this.binaryOperator();
      if (operator === undefined) return left;
      const precedence = PRECEDENCE[operator]!;
      if (precedence < minPrecedence) return left;
      const opToken = this.next();
      if (operator === 'instanceof') {
        this.fail('EXPR_FORBIDDEN_OPERATOR', 'instanceof is not allowed in rules', opToken);
      }
      if (operator === '**' && left.kind === 'unary' && !left.parenthesized) {
        this.fail('EXPR_SYNTAX', 'wrap the unary operand of ** in parentheses', opToken);
      }
      // ** is right-associative; everything else binds left.
      const right = this.parseBinary(operator === '**' ? precedence : precedence + 1);
      left = this.combine(operator, left, right, opToken);
    }
  }

  private combine(operator: string, left: Node, right: Node, opToken: Token): Node {
    const span = { start: left.start, end: right.end };
    if (operator === '&&' || operator === '||' || operator === '??') {
      const mixes = (n: Node): boolean =>
        n.kind === 'logical' && !n.parenthesized && (operator === '??') !== (n.operator === '??');
      if (mixes(left) || mixes(right)) {
        this.fail('EXPR_SYNTAX', 'use parentheses to mix ?? with && or ||', opToken);
      }
      return this.make(
        { kind: 'logical', operator: operator as LogicalOperator, left, right, ...span },
        [left, right],
      );
    }
    return this.make(
      { kind: 'binary', operator: operator as BinaryOperator, left, right, ...span },
      [left, right],
    );
  }

  private parseUnary(): Node {
    const t = this.peek();
    const isUnaryPunct = t.kind === 'punct' && ['!', '-', '+', '~'].includes(t.text);
    if (isUnaryPunct || (t.kind === 'name' && t.text === 'typeof')) {
      this.next();
      this.nesting++;
      if (this.nesting > MAX_AST_DEPTH) {
        this.fail('EXPR_TOO_DEEP', `a rule may nest at most ${MAX_AST_DEPTH} levels deep`, t);
      }
      const argument = this.parseUnary();
      this.nesting--;
      return this.make(
        {
          kind: 'unary',
          operator: t.text as UnaryOperator,
          argument,
          start: t.start,
          end: argument.end,
        },
        [argument],
      );
    }
    if (t.kind === 'punct' && (t.text === '++' || t.text === '--')) {
      this.fail('EXPR_ASSIGNMENT', `${t.text} changes a value and is not allowed in rules`, t);
    }
    if (t.kind === 'name' && (t.text === 'delete' || t.text === 'void')) {
      this.fail('EXPR_FORBIDDEN_OPERATOR', `${t.text} is not allowed in rules`, t);
    }
    if (t.kind === 'punct' && t.text === '...') {
      this.fail('EXPR_FORBIDDEN_OPERATOR', 'spread (...) is not allowed in rules', t);
    }
    return this.parsePostfix();
  }

  private parsePostfix(): Node {
    let expression = this.parsePrimary();
    let optionalChain = false;
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'punct') break;
      if (t.text === '.' || t.text === '?.') {
        this.next();
        const optional = t.text === '?.';
        optionalChain ||= optional;
        if (optional && this.isPunct('(')) {
          this.fail('EXPR_UNKNOWN_FUNCTION', 'optional calls (?.()) are not allowed in rules', t);
        }
        if (optional && this.isPunct('[')) {
          expression = this.parseComputedMember(expression, true);
          continue;
        }
        const nameToken = this.next();
        if (nameToken.kind !== 'name') {
          this.fail(
            'EXPR_SYNTAX',
            `expected a property name but found ${describe(nameToken)}`,
            nameToken,
          );
        }
        expression = this.make(
          {
            kind: 'member',
            object: expression,
            property: nameToken.text,
            propertyStart: nameToken.start,
            optional,
            start: expression.start,
            end: nameToken.end,
          },
          [expression],
        );
      } else if (t.text === '[') {
        expression = this.parseComputedMember(expression, false);
      } else if (t.text === '(') {
        expression = this.parseCall(expression);
      } else break;
    }
    const after = this.peek();
    if (after.kind === 'punct' && (after.text === '++' || after.text === '--')) {
      this.fail(
        'EXPR_ASSIGNMENT',
        `${after.text} changes a value and is not allowed in rules`,
        after,
      );
    }
    if (!optionalChain) return expression;
    return this.make({ kind: 'chain', expression, start: expression.start, end: expression.end }, [
      expression,
    ]);
  }

  private parseComputedMember(object: Node, optional: boolean): Node {
    const open = this.expect('[');
    const property = this.parseAssignmentLevel();
    if (this.isPunct(',')) {
      this.fail('EXPR_COMMA', 'the comma operator is not allowed in rules', this.peek());
    }
    const close = this.expect(']');
    return this.make(
      {
        kind: 'member',
        object,
        property,
        propertyStart: open.start,
        optional,
        start: object.start,
        end: close.end,
      },
      [object, property],
    );
  }

  private parseCall(callee: Node): Node {
    this.expect('(');
    const args = this.parseList(')');
    const close = this.expect(')');
    return this.make({ kind: 'call', callee, args, start: callee.start, end: close.end }, [
      callee,
      ...args,
    ]);
  }

  /** Comma-separated expressions up to `close`; a trailing comma is allowed, holes are not. */
  private parseList(close: string): Node[] {
    const items: Node[] = [];
    while (!this.isPunct(close)) {
      const t = this.peek();
      if (t.kind === 'punct' && t.text === ',') {
        this.fail('EXPR_SYNTAX', 'empty list elements are not allowed', t);
      }
      if (t.kind === 'punct' && t.text === '...') {
        this.fail('EXPR_FORBIDDEN_OPERATOR', 'spread (...) is not allowed in rules', t);
      }
      items.push(this.parseAssignmentLevel());
      if (!this.isPunct(',')) break;
      this.next();
    }
    return items;
  }

  private parsePrimary(): Node {
    const t = this.peek();
    switch (t.kind) {
      case 'number':
        this.next();
        return this.make({ kind: 'literal', value: t.number, start: t.start, end: t.end }, []);
      case 'string':
        this.next();
        return this.make({ kind: 'literal', value: t.text, start: t.start, end: t.end }, []);
      case 'regex':
        this.next();
        return this.make(
          { kind: 'regex', pattern: t.text, flags: t.flags, start: t.start, end: t.end },
          [],
        );
      case 'name':
        return this.parseName(t);
      case 'eof':
        return this.fail('EXPR_SYNTAX', 'unexpected end of rule', t);
      case 'punct':
        return this.parsePunctPrimary(t);
    }
  }

  private parsePunctPrimary(t: Token): Node {
    if (t.text === '(') {
      if (this.arrowFollowsParen())
        this.fail('EXPR_FUNCTION', 'functions are not allowed in rules', t);
      this.next();
      const inner = this.parseAssignmentLevel();
      if (this.isPunct(',')) {
        this.fail('EXPR_COMMA', 'the comma operator is not allowed in rules', this.peek());
      }
      this.expect(')');
      inner.parenthesized = true;
      return inner;
    }
    if (t.text === '[') {
      this.next();
      const elements = this.parseList(']');
      const close = this.expect(']');
      return this.make({ kind: 'array', elements, start: t.start, end: close.end }, elements);
    }
    if (t.text === '{') {
      this.fail('EXPR_SYNTAX', 'object literals and blocks are not allowed in rules', t);
    }
    return this.fail('EXPR_SYNTAX', `unexpected ${describe(t)}`, t);
  }

  private parseName(t: Token): Node {
    const name = t.text;
    if (LITERAL_NAMES.has(name)) {
      this.next();
      return this.make(
        { kind: 'literal', value: LITERAL_NAMES.get(name), start: t.start, end: t.end },
        [],
      );
    }
    if (name === 'new') this.fail('EXPR_NEW', 'new is not allowed in rules', t);
    if (name === 'function' || name === 'class') {
      this.fail('EXPR_FUNCTION', `${name} definitions are not allowed in rules`, t);
    }
    const following = this.peek(1);
    if (following.kind === 'punct' && following.text === '=>') {
      this.fail('EXPR_FUNCTION', 'functions are not allowed in rules', t);
    }
    if (name === 'async' && (following.kind === 'name' || this.isPunct('(', 1))) {
      this.fail('EXPR_FUNCTION', 'functions are not allowed in rules', t);
    }
    if (STATEMENT_KEYWORDS.has(name)) {
      this.fail('EXPR_STATEMENT', `a rule is a single expression; '${name}' is not allowed`, t);
    }
    if (name === 'in' || name === 'instanceof' || name === 'typeof') {
      this.fail('EXPR_SYNTAX', `unexpected '${name}'`, t);
    }
    this.next();
    return this.make({ kind: 'identifier', name, start: t.start, end: t.end }, []);
  }

  /** True when the `(` at the cursor opens an arrow function's parameter list. */
  private arrowFollowsParen(): boolean {
    let depth = 0;
    for (let i = this.pos; i < this.tokens.length; i++) {
      const t = this.tokens[i]!;
      if (t.kind !== 'punct') continue;
      if (t.text === '(') depth++;
      else if (t.text === ')' && --depth === 0) {
        const after = this.tokens[i + 1];
        return after?.kind === 'punct' && after.text === '=>';
      }
    }
    return false;
  }
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of rule';
  if (t.kind === 'string') return 'string';
  if (t.kind === 'number') return `number ${t.text}`;
  if (t.kind === 'regex') return 'regular expression';
  return `'${t.text}'`;
}
