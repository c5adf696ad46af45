// The expression AST. Offsets are into the rule's expression text; the file
// layer maps them to lines and columns.

interface Base {
  readonly start: number;
  readonly end: number;
  /** 1 for a leaf; bounded by MAX_AST_DEPTH. */
  readonly depth: number;
  /** Written in parentheses, which matters for mixing `??` with `&&`/`||`. */
  parenthesized: boolean;
}

export type LiteralValue = string | number | boolean | null | undefined;

export interface LiteralNode extends Base {
  readonly kind: 'literal';
  readonly value: LiteralValue;
}

export interface RegexNode extends Base {
  readonly kind: 'regex';
  readonly pattern: string;
  readonly flags: string;
}

export interface ArrayNode extends Base {
  readonly kind: 'array';
  readonly elements: readonly Node[];
}

export interface IdentifierNode extends Base {
  readonly kind: 'identifier';
  readonly name: string;
}

export interface MemberNode extends Base {
  readonly kind: 'member';
  readonly object: Node;
  /** A name for `.x`, a node for `[expr]`. */
  readonly property: string | Node;
  readonly propertyStart: number;
  readonly optional: boolean;
}

export interface CallNode extends Base {
  readonly kind: 'call';
  readonly callee: Node;
  readonly args: readonly Node[];
}

/** Wraps a member/call chain that contains `?.`, where a nullish link ends the chain. */
export interface ChainNode extends Base {
  readonly kind: 'chain';
  readonly expression: Node;
}

export type UnaryOperator = '!' | '-' | '+' | '~' | 'typeof';

export interface UnaryNode extends Base {
  readonly kind: 'unary';
  readonly operator: UnaryOperator;
  readonly argument: Node;
}

export type BinaryOperator =
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '**'
  | '=='
  | '!='
  | '==='
  | '!=='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'in'
  | '&'
  | '|'
  | '^'
  | '<<'
  | '>>'
  | '>>>';

export interface BinaryNode extends Base {
  readonly kind: 'binary';
  readonly operator: BinaryOperator;
  readonly left: Node;
  readonly right: Node;
}

export type LogicalOperator = '&&' | '||' | '??';

export interface LogicalNode extends Base {
  readonly kind: 'logical';
  readonly operator: LogicalOperator;
  readonly left: Node;
  readonly right: Node;
}

export interface ConditionalNode extends Base {
  readonly kind: 'conditional';
  readonly test: Node;
  readonly consequent: Node;
  readonly alternate: Node;
}

export type Node =
  | LiteralNode
  | RegexNode
  | ArrayNode
  | IdentifierNode
  | MemberNode
  | CallNode
  | ChainNode
  | UnaryNode
  | BinaryNode
  | LogicalNode
  | ConditionalNode;

/** The direct children of a node, for walks that do not care about the kind. */
export function children(node: Node): readonly Node[] {
  switch (node.kind) {
    case 'literal':
    case 'regex':
    case 'identifier':
      return [];
    case 'array':
      return node.elements;
    case 'member':
      return typeof node.property === 'string' ? [node.object] : [node.object, node.property];
    case 'call':
      return [node.callee, ...node.args];
    case 'chain':
      return [node.expression];
    case 'unary':
      return [node.argument];
    case 'binary':
    case 'logical':
      return [node.left, node.right];
    case 'conditional':
      return [node.test, node.consequent, node.alternate];
  }
}
