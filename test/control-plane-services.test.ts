import { basename } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { at, type Source, sources } from './source-scan.ts';

// In the control plane, services own every Prisma call (issue 16 item 5):
// a route module parses, authorizes, calls its service and shapes the reply.
// The rule, checked in every file under apps/control-plane/src/routes and
// apps/control-plane/src/plugins (whose hooks run on every request):
//
//   a file that is not a service (named `service.ts`, `*-service.ts` or
//   `*.service.ts`) makes no Prisma call.
//
// lib/ is not checked: its audit.ts and app-changes.ts write the audit row
// and the app_changes outbox row inside the services' transactions.
//
// A Prisma call is read from the code, not from comments or strings: a
// member of something named `prisma` (`prisma.app`, `this.#prisma.apiKey`,
// `context.db.prisma.session`) or `tx` (a transaction's client), or a
// `$`-member of anything (`$transaction`, `$queryRaw`, `$executeRaw`).
// Handing the client to a service (`listKeys(context.db.prisma, id)`) is
// not a call.

const ROUTES = 'apps/control-plane/src/routes/';
const PLUGINS = 'apps/control-plane/src/plugins/';

/** Whether a file (path relative to the root, with /) is a service by its name. */
function isService(path: string): boolean {
  const name = basename(path);
  return name === 'service.ts' || name.endsWith('-service.ts') || name.endsWith('.service.ts');
}

const CLIENT_NAMES = new Set(['prisma', '#prisma', 'tx']);

/** The name an expression is known by: `prisma` for `prisma`, `this.#prisma` and `a.b.prisma`. */
function nameOf(node: ts.Expression): string | undefined {
  if (ts.isIdentifier(node)) return node.text;
  if (ts.isPropertyAccessExpression(node)) return node.name.text;
  if (ts.isNonNullExpression(node) || ts.isParenthesizedExpression(node)) {
    return nameOf(node.expression);
  }
  return undefined;
}

/** Whether `node` is a Prisma call by the rule above. */
function isPrismaCall(node: ts.Node): node is ts.PropertyAccessExpression {
  if (!ts.isPropertyAccessExpression(node)) return false;
  if (node.name.text.startsWith('$')) return true;
  const object = nameOf(node.expression);
  return object !== undefined && CLIENT_NAMES.has(object);
}

/** `file:line: text` of every Prisma call in `source`. */
function prismaCallsIn(source: Source): string[] {
  const found: string[] = [];
  const walk = (node: ts.Node) => {
    if (isPrismaCall(node)) found.push(`${at(node, source)}: ${node.getText(source.ast)}`);
    ts.forEachChild(node, walk);
  };
  walk(source.ast);
  return found;
}

const parse = (path: string, text: string): Source => ({
  path,
  ast: ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true),
});

describe('control plane: services own every Prisma call', () => {
  it('tells a service by its name', () => {
    expect(isService(`${ROUTES}apps/service.ts`)).toBe(true);
    expect(isService(`${ROUTES}accounts/token-service.ts`)).toBe(true);
    expect(isService(`${ROUTES}keys/keys.service.ts`)).toBe(true);
    expect(isService(`${ROUTES}apps/routes.ts`)).toBe(false);
    expect(isService(`${ROUTES}orgs/invitations.ts`)).toBe(false);
    expect(isService(`${ROUTES}records/services.ts`)).toBe(false);
  });

  it('finds the calls, however the client is reached, and only calls', () => {
    const calls = prismaCallsIn(
      parse(
        'x.ts',
        [
          'const { prisma } = context.db;',
          'await prisma.membership.findMany({});',
          'await this.#prisma.apiKey.create({});',
          'await context.db.prisma.session.findUnique({});',
          'await db.$transaction(async (tx) => tx.app.delete({}));',
          'await client!.$queryRaw`SELECT 1`;',
          '// prisma.app.findMany in a comment',
          "const text = 'prisma.app';",
          'await listKeys(context.db.prisma, appId);',
          'await requireDeveloper(prisma, request);',
        ].join('\n'),
      ),
    );
    expect(calls).toEqual([
      'x.ts:2: prisma.membership',
      'x.ts:3: this.#prisma.apiKey',
      'x.ts:4: context.db.prisma.session',
      'x.ts:5: db.$transaction',
      'x.ts:5: tx.app',
      'x.ts:6: client!.$queryRaw',
    ]);
  });

  it('sees the route modules and their services', () => {
    const paths = routeSources().map((source) => source.path);
    expect(paths.filter((path) => !isService(path)).length).toBeGreaterThan(10);
    expect(paths).toContain(`${ROUTES}orgs/service.ts`);
    expect(paths).toContain(`${PLUGINS}auth.ts`);
    // The services do make calls, so the check would see one in a route module.
    const inServices = routeSources()
      .filter((source) => isService(source.path))
      .flatMap(prismaCallsIn);
    expect(inServices.length).toBeGreaterThan(20);
  });

  it('no route module or plugin of the control plane calls Prisma: its service does', () => {
    const found = routeSources()
      .filter((source) => !isService(source.path))
      .flatMap(prismaCallsIn);
    expect(found).toEqual([]);
  });
});

/** Every source file under apps/control-plane/src/routes and src/plugins, parsed. */
const routeSources = () =>
  sources().filter((source) => source.path.startsWith(ROUTES) || source.path.startsWith(PLUGINS));
