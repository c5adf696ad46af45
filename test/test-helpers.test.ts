import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { walkFiles } from './walk-files.ts';

// One set of test helpers (issue 16 item 7): the polling wait, the free
// port and the HTTP caller live in packages/testing. A test file, a test
// helper or a bench that defines its own `until`, `waitFor`, `freePort`...
// fails here, so the copies that once were in five places cannot come back.
// A helper of that kind built on the shared `until` (records-helpers.ts'
// `becomes` waits on a client's record with it) is what the package is
// for, and passes. The benches use the package's Vitest-free entry, and
// `pnpm typecheck` checks test/ and every bench.

const ROOT = resolve(import.meta.dirname, '..');
const TESTING = 'packages/testing/';

/** Names of the helpers packages/testing owns: a definition elsewhere is a copy. */
const OWNED =
  /^(until|waitFor|waitUntil|eventually|poll|pollUntil|becomes|freePort|getPort|getFreePort|findFreePort)$/;

const SKIPPED = new Set(['node_modules', 'dist', 'generated', 'test-artifacts']);

const files = (dir: string, out: string[]) =>
  walkFiles(dir, { skip: SKIPPED, match: /\.tsx?$/, skipDotted: true }, out);

/** Test code: every package's and app's test/, the repository's test/, and the benches. */
function testSources(): string[] {
  const found: string[] = [];
  for (const group of ['apps', 'packages']) {
    for (const entry of readdirSync(join(ROOT, group), { withFileTypes: true })) {
      if (entry.isDirectory()) files(join(ROOT, group, entry.name, 'test'), found);
    }
  }
  files(join(ROOT, 'test'), found);
  files(join(ROOT, 'bench'), found);
  return found.map((file) => relative(ROOT, file)).sort();
}

/** Whether `node` calls the shared `until` (or `holdsWithin`) somewhere inside. */
function callsShared(node: ts.Node): boolean {
  let found = false;
  const walk = (n: ts.Node) => {
    if (
      ts.isCallExpression(n) &&
      ts.isIdentifier(n.expression) &&
      ['until', 'holdsWithin'].includes(n.expression.text)
    ) {
      found = true;
    }
    if (!found) ts.forEachChild(n, walk);
  };
  walk(node);
  return found;
}

/** `path:line name` of each helper of an owned name that `source` defines without the shared poll. */
function ownHelpers(ast: ts.SourceFile): string[] {
  const path = ast.fileName;
  const found: string[] = [];
  const report = (name: ts.Node, body: ts.Node) => {
    if (!ts.isIdentifier(name) || !OWNED.test(name.text) || callsShared(body)) return;
    const { line } = ast.getLineAndCharacterOfPosition(name.getStart(ast));
    found.push(`${path}:${line + 1} ${name.text}`);
  };
  const walk = (node: ts.Node) => {
    if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name) {
      report(node.name, node);
    } else if (
      ts.isVariableDeclaration(node) &&
      node.initializer &&
      (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer))
    ) {
      report(node.name, node.initializer);
    }
    ts.forEachChild(node, walk);
  };
  walk(ast);
  return found;
}

const parse = (path: string, text: string) =>
  ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);

/** The object a call like `server.listen(...)` is made on, by its text, and the method. */
function methodCall(
  node: ts.Node,
): { on: string; method: string; args: ts.NodeArray<ts.Expression> } | undefined {
  if (!ts.isCallExpression(node) || !ts.isPropertyAccessExpression(node.expression))
    return undefined;
  return {
    on: node.expression.expression.getText(),
    method: node.expression.name.text,
    args: node.arguments,
  };
}

/**
 * `path:line` of each inline free-port lookup: a server listened on port 0,
 * its address read and closed again in the same block (what `freePort()` does).
 */
function inlineFreePorts(ast: ts.SourceFile): string[] {
  const path = ast.fileName;
  const found: string[] = [];
  const visitBlock = (statements: ts.NodeArray<ts.Statement>) => {
    // Per object: the kinds of call made on it, and where the first was.
    const seen = new Map<string, { kinds: Set<string>; first: ts.Node }>();
    const walk = (node: ts.Node) => {
      // Nested blocks and functions are looked at on their own, but for the
      // executor of a `new Promise(...)`, which is how a callback API is awaited.
      const executor =
        ts.isFunctionLike(node) &&
        ts.isNewExpression(node.parent) &&
        node.parent.expression.getText() === 'Promise';
      if (ts.isFunctionLike(node) && !executor) return;
      if (ts.isBlock(node) && !ts.isFunctionLike(node.parent)) return;
      const call = methodCall(node);
      const kind =
        call?.method === 'listen' && call.args[0]?.getText() === '0' ? 'listen0' : call?.method;
      if (call && kind && ['listen0', 'address', 'close'].includes(kind)) {
        const entry = seen.get(call.on) ?? { kinds: new Set<string>(), first: node };
        entry.kinds.add(kind);
        seen.set(call.on, entry);
      }
      ts.forEachChild(node, walk);
    };
    for (const statement of statements) walk(statement);
    for (const { kinds, first } of seen.values()) {
      if (kinds.size < 3) continue;
      const { line } = ast.getLineAndCharacterOfPosition(first.getStart(ast));
      const where = `${path}:${line + 1} inline free port`;
      if (!found.includes(where)) found.push(where);
    }
  };
  const visit = (node: ts.Node) => {
    if (ts.isBlock(node) || ts.isSourceFile(node)) visitBlock(node.statements);
    ts.forEachChild(node, visit);
  };
  visit(ast);
  return found;
}

