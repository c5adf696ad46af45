#!/usr/bin/env node
// `pnpm build`: compiles every app and package to JavaScript (see
// ARCHITECTURE.md, "Build"). esbuild bundles each package's entry points
// (what its package.json exports, and its programs: main, migrate,
// healthcheck, cli) with the package's own modules into dist/, code they
// share in dist/chunks, with source maps (types are checked by `pnpm
// typecheck`, never here). Every other import stays as written, so
// `@hubstream/*` packages resolve at run time to each other's dist/ through
// their package.json `exports`, like any dependency.
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
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

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
  // The guides (docs/*.md), which the bundle holds as text.
  '../../docs',
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

/**
 * What a self-contained program (see SELF_CONTAINED) still loads from
 * node_modules: the workspace's own packages (each has one copy in a process,
 * shared with the other packages that import it), native and WebAssembly
 * packages, which a bundle cannot hold, and optional native speed-ups of ws.
 */
const STILL_EXTERNAL =
  /^(@hubstream\/|argon2$|@electric-sql\/pglite|pglite-prisma-adapter$|bufferutil$|utf-8-validate$)/;

/** The npm package a bare import names: `pg` of `pg/lib/x.js`, `@scope/name` of `@scope/name/sub`. */
const packageOf = (specifier) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

// Bare imports are left to Node at run time (but BUNDLED's); relative imports
// are bundled. Loading a server's ~150 own modules one by one (resolution,
// a read and a source map each) was a large part of its start. Bundled too:
// with `withDependencies` (a self-contained program), every bare import but
// STILL_EXTERNAL's; the npm packages in `bundle` (a package's
// hubstreamBuild.bundle); and what a bundled npm package imports in turn
// (but STILL_EXTERNAL's), since a package's own dependencies do not resolve
// from our dist/.
function keepImports({ withDependencies = false, bundle = [] } = {}) {
  return {
    name: 'keep-imports',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        const relative = args.path.startsWith('./') || args.path.startsWith('../');
        if (!relative) {
          const inBundle =
            !args.path.startsWith('node:') &&
            !STILL_EXTERNAL.test(args.path) &&
            (withDependencies ||
              bundle.includes(packageOf(args.path)) ||
              args.importer.includes(`${path.sep}node_modules${path.sep}`));
          if (inBundle) {
            const bundled = BUNDLED.test(args.path)
              ? bundledPath(args.path, args.resolveDir)
              : undefined;
            return bundled ? { path: bundled } : undefined;
          }
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
        // (A relative import that reaches into another package's sources,
        // as the control plane's webhook test does into the realtime node's
        // webhook client, is bundled the same way: a deployed package has no
        // sibling directories to reach into.)
        return undefined;
      });
    },
  };
}

/**
 * pg (bundled into @hubstream/db) asks, as its module loads, whether it runs
 * in a Cloudflare Worker: on Node 20, which has no `navigator`, by touching
 * the global `Response`, which makes Node load its whole fetch implementation
 * (undici) for that one question: ~50 ms of every server's start, for a
 * class nothing of ours uses. A bundled pg skips the probe (it is a Worker
 * only if it runs in one; these bundles only run in Node). If a pg update
 * changes the probe, the build says so and bundles pg unchanged.
 */
const PG_CLOUDFLARE_PROBE = "if (typeof Response === 'function') {";
function skipPgCloudflareProbe() {
  return {
    name: 'skip-pg-cloudflare-probe',
    setup(b) {
      b.onLoad({ filter: /[\\/]node_modules[\\/].*[\\/]pg[\\/]lib[\\/]stream\.js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes(PG_CLOUDFLARE_PROBE)) {
          process.stderr.write(`build: ${args.path} has no Cloudflare probe to skip\n`);
          return undefined;
        }
        return {
          contents: source.replace(PG_CLOUDFLARE_PROBE, 'if (false) {'),
          loader: 'js',
        };
      });
    },
  };
}

/**
 * Prisma's generated client loads its query compiler (WebAssembly) from a
 * module that holds it as one base64 string: the module's 4.5 MB source and
 * the string in it stay in the V8 heap for the life of the process (~9 MB of
 * a `pnpm start`'s idle memory, issue 17), for bytes that are needed once.
 * The build writes the bytes next to the chunks instead (what a deployed
 * package holds: its dist/), and replaces that module with one that reads
 * them, still as the base64 string the generated client decodes; the string
 * is garbage once decoded. A module of another name is left as it is.
 */
