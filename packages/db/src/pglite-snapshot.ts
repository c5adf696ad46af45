import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
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
  return pgliteSnapshot();
}

/** Larger than an empty data directory's tarball (40 MB): gunzip makes one buffer. */
const TAR_CHUNK_BYTES = 64 * 1024 * 1024;

/**
 * The gzipped tarball, whose bytes, when PGlite reads them, are the tarball
 * itself, unpacked here into one buffer. PGlite would unpack it through a
 * DecompressionStream: ~2500 chunks of 16 KB (40 MB) that malloc keeps in
 * its heap once freed, between what was allocated after them: ~45 MB of
 * `pnpm start`'s idle memory on a new DATA_DIR (issue 17). One buffer this
 * large is mapped on its own and returned to the system when freed. PGlite
 * keeps the Blob it was given: it holds the 4.5 MB packed, not the 40 unpacked.
 */
class UnpackedTarball extends Blob {
  override async arrayBuffer(): Promise<ArrayBuffer> {
    const packed = new Uint8Array(await super.arrayBuffer());
    const tar = gunzipSync(packed, { chunkSize: TAR_CHUNK_BYTES });
    return tar.buffer.byteLength === tar.length
      ? (tar.buffer as ArrayBuffer)
      : tar.buffer.slice(tar.byteOffset, tar.byteOffset + tar.length);
  }
}

/**
 * The snapshot itself, if there is one: also where an in-memory PGlite
 * starts from (tests open dozens; each saves ~2.5 s of initdb's CPU).
 */
export function pgliteSnapshot(): Blob | undefined {
  const file = pgliteSnapshotFile();
  if (file === undefined || !existsSync(file)) return undefined;
  return new UnpackedTarball([readFileSync(file)]);
}