describe('test helpers come from packages/testing', () => {
  it('the scan finds a copied helper, and lets one built on the shared until pass', () => {
    const copies = ownHelpers(
      parse(
        'x.test.ts',
        [
          'async function until(check: () => boolean) { while (!check()) await sleep(10); }',
          'const waitFor = (check: () => Promise<void>) => vi.waitFor(check);',
          'async function freePort() { return 1; }',
          'const becomes = (r: R) => until(() => r.ok, "ok");',
          'const port = await freePort();',
        ].join('\n'),
      ),
    );
    expect(copies).toEqual(['x.test.ts:1 until', 'x.test.ts:2 waitFor', 'x.test.ts:3 freePort']);
    const inline = [
      'it("x", async () => {',
      '  const s = createServer();',
      "  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));",
      '  const { port } = s.address() as AddressInfo;',
      '  await new Promise<void>((r) => s.close(() => r()));',
      '});',
      'it("y", async () => {',
      "  hook.listen(0, '127.0.0.1');",
      '  const url = hook.address();',
      '  try { await use(url); } finally { hook.close(); }',
      '});',
    ].join('\n');
    expect(inlineFreePorts(parse('x.test.ts', inline))).toEqual(['x.test.ts:3 inline free port']);
  });

  // Parses several hundred files: slow on a loaded 2-core machine.
  it('no test, test helper or bench outside packages/testing defines its own poll or free port', {
    timeout: 120_000,
  }, () => {
    const sources = testSources();
    expect(sources.length).toBeGreaterThan(100);
    const copies = sources
      .filter((path) => !path.startsWith(TESTING))
      .flatMap((path) => {
        const ast = parse(path, readFileSync(join(ROOT, path), 'utf8'));
        return [...ownHelpers(ast), ...inlineFreePorts(ast)];
      });
    expect(copies).toEqual([]);
  });

  it("the package's core entry, which the benches use, loads no Vitest", () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(join(ROOT, file), 'utf8');
      const info = ts.preProcessFile(text, true, true);
      for (const { fileName } of info.importedFiles) {
        expect(fileName, `${file} imports ${fileName}`).not.toMatch(/^vitest(\/|$)/);
        if (fileName.startsWith('./')) visit(join(file, '..', fileName));
      }
    };
    visit(`${TESTING}src/core.ts`);
    expect(seen.size).toBeGreaterThan(5);
    // Benches import the package by that entry only.
    for (const path of testSources().filter((p) => p.startsWith('bench/'))) {
      const imports = ts.preProcessFile(readFileSync(join(ROOT, path), 'utf8'), true, true);
      for (const { fileName } of imports.importedFiles) {
        if (fileName.startsWith('@hubstream/testing') || fileName === 'vitest') {
          expect(fileName, path).toBe('@hubstream/testing/core');
        }
      }
    }
  });

  it('pnpm typecheck checks every package, test/ and every bench', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.typecheck).toContain('typecheck:repo');
    // typecheck:repo checks most of them in one program (tsconfig.repo.json),
    // and `pnpm --filter NAME typecheck` the packages with options of their
    // own: every file of each directory's own tsconfig is in a checked one.
    const projects = [...(pkg.scripts['typecheck:repo'] ?? '').matchAll(/tsc -p (\S+)/g)].map((m) =>
      join(ROOT, m[1] ?? ''),
    );
    const filtered = [...(pkg.scripts.typecheck ?? '').matchAll(/--filter (\S+) typecheck/g)].map(
      (m) => m[1],
    );
    const subdirs = (dir: string) =>
      readdirSync(join(ROOT, dir), { withFileTypes: true })
        .filter((e) => e.isDirectory() && !SKIPPED.has(e.name))
        .map((e) => `${dir}/${e.name}`);
    const packages = [...subdirs('apps'), ...subdirs('packages')].filter((dir) =>
      existsSync(join(ROOT, dir, 'tsconfig.json')),
    );
    for (const dir of packages) {
      const { name } = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as {
        name: string;
      };
      if (filtered.includes(name)) projects.push(join(ROOT, dir));
    }
    const checked = new Set(projects.flatMap(rootFiles));
    const benches = subdirs('bench');
    expect(benches.length).toBeGreaterThan(0);
    expect(packages.length).toBeGreaterThan(10);
    for (const dir of [...packages, 'test', ...benches]) {
      const own = rootFiles(join(ROOT, dir));
      expect(own.length, dir).toBeGreaterThan(0);
      expect(
        own.filter((f) => !checked.has(f)),
        `${dir}: files pnpm typecheck leaves out`,
      ).toEqual([]);
    }
  });
});

/** The root files of a TypeScript project (a tsconfig file, or a directory with tsconfig.json). */
function rootFiles(project: string): string[] {
  const file = project.endsWith('.json') ? project : join(project, 'tsconfig.json');
  const { config, error } = ts.readConfigFile(file, ts.sys.readFile);
  if (error)
    throw new Error(`${file}: ${ts.flattenDiagnosticMessageText(error.messageText, '\n')}`);
  return ts.parseJsonConfigFileContent(config, ts.sys, dirname(file)).fileNames;
}
