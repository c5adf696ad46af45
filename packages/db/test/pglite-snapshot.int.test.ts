import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/index.ts';
import { extractSnapshotInto, pgliteSnapshotFile } from '../src/pglite-snapshot.ts';

// A new DATA_DIR starts from the install's snapshot of an empty database,
// written into place by extractSnapshotInto (not through PGlite's own
// in-memory loader, whose memory stays: bench:idle-rss).

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hs-snapshot-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One ustar header block (the fields extractSnapshotInto reads). */
function header(name: string, type: string, size: number, mode = 0o644): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, 'utf8');
  block.write(`${mode.toString(8).padStart(7, '0')}\0`, 100, 8, 'ascii');
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 12, 'ascii');
  block.write(type, 156, 1, 'ascii');
  block.write('ustar\u000000', 257, 8, 'ascii');
  return block;
}

/** A gzipped tarball of `entries` (file contents padded to 512), written to a file. */
async function tarball(entries: { name: string; type: string; content?: string }[]) {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const content = Buffer.from(entry.content ?? '');
    blocks.push(header(entry.name, entry.type, content.length));
    if (content.length > 0)
      blocks.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  const file = path.join(dir, 'snapshot.tar.gz');
  await writeFile(file, gzipSync(Buffer.concat(blocks)));
  return file;
}

describe('extractSnapshotInto', () => {
  it("writes the install's snapshot into a new data directory that PGlite then opens and migrates", async () => {
    const snapshot = pgliteSnapshotFile();
    expect(snapshot && existsSync(snapshot)).toBe(true);
    const pgdata = path.join(dir, 'data', 'pgdata');
    expect(extractSnapshotInto(pgdata)).toBe(true);
    // Every regular file of the tarball, byte for byte where it is small enough to read here.
    const pgVersion = readFileSync(path.join(pgdata, 'PG_VERSION'), 'utf8');
    expect(pgVersion).toMatch(/^\d+\n$/);
    const tar = gunzipSync(readFileSync(snapshot as string));
    expect(tar.includes(Buffer.from(pgVersion))).toBe(true);
    expect(readdirSync(path.join(pgdata, 'base')).length).toBeGreaterThan(0);
    // Nothing half-written left beside it.
    expect(readdirSync(path.join(dir, 'data'))).toEqual(['pgdata']);

    const db = await openDatabase({ kind: 'pglite', dataDir: path.join(dir, 'data') });
    try {
      const report = await db.migrate();
      expect(report.applied.length).toBeGreaterThan(0);
      expect(await db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM apps')).toEqual([
        { n: 0 },
      ]);
    } finally {
      await db.close();
    }
    // Opened again: the database it holds now, not a new one.
    expect(extractSnapshotInto(pgdata)).toBe(false);
  });

  it('takes an empty directory, and leaves one that holds anything to PGlite', async () => {
    const file = await tarball([
      { name: '/', type: '5' },
      { name: '/PG_VERSION', type: '0', content: '17\n' },
      { name: '/base/1/112', type: '0', content: 'x'.repeat(700) },
    ]);
    const empty = path.join(dir, 'empty');
    await mkdir(empty);
    expect(extractSnapshotInto(empty, file)).toBe(true);
    expect(readFileSync(path.join(empty, 'base/1/112'), 'utf8')).toBe('x'.repeat(700));

    const used = path.join(dir, 'used');
    await mkdir(used);
    await writeFile(path.join(used, 'notes.txt'), 'mine');
    expect(extractSnapshotInto(used, file)).toBe(false);
    expect(readdirSync(used)).toEqual(['notes.txt']);
    expect(extractSnapshotInto(path.join(dir, 'none'), path.join(dir, 'missing.tar.gz'))).toBe(
      false,
    );
  });

  it('refuses links, paths outside the directory and cut entries, and leaves nothing behind', async () => {
    const cases = [
      [
        { name: '/PG_VERSION', type: '0', content: '17\n' },
        { name: '/link', type: '2' },
      ],
      [
        { name: '/PG_VERSION', type: '0', content: '17\n' },
        { name: '/../../escaped', type: '0', content: 'out' },
      ],
      [{ name: '/base/1/112', type: '0', content: 'no version file' }],
    ];
    for (const entries of cases) {
      const file = await tarball(entries);
      const pgdata = path.join(dir, 'data', 'pgdata');
      expect(() => extractSnapshotInto(pgdata, file)).toThrow();
      expect(existsSync(pgdata)).toBe(false);
      expect(readdirSync(path.join(dir, 'data'))).toEqual([]);
    }
    expect(existsSync(path.join(dir, 'escaped'))).toBe(false);
  });
});
