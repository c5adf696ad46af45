import type { MemberNode, Node } from './ast.js';
import { type CompiledExpression, type RuntimeContext, readMember } from './runtime.js';

// Closures for the commonest rule shapes, so that `user.id`, `data.a.b` or
// `typeof data.x === 'string'` cost one closure call instead of one per node.
// Only for untraced rules: a trace wants the value of every node.

type Fn = CompiledExpression;

function readPath(value: unknown, keys: readonly string[]): unknown {
  let current = value;
  for (let i = 0; i < keys.length; i++) current = readMember(current, keys[i]!);
  return current;
}

/** `ident.a.b...` with static keys and no `?.`: the identifier and the keys, or undefined. */
function staticPath(node: MemberNode): { root: string; keys: string[] } | undefined {
  const keys: string[] = [];
  let current: Node = node;
  while (current.kind === 'member') {
    if (typeof current.property !== 'string' || current.optional) return undefined;
    keys.unshift(current.property);
    current = current.object;
  }
  return current.kind === 'identifier' ? { root: current.name, keys } : undefined;
}

type Root = (c: RuntimeContext) => unknown;

function byDepth(root: Root, keys: readonly string[]): Fn {
  const [k0, k1] = keys as [string, string | undefined];
  if (keys.length === 1) return (c) => readMember(root(c), k0);
  if (keys.length === 2 && k1 !== undefined) return (c) => readMember(readMember(root(c), k0), k1);
  return (c) => readPath(root(c), keys);
}

/** A closure reading a static member path off an identifier, or undefined for other shapes. */
export function pathRead(node: MemberNode, variables: ReadonlyMap<string, number>): Fn | undefined {
  const path = staticPath(node);
  if (path === undefined) return undefined;
  const { root, keys } = path;
  const [k0, k1] = keys as [string, string | undefined];
  const two = keys.length === 2 && k1 !== undefined;
  // The roots read most often get closures with the root read inlined.
  if (root === 'user') {
    if (keys.length === 1) return (c) => readMember(c.user, k0);
    if (two) return (c) => readMember(readMember(c.user, k0), k1);
    return (c) => readPath(c.user, keys);
  }
  if (root === 'data') {
    if (keys.length === 1) return (c) => readMember(c.dataReady ? c.data : c.resolveData(), k0);
    if (two) return (c) => readMember(readMember(c.dataReady ? c.data : c.resolveData(), k0), k1);
    return (c) => readPath(c.dataReady ? c.data : c.resolveData(), keys);
  }
  if (root === 'oldData') {
    return byDepth((c) => (c.oldDataReady ? c.oldData : c.resolveOldData()), keys);
  }
  if (root === 'name') return byDepth((c) => c.name, keys);
  const index = variables.get(root);
  if (index !== undefined) return byDepth((c) => c.vars[index], keys);
  return undefined;
}

/** `typeof x === 'type'` (either side, also `!==`, `==`, `!=`) as one closure. */
export function typeofComparison(
  operator: string,
  left: Node,
  right: Node,
  compile: (node: Node) => Fn,
): Fn | undefined {
  const equality = operator === '===' || operator === '==';
  if (!equality && operator !== '!==' && operator !== '!=') return undefined;
  const [unary, literal] = left.kind === 'unary' ? [left, right] : [right, left];
  if (unary.kind !== 'unary' || unary.operator !== 'typeof') return undefined;
  if (literal.kind !== 'literal' || typeof literal.value !== 'string') return undefined;
  const expected = literal.value;
  const argument = compile(unary.argument);
  return equality ? (c) => typeof argument(c) === expected : (c) => typeof argument(c) !== expected;
}
