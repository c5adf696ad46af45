#!/usr/bin/env node
// `pnpm build`: compiles every app and package to JavaScript (see
// ARCHITECTURE.md, "Build"). Each package's src/**/*.ts becomes dist/**/*.js
// with a source map, file for file: esbuild transpiles (types are checked by
// `pnpm typecheck`, never here), relative `./x.ts` imports become `./x.js`,
// and every other import stays as written, so `@hubstream/*` packages resolve
// at run time to each other's dist/ through their package.json `exports`.
// Then the dashboard is built with Vite, and copied into the control plane's
// dist/dashboard (the control plane serves it from there), and the database
// migrations into packages/db/dist/migrations: a deployed package holds all
// that it reads at run time.
//
//   node scripts/build.mjs               everything
//   node scripts/build.mjs --if-changed  what `pnpm start` runs first: the
//                                        dashboard only when its inputs changed
//                                        since its last build
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DASHBOARD = path.join(ROOT, 'apps/dashboard');
/**
 * What the dashboard's bundle is made of; a change to any of them rebuilds it.
 * The same hash, in the same file, as the dashboard's end-to-end tests keep
 * (apps/dashboard/test/e2e-stack.ts), so neither rebuilds what the other built.
 */
const DASHBOARD_INPUTS = [
  'src',
  'index.html',
  'vite.config.ts',
  'package.json',
  '../../packages/valve/src',
];
const HASH_FILE = '.sources-hash';

const ifChanged = process.argv.includes('--if-changed');

function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  if (statSync(dir).isFile()) return [dir];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/** The packages compiled by esbuild: every workspace package with a src/, but the dashboard. */
function serverPackages() {
  return ['apps', 'packages'].flatMap((group) =>
    readdirSync(path.join(ROOT, group), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && entry.name !== 'dashboard')
      .map((entry) => path.join(ROOT, group, entry.name))
      .filter(
        (dir) => existsSync(path.join(dir, 'src')) && existsSync(path.join(dir, 'package.json')),
      ),
  );
}

/** Bare imports compiled into the importing package instead of loaded from node_modules. */
const BUNDLED = /^(typebox|yaml)(\/|$)/;

/**
 * Where a BUNDLED import is read from, when not where Node would resolve it:
 * `yaml` resolves in Node to ~70 CommonJS files; its own ES module build
 * (the one it ships for browsers, which uses nothing but the language) is
 * the same parser, and bundles into one file.
 */
function bundledPath(specifier, resolveDir) {
  if (specifier !== 'yaml') return undefined;
  const require = createRequire(path.join(resolveDir, 'noop.js'));
  return path.join(path.dirname(require.resolve('yaml/package.json')), 'browser/index.js');
}

// Every import is left to Node at run time (but BUNDLED's); only the extension of a relative
// TypeScript import changes (`./app.ts` -> `./app.js`). A relative import that
// reaches into another package's sources (the control plane's webhook test
// uses the realtime node's webhook client) is bundled into the importing file
// instead: a deployed package has no sibling directories to reach into.
function keepImports(src) {
  const inside = (file) => file.startsWith(src + path.sep);
  return {
    name: 'keep-imports',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        const relative = args.path.startsWith('./') || args.path.startsWith('../');
        if (!relative) {
          // TypeBox is published as ~700 small ES modules, and loading them
          // one by one is a good part of a server's start: it is bundled
          // into the package (shared code in a chunk), every other package
          // stays an import.
          if (BUNDLED.test(args.path)) {
            const bundled = bundledPath(args.path, args.resolveDir);
            return bundled ? { path: bundled } : undefined;
          }
          return { path: args.path, external: true };
        }
        const target = path.resolve(args.resolveDir, args.path);
        if (!inside(args.importer) || !inside(target)) return undefined;
        return {
          path: args.path.replace(/\.(m|c)?ts$/, (ext) => ext.replace('t', 'j')),
          external: true,
        };
      });
    },
  };
}

