import type { BinaryNode, CallNode, MemberNode, Node, UnaryNode } from './ast.js';
import { pathRead, typeofComparison } from './fast-paths.js';
import { compileRegex } from './regex.js';
import {
  add,
  type CompiledExpression,
  dynamicMatcher,
  hasMember,
  literalMatcher,
  METHOD_IMPLS,
  type RuntimeContext,
  readComputed,
  readMember,
} from './runtime.js';

// Compiles a checked AST once into nested closures. Each evaluation then only
// calls closures: no parsing, no lookups by name, and for the common shapes
// (comparisons against literals, plain member reads) no allocation.

export interface CompileOptions {
  readonly variables: ReadonlyMap<string, number>;
  /** The rule's text, for the sub-expressions a trace shows. */
  readonly source: string;
  /** Record every sub-expression's value through RuntimeContext.traceValue. */
  readonly traced: boolean;
}

type Fn = CompiledExpression;

/** Marks a `?.` link that found null or undefined; the enclosing chain turns it into undefined. */
const SHORT: unique symbol = Symbol('short-circuit');

export function compileExpression(root: Node, options: CompileOptions): CompiledExpression {
  return compile(root, options, false);
}

function compile(node: Node, o: CompileOptions, spine: boolean): Fn {
  const fn = compileNode(node, o, spine);
  if (!o.traced) return fn;
  const text = o.source.slice(node.start, node.end);
  return (c) => {
    const value = fn(c);
    c.traceValue(text, value === SHORT ? undefined : value);
    return value;
  };
}

function compileNode(node: Node, o: CompileOptions, spine: boolean): Fn {
  switch (node.kind) {
    case 'literal': {
      const value = node.value;
      return () => value;
    }
    case 'regex':
      // The checker allows regex literals only as match()'s argument, compiled there.
      throw new Error('regex literal outside match()');
    case 'array':
      return compileArray(node.elements, o);
    case 'identifier':
      return compileIdentifier(node.name, o);
    case 'member':
      return compileMember(node, o, spine);
    case 'call':
      return compileCall(node, o, spine);
    case 'chain': {
      const inner = compile(node.expression, o, true);
      return (c) => {
        const value = inner(c);
        return value === SHORT ? undefined : value;
      };
    }
    case 'unary':
      return compileUnary(node, o);
    case 'binary':
      return compileBinary(node, o);
    case 'logical': {
      const left = compile(node.left, o, false);
      const right = compile(node.right, o, false);
      if (node.operator === '&&') return (c) => left(c) && right(c);
      if (node.operator === '||') return (c) => left(c) || right(c);
      return (c) => left(c) ?? right(c);
    }
    case 'conditional': {
      const test = compile(node.test, o, false);
      const yes = compile(node.consequent, o, false);
      const no = compile(node.alternate, o, false);
      return (c) => (test(c) ? yes(c) : no(c));
    }
  }
}

function compileArray(elements: readonly Node[], o: CompileOptions): Fn {
  if (!o.traced && elements.every((e) => e.kind === 'literal')) {
    // Nothing in a rule can change an array, but the value may leave through a result.
    const constant = Object.freeze(
      elements.map((e) => (e.kind === 'literal' ? e.value : undefined)),
    );
    return () => constant;
  }
  const fns = elements.map((e) => compile(e, o, false));
  return (c) => fns.map((fn) => fn(c));
}

function compileIdentifier(name: string, o: CompileOptions): Fn {
  switch (name) {
    case 'user':
      return (c) => c.user;
    case 'data':
      return (c) => (c.dataReady ? c.data : c.resolveData());
    case 'oldData':
      return (c) => (c.oldDataReady ? c.oldData : c.resolveOldData());
    case 'now':
      return (c) => c.now;
    case 'action':
      return (c) => c.action;
    case 'name':
      return (c) => c.name;
  }
  const index = o.variables.get(name);
  if (index === undefined) throw new Error(`unchecked identifier ${name}`);
  return (c) => c.vars[index];
}

function compileMember(node: MemberNode, o: CompileOptions, spine: boolean): Fn {
  const fast = o.traced || spine ? undefined : pathRead(node, o.variables);
  if (fast !== undefined) return fast;
  const object = compile(node.object, o, spine);
  if (typeof node.property === 'string') {
    const key = node.property;
    if (!spine) return (c) => readMember(object(c), key);
    const optional = node.optional;
    return (c) => {
      const value = object(c);
      if (value === SHORT || (optional && (value === null || value === undefined))) return SHORT;
      return readMember(value, key);
    };
  }
  const property = compile(node.property, o, false);
  if (!spine) return (c) => readComputed(object(c), property(c));
  const optional = node.optional;
  return (c) => {
    const value = object(c);
    if (value === SHORT || (optional && (value === null || value === undefined))) return SHORT;
    return readComputed(value, property(c));
  };
}

function compileCall(node: CallNode, o: CompileOptions, spine: boolean): Fn {
  const callee = node.callee;
  if (callee.kind === 'identifier') {
    const argument = compile(node.args[0]!, o, false);
    return (c) => c.crossReference(argument(c));
  }
  if (callee.kind !== 'member' || typeof callee.property !== 'string') {
    throw new Error('unchecked call');
  }
  const receiver = compile(callee.object, o, spine);
  const invoke = methodInvoker(callee.property, node.args, o);
  if (!spine) return (c) => invoke(receiver(c), c);
  const optional = callee.optional;
  return (c) => {
    const value = receiver(c);
    if (value === SHORT || (optional && (value === null || value === undefined))) return SHORT;
    return invoke(value, c);
  };
}

