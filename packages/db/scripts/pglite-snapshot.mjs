// Part of `pnpm install` (the root postinstall): makes, once per PGlite
// version, an empty PGlite data directory and keeps it as PGlite's tarball in
// node_modules/.cache/hubstream, so that a new DATA_DIR starts from a copy
// instead of running initdb (see src/pglite-snapshot.ts). Never fails the
// install: without the file, PGlite simply initialises as before.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
try {
  const entry = require.resolve('@electric-sql/pglite');
  const manifest = path.join(
    entry.slice(0, entry.lastIndexOf(`${path.sep}dist${path.sep}`)),
    'package.json',
  );
  const { version } = JSON.parse(readFileSync(manifest, 'utf8'));
  const cache = fileURLToPath(new URL('../../../node_modules/.cache/hubstream/', import.meta.url));
  const file = path.join(cache, `pglite-${version}.tar.gz`);
  if (!existsSync(file)) {
    const started = Date.now();
    const { PGlite } = await import('@electric-sql/pglite');
    const dir = mkdtempSync(path.join(tmpdir(), 'hubstream-pglite-'));
    try {
      const db = new PGlite(path.join(dir, 'pgdata'));
      await db.waitReady;
      const tarball = await db.dumpDataDir('gzip');
      await db.close();
      mkdirSync(cache, { recursive: true });
      writeFileSync(`${file}.tmp`, Buffer.from(await tarball.arrayBuffer()));
      renameSync(`${file}.tmp`, file);
      console.log(
        `pglite-snapshot: made ${path.relative(process.cwd(), file)} in ${Date.now() - started} ms`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
} catch (error) {
  console.warn(`pglite-snapshot: skipped (${error instanceof Error ? error.message : error})`);
}
