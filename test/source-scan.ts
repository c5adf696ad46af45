import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import ts from 'typescript';
import { workspaceSources } from './import-graph.ts';

// What the drift tests of ERROR_CODES.md and METRICS.md read from the code:
// the workspace's sources (apps/*/src, packages/*/src) parsed with the
// TypeScript compiler, so a code or a metric is found by what the code does
// (a property, a call, a constant), wherever the file that does it lives,
// and never from a comment.

export const ROOT = resolve(import.meta.dirname, '..');

export type Source = { path: string; ast: ts.SourceFile };

let cached: Source[] | undefined;

/** Every source file, parsed; `path` relative to the repository root. */
export function sources(): Source[] {
  cached ??= workspaceSources().map((file) => ({
    path: relative(ROOT, file),
    ast: ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true),
  }));
  return cached;
}

/** Calls `visit` on every node of every source (or of those `where` keeps). */
export function eachNode(
  visit: (node: ts.Node, source: Source) => void,
  where: (path: string) => boolean = () => true,
): void {
  for (const source of sources()) {
    if (!where(source.path)) continue;
    const walk = (node: ts.Node) => {
      visit(node, source);
      ts.forEachChild(node, walk);
    };
    walk(source.ast);
  }
}

/** `file:line` of a node, for failure messages. */
export function at(node: ts.Node, source: Source): string {
  const { line } = source.ast.getLineAndCharacterOfPosition(node.getStart(source.ast));
  return `${source.path}:${line + 1}`;
}

/** A property's name as written (`name`, `'name'`), or undefined when computed. */
export function propertyName(node: ts.PropertyAssignment | ts.ShorthandPropertyAssignment) {
  const name = node.name;
  return ts.isIdentifier(name) || ts.isStringLiteral(name) ? name.text : undefined;
}

/** The `name: value` of an object literal, or undefined. */
export function property(object: ts.ObjectLiteralExpression, name: string) {
  for (const p of object.properties) {
    if (ts.isPropertyAssignment(p) && propertyName(p) === name) return p.initializer;
  }
  return undefined;
}

/** `const NAME = <initializer>` declarations of the whole workspace, by name. */
export function constDeclarations(name: string): { init: ts.Expression; where: string }[] {
  const found: { init: ts.Expression; where: string }[] = [];
  eachNode((node, source) => {
    if (
      ts.isVariableDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      node.name.text === name &&
      node.initializer
    ) {
      found.push({ init: unwrap(node.initializer), where: at(node, source) });
    }
  });
  return found;
}

/** The expression inside `as const`, `satisfies T`, `as T` and parentheses. */
export function unwrap(node: ts.Expression): ts.Expression {
  while (
    ts.isAsExpression(node) ||
    ts.isSatisfiesExpression(node) ||
    ts.isParenthesizedExpression(node)
  ) {
    node = node.expression;
  }
  return node;
}

/** The one `const NAME = { ... }` object literal of the workspace. */
export function constObject(name: string): ts.ObjectLiteralExpression {
  const found = constDeclarations(name).filter(({ init }) => ts.isObjectLiteralExpression(init));
  if (found.length !== 1) {
    throw new Error(`expected one object literal named ${name}, found ${found.length}`);
  }
  return found[0]!.init as ts.ObjectLiteralExpression;
}

/** The entries of an object literal whose values are number literals (`{ A: 1 }`). */
export function numberEntries(object: ts.ObjectLiteralExpression): [string, number][] {
  return object.properties.map((p) => {
    if (!ts.isPropertyAssignment(p) || !ts.isNumericLiteral(unwrap(p.initializer))) {
      throw new Error(`not a number entry: ${p.getText()}`);
    }
    return [
      propertyName(p) ?? p.name.getText(),
      Number((unwrap(p.initializer) as ts.NumericLiteral).text),
    ];
  });
}

/**
 * The string values an expression can have: string literals, both branches
 * of a conditional, and identifiers that name a `const X = 'literal'`
 * somewhere in the workspace. Throws on anything else, so that a code the
 * test cannot read is a failure, not a code left out.
 */
export function stringValues(node: ts.Expression, where: string): string[] {
  node = unwrap(node);
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node.text];
  if (ts.isConditionalExpression(node)) {
    return [...stringValues(node.whenTrue, where), ...stringValues(node.whenFalse, where)];
  }
  if (ts.isIdentifier(node)) {
    const consts = constDeclarations(node.text).filter(
      ({ init }) => ts.isStringLiteral(init) || ts.isNoSubstitutionTemplateLiteral(init),
    );
    // One value, though a constant being moved between packages may exist twice for a while.
    const values = new Set(consts.flatMap(({ init, where }) => stringValues(init, where)));
    if (values.size === 1) return [...values];
  }
  throw new Error(`cannot tell the string value of \`${node.getText()}\` at ${where}`);
}

/**
 * The members of `type NAME = 'a' | 'b' | ...` among the sources `where`
 * keeps; a member naming another such type (`Reason | 'timeout'`) brings in
 * its members. Aliases of that name that are not unions of strings are left
 * alone, and those that are must agree (a type being moved from one package
 * to another exists twice for a while).
 */
export function unionMembers(name: string, where?: (path: string) => boolean): string[] {
  const found = new Map<string, string[]>();
  eachNode((node, source) => {
    if (!ts.isTypeAliasDeclaration(node) || node.name.text !== name) return;
    const members = stringUnion(node.type);
    if (members) found.set(at(node, source), members);
  }, where);
  const distinct = new Set([...found.values()].map((members) => [...members].sort().join('|')));
  if (distinct.size !== 1) {
    throw new Error(
      `expected one union of string literals named ${name}, found ${distinct.size}: ${[...found.keys()].join(', ')}`,
    );
  }
  return [...found.values()][0]!;
}

function stringUnion(type: ts.TypeNode): string[] | undefined {
  const members: string[] = [];
  for (const t of ts.isUnionTypeNode(type) ? type.types : [type]) {
    if (ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal)) members.push(t.literal.text);
    else if (ts.isTypeReferenceNode(t) && ts.isIdentifier(t.typeName) && !t.typeArguments) {
      try {
        members.push(...unionMembers(t.typeName.text));
      } catch {
        return undefined;
      }
    } else return undefined;
  }
  return members;
}

// ---------------------------------------------------------------- Markdown

/** The text of a `## heading` section (up to the next `## `), or fails. */
export function section(doc: string, heading: string): string {
  const start = doc.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`no "## ${heading}" section`);
  const rest = doc.slice(start + 1);
  const end = rest.indexOf('\n## ', 1);
  return end === -1 ? rest : rest.slice(0, end);
}

/**
 * The body rows of the Markdown tables in `text`, as trimmed cells (the
 * header row and the `---` row of each table left out).
 */
export function tableRows(text: string): string[][] {
  const rows: string[][] = [];
  let inTable = false;
  let header = true;
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    if (!inTable) {
      inTable = true;
      header = true;
    }
    const cells = line
      .slice(1, line.trimEnd().endsWith('|') ? line.trimEnd().length - 1 : undefined)
      .split('|')
      .map((c) => c.trim());
    if (header) {
      header = !cells.every((c) => /^:?-+:?$/.test(c));
      continue;
    }
    rows.push(cells);
  }
  return rows;
}

/** The `code spans` of a Markdown cell. */
export function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
}

export const readDoc = (name: string) => readFileSync(resolve(ROOT, name), 'utf8');