function methodInvoker(
  method: string,
  args: readonly Node[],
  o: CompileOptions,
): (receiver: unknown, c: RuntimeContext) => unknown {
  const first = args[0];
  if (method === 'match') {
    if (first?.kind === 'regex') {
      const compiled = compileRegex(first.pattern, first.flags);
      if (!compiled.ok) throw new Error('unchecked regex');
      const match = literalMatcher(compiled.regex);
      return (receiver) => match(receiver);
    }
    const pattern = compile(first!, o, false);
    const match = dynamicMatcher();
    return (receiver, c) => match(receiver, pattern(c));
  }
  const impl = METHOD_IMPLS[method];
  if (impl === undefined) throw new Error(`unchecked method ${method}`);
  const a = first === undefined ? undefined : compile(first, o, false);
  const second = args[1];
  const b = second === undefined ? undefined : compile(second, o, false);
  if (a === undefined) return (receiver) => impl(receiver, undefined, undefined);
  if (b === undefined) return (receiver, c) => impl(receiver, a(c), undefined);
  return (receiver, c) => impl(receiver, a(c), b(c));
}

function compileUnary(node: UnaryNode, o: CompileOptions): Fn {
  const argument = compile(node.argument, o, false);
  // The `as number` casts only quiet the type checker; JS operator semantics apply.
  switch (node.operator) {
    case '!':
      return (c) => !argument(c);
    case '-':
      return (c) => -(argument(c) as number);
    case '+':
      return (c) => +(argument(c) as number);
    case '~':
      return (c) => ~(argument(c) as number);
    case 'typeof':
      return (c) => typeof argument(c);
  }
}

/** `action === 'UPDATE'`: rules written for deepstream v3 compare against the action's name. */
function actionNameComparison(node: BinaryNode): Fn | undefined {
  const equality = node.operator === '===' || node.operator === '==';
  if (!equality && node.operator !== '!==' && node.operator !== '!=') return undefined;
  const isAction = (n: Node): boolean => n.kind === 'identifier' && n.name === 'action';
  const literal = isAction(node.left) ? node.right : isAction(node.right) ? node.left : undefined;
  if (literal?.kind !== 'literal' || typeof literal.value !== 'string') return undefined;
  const expected = literal.value;
  return equality ? (c) => c.actionName === expected : (c) => c.actionName !== expected;
}

function compileBinary(node: BinaryNode, o: CompileOptions): Fn {
  const byName = actionNameComparison(node);
  if (byName !== undefined) return byName;
  if (!o.traced) {
    const byType = typeofComparison(node.operator, node.left, node.right, (n) =>
      compile(n, o, false),
    );
    if (byType !== undefined) return byType;
  }
  const l = compile(node.left, o, false);
  const r = compile(node.right, o, false);
  const right = node.right;
  if (right.kind === 'literal' && !o.traced) {
    // Comparisons against a literal are the most common rule shape; skip one call.
    const v = right.value;
    switch (node.operator) {
      case '===':
        return (c) => l(c) === v;
      case '!==':
        return (c) => l(c) !== v;
      case '>':
        return (c) => (l(c) as number) > (v as number);
      case '<':
        return (c) => (l(c) as number) < (v as number);
    }
  }
  // The `as number` casts only quiet the type checker; JS operator semantics apply.
  switch (node.operator) {
    case '+':
      return (c) => add(l(c), r(c));
    case '-':
      return (c) => (l(c) as number) - (r(c) as number);
    case '*':
      return (c) => (l(c) as number) * (r(c) as number);
    case '/':
      return (c) => (l(c) as number) / (r(c) as number);
    case '%':
      return (c) => (l(c) as number) % (r(c) as number);
    case '**':
      return (c) => (l(c) as number) ** (r(c) as number);
    case '===':
      return (c) => l(c) === r(c);
    case '!==':
      return (c) => l(c) !== r(c);
    case '==':
      // biome-ignore lint/suspicious/noDoubleEquals: rules keep JS loose equality.
      return (c) => l(c) == r(c);
    case '!=':
      // biome-ignore lint/suspicious/noDoubleEquals: rules keep JS loose equality.
      return (c) => l(c) != r(c);
    case '<':
      return (c) => (l(c) as number) < (r(c) as number);
    case '<=':
      return (c) => (l(c) as number) <= (r(c) as number);
    case '>':
      return (c) => (l(c) as number) > (r(c) as number);
    case '>=':
      return (c) => (l(c) as number) >= (r(c) as number);
    case 'in':
      return (c) => hasMember(l(c), r(c));
    case '&':
      return (c) => (l(c) as number) & (r(c) as number);
    case '|':
      return (c) => (l(c) as number) | (r(c) as number);
    case '^':
      return (c) => (l(c) as number) ^ (r(c) as number);
    case '<<':
      return (c) => (l(c) as number) << (r(c) as number);
    case '>>':
      return (c) => (l(c) as number) >> (r(c) as number);
    case '>>>':
      return (c) => (l(c) as number) >>> (r(c) as number);
  }
}