const PRISMA_WASM_BASE64 =
  /^@prisma\/client\/runtime\/(query_compiler_\w+\.\w+)\.wasm-base64\.mjs$/;
function prismaWasmFromFile(outdir) {
  return {
    name: 'prisma-wasm-from-file',
    setup(b) {
      b.onResolve({ filter: PRISMA_WASM_BASE64 }, (args) => ({
        path: createRequire(path.join(args.resolveDir, 'noop.js')).resolve(args.path),
        namespace: 'prisma-wasm',
      }));
      b.onLoad({ filter: /.*/, namespace: 'prisma-wasm' }, async (args) => {
        const { wasm } = await import(pathToFileURL(args.path).href);
        const file = `${path.basename(args.path, '.wasm-base64.mjs')}.wasm`;
        // Chunks are where a dynamically imported module's code goes.
        mkdirSync(path.join(outdir, 'chunks'), { recursive: true });
        writeFileSync(path.join(outdir, 'chunks', file), Buffer.from(wasm, 'base64'));
        return {
          contents:
            "import { readFileSync } from 'node:fs';\n" +
            `export const wasm = readFileSync(new URL(${JSON.stringify(`./${file}`)}, import.meta.url)).toString('base64');\n`,
          loader: 'js',
          resolveDir: outdir,
        };
      });
    },
  };
}

/**
 * Rewrites a built file's non-ASCII characters as \u escapes. esbuild
 * already escapes them in strings, regular expressions and names (its
 * ASCII charset), but keeps comments as written: one "→" in a comment of
 * 2 MB of code (a licence's "Wärting" in the realtime node's main.js) makes
 * V8 hold the whole source as a two-byte string, twice the memory for the
 * life of the process, and makes Node decode it on the slow path at every
 * start. An escape means the same in a string, a regular expression or a
 * name, and reads the same in a comment.
 */
function asciiOnly(file) {
  const code = readFileSync(file, 'utf8');
  if (!/[^\t-~]/.test(code)) return;
  writeFileSync(
    file,
    code.replace(/[^\t-~]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
  );
}

/**
 * Packages that a src/vendor/*.cjs bundle leaves to Node at run time:
 * optional or native dependencies that a bundle cannot hold (BullMQ's
 * Postgres backend, msgpackr's native extension), each loaded only if used.
 */
const VENDOR_EXTERNAL = ['pg', 'pg-native', 'msgpackr-extract'];

/**
 * A vendor bundle that requires a package another vendor file of the same
 * package bundles (src/vendor/<name>.cjs for npm package <name>) requires
 * that bundle instead of holding a second copy: BullMQ's bundle uses
 * ./ioredis.cjs, so a process has one ioredis.
 */
function otherVendorBundles(vendored, self) {
  const others = new Map(
    vendored.filter((f) => f !== self).map((f) => [path.basename(f, '.cjs'), path.basename(f)]),
  );
  return {
    name: 'other-vendor-bundles',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        const bundle = others.get(args.path);
        return bundle ? { path: `./${bundle}`, external: true } : undefined;
      });
    },
  };
}

/** Programs a package's dist/ holds besides what it exports: the roles' entry points and the CLI. */
const PROGRAMS = ['main.ts', 'migrate.ts', 'healthcheck.ts', 'cli.ts'];

/**
 * Programs a package lists in its package.json as `"hubstreamBuild":
 * {"selfContained": ["main.ts"]}`: each is bundled on its own, into one file
 * with the npm packages it imports (fastify and its ~150 CommonJS modules for
 * the realtime node), which Node otherwise resolves, reads, wraps and
 * source-maps one by one at every start; the workspace's packages and
 * STILL_EXTERNAL stay imports. Only for a program in whose process nothing
 * else loads the same npm packages from node_modules (there would be two
 * copies): the realtime role's main is the only user of fastify in its
 * process. Caveat: a bundled package's own files next to its modules (pino's
 * transport workers, found from __dirname) are not there; nothing uses them
 * in such a program (the logger is @hubstream/service's pino, loaded as usual).
 */
function selfContainedOf(dir) {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  return (manifest.hubstreamBuild?.selfContained ?? []).map((file) => path.join(dir, 'src', file));
}

