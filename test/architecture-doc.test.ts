import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importGraph } from './import-graph.ts';
import { codeSpans, ROOT, readDoc, section, tableRows } from './source-scan.ts';

// ARCHITECTURE.md's table says which directory owns what and may import
// what. It is kept true: its rows are exactly the directories of apps/ and
// packages/, every import of a source file into another directory is one
// its row allows, every allowed import goes to a lower layer, and the
// realtime node's inner layering holds as drawn.

const doc = readDoc('ARCHITECTURE.md');

type Row = { dir: string; layer: number; mayImport: string[] };

const rows: Row[] = tableRows(section(doc, 'Who owns what')).map((cells) => ({
  dir: codeSpans(cells[0]!)[0]!,
  layer: Number(cells[1]),
  mayImport: codeSpans(cells[3]!),
}));
const byDir = new Map(rows.map((row) => [row.dir, row]));

/** `cluster` -> `packages/cluster`, `realtime` -> `apps/realtime`. */
function dirOf(name: string): string {
  const dirs = rows.map((r) => r.dir).filter((dir) => dir.split('/')[1] === name);
  if (dirs.length !== 1) throw new Error(`"${name}" names ${dirs.length} directories of the table`);
  return dirs[0]!;
}

/** `apps/realtime/src/core/x.ts` -> `apps/realtime`. */
const ownerOf = (file: string) => file.split('/').slice(0, 2).join('/');

const graph = importGraph();

describe('ARCHITECTURE.md', () => {
  it('has a row for every directory of apps/ and packages/, and no other', () => {
    const onDisk = ['apps', 'packages'].flatMap((group) =>
      readdirSync(join(ROOT, group), { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
        .map((entry) => `${group}/${entry.name}`),
    );
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.map((r) => r.dir).sort()).toEqual(onDisk.sort());
  });

  it('allows each directory imports only of lower layers', () => {
    const upward: string[] = [];
    for (const row of rows) {
      expect(Number.isInteger(row.layer), `${row.dir}'s layer`).toBe(true);
      for (const name of row.mayImport) {
        const target = byDir.get(dirOf(name))!;
        if (target.layer >= row.layer)
          upward.push(`${row.dir} (${row.layer}) -> ${target.dir} (${target.layer})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("lists every import from one directory's sources into another's", () => {
    const undeclared = new Set<string>();
    for (const [from, targets] of graph) {
      const source = byDir.get(ownerOf(from));
      if (!source) continue; // the first test names it
      const allowed = new Set(source.mayImport.map(dirOf));
      for (const to of targets) {
        const target = ownerOf(to);
        if (target !== source.dir && !allowed.has(target)) {
          undeclared.add(`${source.dir} -> ${target} (${from} imports ${to})`);
        }
      }
    }
    expect([...undeclared]).toEqual([]);
  });

  it("holds the realtime node's inner layering: core/ at the bottom, handlers below runtime/", () => {
    const src = 'apps/realtime/src/';
    const dirIn = (file: string) =>
      file.startsWith(src) ? file.slice(src.length).split('/')[0] : undefined;
    const handlers = ['events', 'records', 'rpc', 'presence', 'listen'];
    const above: Record<string, string[]> = {
      core: ['runtime', 'gateway', 'http-api', ...handlers],
      ...Object.fromEntries(handlers.map((h) => [h, ['runtime', 'gateway', 'http-api']])),
    };
    const wrong: string[] = [];
    for (const [from, targets] of graph) {
      const forbidden = above[dirIn(from) ?? ''];
      if (!forbidden) continue;
      for (const to of targets) {
        if (forbidden.includes(dirIn(to) ?? '')) wrong.push(`${from} imports ${to}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
