import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
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

/** The gzipped tarball unpacked into one buffer (mapped on its own, returned when freed). */
const unpacked = (packed: Uint8Array) => gunzipSync(packed, { chunkSize: TAR_CHUNK_BYTES });

/** A tarball's entries: 512-byte headers, each file's bytes padded to 512. */
const BLOCK = 512;

function field(header: Uint8Array, start: number, length: number): string {
  const bytes = header.subarray(start, start + length);
  const end = bytes.indexOf(0);
  return Buffer.from(end === -1 ? bytes : bytes.subarray(0, end)).toString('utf8');
}

function octal(header: Uint8Array, start: number, length: number): number {
  const text = field(header, start, length).trim();
  const value = text === '' ? 0 : Number.parseInt(text, 8);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`bad tar number "${text}"`);
  return value;
}

/**
 * Writes the snapshot's files into `pgdata`, a directory that holds no
 * database yet, for PGlite to open as an existing one. PGlite would load
 * the tarball itself (loadDataDir) through its in-memory file system:
 * ~75 MB of a new DATA_DIR's process RSS that stays (36 MB of it in malloc's
 * heap) against ~0 here, where the unpacked tarball is one mapped buffer,
 * returned once written, and each file is written from a view of it. The
 * files go to a directory beside `pgdata`, renamed into place when all are
 * written: a start that stops halfway leaves no half database. Only what
 * PGlite's dumpDataDir writes (ustar files and directories, no links);
 * anything else throws, and nothing is left behind. False without a
 * snapshot or when `pgdata` holds a database.
 */
export function extractSnapshotInto(
  pgdata: string,
  file: string | undefined = pgliteSnapshotFile(),
): boolean {
  // Something that is not a database (yet): left to PGlite, which says what is wrong with it.
  if (existsSync(pgdata) && readdirSync(pgdata).length > 0) return false;
  if (file === undefined || !existsSync(file)) return false;
  const tar = unpacked(readFileSync(file));
  const partial = `${pgdata}.partial-${process.pid}`;
  mkdirSync(path.dirname(pgdata), { recursive: true });
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true, mode: 0o700 });
  try {
    for (let at = 0; at + BLOCK <= tar.length; ) {
      const header = tar.subarray(at, at + BLOCK);
      if (header.every((byte) => byte === 0)) break; // the end: two zero blocks
      if (field(header, 257, 6) !== 'ustar') throw new Error('not a ustar tarball');
      const name = `${field(header, 345, 155)}${field(header, 0, 100)}`;
      const mode = octal(header, 100, 8) & 0o777;
      const size = octal(header, 124, 12);
      const type = String.fromCharCode(header[156] ?? 0);
      if (name.split('/').includes('..'))
        throw new Error(`tar entry outside the data directory: ${name}`);
      const target = path.join(partial, name);
      at += BLOCK;
      if (type === '5') {
        mkdirSync(target, { recursive: true, mode: mode | 0o700 });
      } else if (type === '0' || type === '\0') {
        if (at + size > tar.length) throw new Error(`tar entry ${name} is cut short`);
        mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
        writeFileSync(target, tar.subarray(at, at + size));
        chmodSync(target, mode | 0o600);
        at += Math.ceil(size / BLOCK) * BLOCK;
      } else {
        throw new Error(`unexpected tar entry type "${type}" for ${name}`);
      }
    }
    if (!existsSync(path.join(partial, 'PG_VERSION')))
      throw new Error('no PG_VERSION in the tarball');
    // An empty directory (made by hand, or by an earlier start) gives way.
    rmSync(pgdata, { recursive: true, force: true });
    renameSync(partial, pgdata);
    return true;
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    throw error;
  }
}

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
    const tar = unpacked(packed);
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
