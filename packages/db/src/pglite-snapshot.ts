import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { packageRoot } from '@hubstream/config';

// A new PGlite data directory costs about 12 s of CPU: initdb runs inside
// WebAssembly. `pnpm install` makes one empty data directory once (the
// postinstall's packages/db/scripts/pglite-snapshot.mjs) and keeps it, as
// PGlite's own tarball, in node_modules/.cache/hubstream; a fresh DATA_DIR
// then starts from a copy of it (about a third of the CPU). The file is named
// by PGlite's version: another version never loads it.

const require = createRequire(import.meta.url);

function pgliteVersion(): string | undefined {
  try {
    const entry = require.resolve('@electric-sql/pglite');
    const manifest = path.join(
      entry.slice(0, entry.lastIndexOf(`${path.sep}dist${path.sep}`)),
      'package.json',
    );
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** Where the snapshot of this PGlite version is kept (the repository's node_modules/.cache). */
export function pgliteSnapshotFile(): string | undefined {
  const version = pgliteVersion();
  if (version === undefined) return undefined;
  return path.join(
    packageRoot(import.meta.url),
    '../../node_modules/.cache/hubstream',
    `pglite-${version}.tar.gz`,
  );
}

/** The snapshot to start `pgdata` from: only for a directory that holds no database yet. */
export function snapshotForNewDataDir(pgdata: string): Blob | undefined {
  if (existsSync(path.join(pgdata, 'PG_VERSION'))) return undefined;
  const file = pgliteSnapshotFile();
  if (file === undefined || !existsSync(file)) return undefined;
  return new Blob([readFileSync(file)]);
}