/**
 * Packages that a src/vendor/*.cjs bundle leaves to Node at run time:
 * optional or native dependencies that a bundle cannot hold (BullMQ's
 * Postgres backend, msgpackr's native extension), each loaded only if used.
 */
const VENDOR_EXTERNAL = ['pg', 'pg-native', 'msgpackr-extract'];

async function compile(dir) {
  const src = path.join(dir, 'src');
  const entryPoints = filesUnder(src).filter((f) => /\.(m|c)?ts$/.test(f) && !f.endsWith('.d.ts'));
  // src/vendor/*.cjs: CommonJS modules bundled with every package they
  // require into one file of the same name in dist/vendor (see the file
  // itself for why); read with createRequire, they need no other build step.
  const vendored = filesUnder(path.join(src, 'vendor')).filter((f) => f.endsWith('.cjs'));
  const outdir = path.join(dir, 'dist');
  // Before a start, a package whose sources are as they were at its last
  // build (same files, none modified since) is not compiled again.
  const stampFile = path.join(outdir, '.sources-stamp');
  // (This script's own mtime too: a change to how it compiles rebuilds everything.)
  const inputs = [...entryPoints, ...vendored];
  const stamp = `${inputs.join('\n')}\n${Math.max(statSync(fileURLToPath(import.meta.url)).mtimeMs, ...inputs.map((f) => statSync(f).mtimeMs))}`;
  if (ifChanged && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return 0;
  // A full build starts clean; before a start, files are only overwritten
  // (a running process may still load one of them on demand).
  if (!ifChanged) rmSync(outdir, { recursive: true, force: true });
  const { build } = await import('esbuild');
  await build({
    entryPoints,
    outbase: src,
    outdir,
    bundle: true,
    // Code that several of the package's files bundle (BUNDLED) goes into a shared chunk once.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    plugins: [keepImports(src)],
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    sourcemap: 'linked',
    sourcesContent: false,
    tsconfig: path.join(dir, 'tsconfig.json'),
    logLevel: 'warning',
  });
  for (const file of vendored) {
    await build({
      entryPoints: [file],
      outfile: path.join(outdir, path.relative(src, file)),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20.19',
      external: VENDOR_EXTERNAL,
      logLevel: 'warning',
    });
  }
  writeFileSync(stampFile, stamp);
  return inputs.length;
}

function dashboardHash() {
  const hash = createHash('sha256');
  for (const input of DASHBOARD_INPUTS) {
    for (const file of filesUnder(path.join(DASHBOARD, input))) {
      hash.update(file).update(readFileSync(file));
    }
  }
  return hash.digest('hex');
}

function buildDashboard() {
  const dist = path.join(DASHBOARD, 'dist');
  const hash = dashboardHash();
  const hashFile = path.join(dist, HASH_FILE);
  if (ifChanged && existsSync(hashFile) && readFileSync(hashFile, 'utf8') === hash) {
    return 'unchanged';
  }
  const vite = spawnSync(
    process.execPath,
    [path.join(DASHBOARD, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'],
    {
      cwd: DASHBOARD,
      stdio: 'inherit',
    },
  );
  if (vite.status !== 0) throw new Error(`vite build failed (exit ${vite.status ?? vite.signal})`);
  writeFileSync(hashFile, hash);
  return 'built';
}

const started = performance.now();
const packages = serverPackages();
const counts = await Promise.all(packages.map(compile));
const dashboard = buildDashboard();
// What a deployed package reads at run time, inside its own dist/.
cpSync(path.join(DASHBOARD, 'dist'), path.join(ROOT, 'apps/control-plane/dist/dashboard'), {
  recursive: true,
});
cpSync(path.join(ROOT, 'prisma/migrations'), path.join(ROOT, 'packages/db/dist/migrations'), {
  recursive: true,
});
const files = counts.reduce((a, b) => a + b, 0);
const ms = Math.round(performance.now() - started);
process.stderr.write(
  `build: ${files} files compiled in ${packages.length} packages, dashboard ${dashboard} (${ms} ms)\n`,
);
