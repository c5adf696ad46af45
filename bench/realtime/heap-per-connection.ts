// What one idle logged-in connection holds on a server's heap, by kind of
// object: a heap snapshot (after GC) with no bench connections and one with
// N, and the difference of each constructor's retained-by-self size, per
// connection. Not a test: it prints a table. Used for the memory phase of
// bench:realtime, whose figure it breaks down.
//
//   pnpm exec tsx --conditions=@hubstream/source bench/realtime/heap-per-connection.ts \
//     [--server=hubstream] [--connections=2000] [--top=25] [--by=retainer]
//
// --by=retainer: each object is keyed also by what holds it (the kind of
// its first retainer and the edge's name), to tell whose arrays and
// closures they are.

import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeAll, openMany } from './client.ts';
import { runBench, type ServerKind, ServerProcess } from './servers.ts';

const flag = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const kind = flag('server', 'hubstream') as ServerKind;
const connections = Number(flag('connections', '2000'));
const top = Number(flag('top', '25'));
const byRetainer = flag('by', 'kind') === 'retainer';
/** --keep: the two snapshots stay (their paths are printed), for a closer look in DevTools. */
const keep = process.argv.includes('--keep');

type Snapshot = {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
};

/** For each node (by its index / node width): the key of its first strong retainer and the edge's name. */
function retainers(snapshot: Snapshot, keyOf: (node: number) => string): string[] {
  const { meta } = snapshot.snapshot;
  const width = meta.node_fields.length;
  const edgeWidth = meta.edge_fields.length;
  const edgeCountAt = meta.node_fields.indexOf('edge_count');
  const edgeTypeAt = meta.edge_fields.indexOf('type');
  const edgeNameAt = meta.edge_fields.indexOf('name_or_index');
  const toAt = meta.edge_fields.indexOf('to_node');
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = snapshot;
  const out: string[] = new Array(nodes.length / width).fill('');
  let edge = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const count = nodes[i + edgeCountAt]!;
    for (let e = 0; e < count; e++, edge += edgeWidth) {
      const to = edges[edge + toAt]! / width;
      if (out[to]) continue;
      const type = edgeTypes[edges[edge + edgeTypeAt]!];
      if (type === 'weak' || type === 'shortcut') continue;
      const raw = edges[edge + edgeNameAt]!;
      const name = type === 'element' || type === 'hidden' ? `[${raw}]` : strings[raw];
      out[to] = `${keyOf(i)} .${name}`;
    }
  }
  return out;
}

/** Self size and count per "type:name" (constructor name for objects). */
async function sizesByKind(path: string): Promise<Map<string, { size: number; count: number }>> {
  const snapshot = JSON.parse(await readFile(path, 'utf8')) as Snapshot;
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const out = new Map<string, { size: number; count: number }>();
  const { nodes, strings } = snapshot;
  const keyOf = (i: number) => {
    const type = types[nodes[i + typeAt]!] ?? '?';
    const name =
      type === 'object' || type === 'closure' || type === 'native'
        ? strings[nodes[i + nameAt]!]
        : '';
    return `${type}${name ? `: ${name}` : ''}`;
  };
  const held = byRetainer ? retainers(snapshot, keyOf) : [];
  for (let i = 0; i < nodes.length; i += width) {
    const key = byRetainer ? `${keyOf(i)} <- ${held[i / width]}` : keyOf(i);
    const entry = out.get(key) ?? { size: 0, count: 0 };
    entry.size += nodes[i + sizeAt]!;
    entry.count++;
    out.set(key, entry);
  }
  return out;
}

async function main() {
  const server = await ServerProcess.start(kind);
  const base = join(tmpdir(), `heap-${kind}-${process.pid}`);
  // A first few connections, closed: what the server sets up once is not charged to those measured.
  await closeAll(await openMany(server.url, 100, 'warm-', { concurrency: 100 }));
  await server.heapSnapshot(`${base}-0.heapsnapshot`);
  const clients = await openMany(server.url, connections, 'idle-', { concurrency: 100 });
  await new Promise((resolve) => setTimeout(resolve, 500));
  await server.heapSnapshot(`${base}-n.heapsnapshot`);
  await closeAll(clients);
  const before = await sizesByKind(`${base}-0.heapsnapshot`);
  const after = await sizesByKind(`${base}-n.heapsnapshot`);
  if (keep) process.stdout.write(`snapshots: ${base}-0.heapsnapshot ${base}-n.heapsnapshot\n`);
  else {
    await rm(`${base}-0.heapsnapshot`);
    await rm(`${base}-n.heapsnapshot`);
  }
  const rows = [...after].map(([key, a]) => {
    const b = before.get(key) ?? { size: 0, count: 0 };
    return {
      key,
      bytes: (a.size - b.size) / connections,
      count: (a.count - b.count) / connections,
    };
  });
  rows.sort((x, y) => y.bytes - x.bytes);
  const total = rows.reduce((sum, row) => sum + row.bytes, 0);
  process.stdout.write(
    `${kind}: ${connections} idle connections, JS heap growth ${(total / 1024).toFixed(2)} KB per connection\n\n` +
      '| bytes per connection | objects per connection | kind |\n|---:|---:|---|\n' +
      rows
        .slice(0, top)
        .map(
          (r) =>
            `| ${r.bytes.toFixed(0)} | ${r.count.toFixed(2)} | ${r.key.replaceAll('|', '/')} |`,
        )
        .join('\n') +
      '\n',
  );
}

await runBench(main);
