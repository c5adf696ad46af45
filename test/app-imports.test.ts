import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { walkFiles } from './walk-files.ts';

// No app imports another app (issue 16): apps share code through packages/,
// never through each other's files. Checked in every file of every app
// (src/, test/ and the rest, such as vite.config.ts), for static imports,
// re-exports, dynamic import() and require():
//   - a relative path that leaves the app's directory into another app's, and
//   - `@hubstream/<app>` or a subpath of it, for any other app.
//
// The one exception: apps/standalone is the composition root (it runs every
// role in one process), so it may import the other apps by their public
// entry point, `@hubstream/<app>` exactly, and nothing deeper.
//
// packages/ sit below the apps: no package imports an app, except
// packages/testing, whose helpers compose the apps for tests the way
// apps/standalone does for `pnpm start` (by their public entry points only).
// No source (src/) of an app or a package imports packages/testing: its
// helpers are for tests.
//
// Starting a process from another app's built entry point (a path handed to
// spawn) is not an import and is not checked.

const ROOT = resolve(import.meta.dirname, '..');
const APPS = readdirSync(join(ROOT, 'apps'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();
const PACKAGES = readdirSync(join(ROOT, 'packages'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

/** May import other apps' public entry points: the composition roots. */
const COMPOSITION_ROOTS = new Set(['apps/standalone', 'packages/testing']);
/** The benches (bench/<name>) compose the apps too, by entry point only. */
const BENCHES = readdirSync(join(ROOT, 'bench'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => `bench/${entry.name}`)
  .sort();
for (const bench of BENCHES) COMPOSITION_ROOTS.add(bench);
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'generated', 'public']);
const CODE = /\.(ts|tsx|mts|cts|js|mjs|cjs|jsx)$/;

const filesUnder = (dir: string) => walkFiles(dir, { skip: SKIPPED_DIRS, match: CODE });

/** Every module specifier of a file: imports, re-exports, import() and require() with a literal. */
function specifiersOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);
}

/** `apps/realtime` for `apps/realtime/test/x.ts` (paths relative to the root, with /). */
const ownerOf = (file: string) => file.split('/').slice(0, 2).join('/');

/**
 * Why `specifier`, imported by `file` (relative to the root, with /), breaks
 * the rules, or null when it does not.
 */
function violation(file: string, specifier: string): string | null {
  const owner = ownerOf(file);
  const [group] = owner.split('/');
  // A source file (src/) of an app or a package, but packages/testing's own.
  const isSource = file.split('/')[2] === 'src' && owner !== 'packages/testing';
  if (specifier.startsWith('.')) {
    const target = relative(ROOT, resolve(ROOT, dirname(file), specifier))
      .split(sep)
      .join('/');
    const targetOwner = ownerOf(target);
    if (target.startsWith('apps/') && targetOwner !== owner)
      return `${file} imports ${specifier}: a file of ${targetOwner}`;
    if (isSource && targetOwner === 'packages/testing')
      return `${file} imports ${specifier}: test helpers, in a source file`;
    return null;
  }
  const scoped = /^@hubstream\/([^/]+)(\/.*)?$/.exec(specifier);
  if (!scoped) return null;
  const [, name, subpath] = scoped;
  if (isSource && name === 'testing')
    return `${file} imports ${specifier}: test helpers, in a source file`;
  if (!name || !APPS.includes(name) || owner === `apps/${name}`) return null;
  if (COMPOSITION_ROOTS.has(owner) && subpath === undefined) return null;
  if (group === 'apps') return `${file} imports ${specifier}: another app`;
  return group === 'bench'
    ? `${file} imports ${specifier}: inside an app, from a bench`
    : `${file} imports ${specifier}: an app, from a package`;
}

function violationsIn(dirs: string[]): string[] {
  const found: string[] = [];
  for (const dir of dirs) {
    for (const path of filesUnder(join(ROOT, dir))) {
      const file = relative(ROOT, path).split(sep).join('/');
      for (const specifier of specifiersOf(readFileSync(path, 'utf8'))) {
        const why = violation(file, specifier);
        if (why) found.push(why);
      }
    }
  }
  return found;
}

describe('no app imports another app', () => {
  it('the check tells a crossing import from an allowed one', () => {
    expect(
      violation(
        'apps/control-plane/src/routes/webhook-test/routes.ts',
        '../../../../realtime/src/session/webhook.ts',
      ),
    ).toMatch(/a file of apps\/realtime/);
    expect(violation('apps/realtime/test/x.ts', '../../standalone/test/free-port.ts')).toMatch(
      /a file of apps\/standalone/,
    );
    expect(violation('apps/dashboard/test/x.ts', '@hubstream/worker')).toMatch(/another app/);
    expect(violation('apps/realtime/src/x.ts', '@hubstream/worker/src/index.ts')).toMatch(
      /another app/,
    );
    // The composition root: entry points only.
    expect(violation('apps/standalone/src/standalone.ts', '@hubstream/realtime')).toBeNull();
    expect(violation('apps/standalone/test/x.ts', '@hubstream/realtime/src/app.ts')).toMatch(
      /another app/,
    );
    expect(violation('apps/standalone/test/x.ts', '../../realtime/test/wire.ts')).toMatch(
      /a file of apps\/realtime/,
    );
    // Within an app, and packages, are fine.
    expect(violation('apps/realtime/test/x.ts', '../src/app.ts')).toBeNull();
    expect(violation('apps/realtime/src/x.ts', '@hubstream/auth')).toBeNull();
    expect(violation('apps/realtime/test/x.ts', '@hubstream/testing')).toBeNull();
    // Packages below the apps.
    expect(violation('packages/records/src/x.ts', '@hubstream/realtime')).toMatch(
      /an app, from a package/,
    );
    expect(violation('packages/testing/src/x.ts', '@hubstream/realtime')).toBeNull();
    // Benches: apps by entry point only, never a path into an app.
    expect(violation('bench/realtime/x.ts', '@hubstream/realtime')).toBeNull();
    expect(
      violation('bench/records-browser/x.ts', '../../apps/control-plane/src/routes/x.ts'),
    ).toMatch(/a file of apps\/control-plane/);
    expect(violation('bench/realtime/x.ts', '@hubstream/worker/src/index.ts')).toMatch(
      /inside an app, from a bench/,
    );
    expect(violation('packages/auth/src/x.ts', '@hubstream/testing')).toMatch(/test helpers/);
    expect(violation('apps/worker/src/x.ts', '../../../packages/testing/src/x.ts')).toMatch(
      /test helpers/,
    );
  });

  it('finds every kind of import in a file', () => {
    const text = [
      "import a from './a.ts';",
      "import type { B } from '@hubstream/b';",
      "export { c } from '../c.ts';",
      "const d = await import('./d.ts');",
      "const e = require('e');",
    ].join('\n');
    expect(specifiersOf(text)).toEqual(['./a.ts', '@hubstream/b', '../c.ts', './d.ts', 'e']);
  });

  it('sees every app', () => {
    expect(APPS).toEqual(
      expect.arrayContaining(['control-plane', 'dashboard', 'realtime', 'standalone', 'worker']),
    );
  });

  it('no file of an app imports another app (apps/standalone: by entry point only)', () => {
    expect(violationsIn(APPS.map((app) => `apps/${app}`))).toEqual([]);
  });

  it('no package imports an app (packages/testing: by entry point only)', () => {
    expect(violationsIn(PACKAGES.map((name) => `packages/${name}`))).toEqual([]);
  });

  it('no bench reaches into an app (apps by entry point only)', () => {
    expect(BENCHES.length).toBeGreaterThanOrEqual(4);
    expect(violationsIn(BENCHES)).toEqual([]);
  });
});