/**
 * npm packages a package lists as `"hubstreamBuild": {"bundle": [...]}`:
 * bundled into its dist/ (with their own dependencies) instead of loaded
 * from node_modules, for the same reason as the self-contained programs.
 * Only packages that no other package of a process imports at run time
 * (there would be two copies): prom-client and pino in @hubstream/service
 * (fastify's own pino is fastify's), pg and its Prisma adapter in
 * @hubstream/db (the Redis vendor bundle loads pg only for BullMQ's unused
 * Postgres backend).
 */
function bundledDependenciesOf(dir) {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  return manifest.hubstreamBuild?.bundle ?? [];
}

/**
 * Bundled CommonJS calls `require` (for Node's built-in modules, and the
 * lazy requires inside the packages); an ES module has none, so the
 * bundle's first line makes one, for the module's own location. (esbuild
 * renames our own modules' top-level `require`s, so they do not clash.)
 */
const REQUIRE_BANNER =
  "import { createRequire as __hubstreamCreateRequire } from 'node:module';\n" +
  'const require = __hubstreamCreateRequire(import.meta.url);';

/**
 * The files of a package that become files of its dist/: what its
 * package.json exports, and its programs. Everything they import from the
 * package is bundled into them (code shared between them in dist/chunks).
 */
function entryPointsOf(dir, src) {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const exported = Object.values(manifest.exports ?? {}).map((target) =>
    path.join(src, target.default.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts')),
  );
  const programs = PROGRAMS.map((file) => path.join(src, file)).filter((f) => existsSync(f));
  return [...new Set([...exported, ...programs])];
}

async function compile(dir) {
  const src = path.join(dir, 'src');
  const sources = filesUnder(src).filter((f) => /\.(m|c)?ts$/.test(f) && !f.endsWith('.d.ts'));
  const selfContained = selfContainedOf(dir);
  const bundle = bundledDependenciesOf(dir);
  const entryPoints = entryPointsOf(dir, src).filter((file) => !selfContained.includes(file));
  // src/vendor/*.cjs: CommonJS modules bundled with every package they
  // require into one file of the same name in dist/vendor (see the file
  // itself for why); read with createRequire, they need no other build step.
  const vendored = filesUnder(path.join(src, 'vendor')).filter((f) => f.endsWith('.cjs'));
  const outdir = path.join(dir, 'dist');
  // Before a start, a package whose sources are as they were at its last
  // build (same files, none modified since) is not compiled again.
  const stampFile = path.join(outdir, '.sources-stamp');
  // (This script's own mtime too: a change to how it compiles rebuilds
  // everything; and package.json's, which names the entry points.)
  const inputs = [...sources, ...vendored, path.join(dir, 'package.json')];
  const stamp = `${inputs.join('\n')}\n${Math.max(statSync(fileURLToPath(import.meta.url)).mtimeMs, ...inputs.map((f) => statSync(f).mtimeMs))}`;
  if (ifChanged && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return 0;
  // A full build starts clean; before a start, files are only overwritten
  // (a running process may still load one of them on demand).
  if (!ifChanged) rmSync(outdir, { recursive: true, force: true });
  const { build } = await import('esbuild');
  const common = {
    outbase: src,
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    sourcemap: 'linked',
    sourcesContent: false,
    tsconfig: path.join(dir, 'tsconfig.json'),
    logLevel: 'warning',
    metafile: true,
  };
  const outputs = [];
  const built = (result) => outputs.push(...Object.keys(result.metafile?.outputs ?? {}));
  built(
    await build({
      ...common,
      entryPoints,
      // Code that several entry points share goes into a chunk once.
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      plugins: [prismaWasmFromFile(outdir), keepImports({ bundle }), skipPgCloudflareProbe()],
      ...(bundle.length > 0 ? { banner: { js: REQUIRE_BANNER } } : {}),
    }),
  );
  for (const program of selfContained) {
    built(
      await build({
        ...common,
        entryPoints: [program],
        plugins: [keepImports({ withDependencies: true }), skipPgCloudflareProbe()],
        banner: { js: REQUIRE_BANNER },
      }),
    );
  }
  for (const file of vendored) {
    built(
      await build({
        entryPoints: [file],
        metafile: true,
        outfile: path.join(outdir, path.relative(src, file)),
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node20.19',
        external: VENDOR_EXTERNAL,
        plugins: [otherVendorBundles(vendored, file)],
        logLevel: 'warning',
      }),
    );
  }
  for (const file of outputs) if (/\.(c|m)?js$/.test(file)) asciiOnly(path.resolve(file));
  writeFileSync(stampFile, stamp);
  return sources.length + vendored.length;
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
