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
//
// --subscriptions=N: per event subscription instead: one logged-in
// connection in both snapshots, subscribed in the second to N fresh names
// (SUBSCRIBEs of 1,000 names, each acked), as a client holding thousands of
// names does (bench:attacks huge SUBSCRIBE keeps 9,000).

import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENT_ACTION, type Message, TOPIC } from '../../packages/protocol/src/index.ts';
import { BenchClient, closeAll, openMany } from './client.ts';
import { runBench, type ServerKind, ServerProcess } from './servers.ts';

const flag = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const kind = flag('server', 'hubstream') as ServerKind;
const connections = Number(flag('connections', '2000'));
const top = Number(flag('top', '25'));
const subscriptions = Number(flag('subscriptions', '0'));
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

/** Subscribes `client` to `count` names `<prefix>/<i>`, 1,000 a message, each acked. */
async function subscribeNames(
  client: BenchClient,
  prefix: string,
  count: number,
  action: EVENT_ACTION = EVENT_ACTION.SUBSCRIBE,
): Promise<void> {
  for (let from = 0; from < count; from += 1_000) {
    const names = Array.from(
      { length: Math.min(1_000, count - from) },
      (_, i) => `${prefix}/${from + i}`,
    );
    const correlationId = `${prefix}-${action}-${from}`;
    await client.request(
      { topic: TOPIC.EVENT, action, names, correlationId },
      (reply: Message) => reply.isAck === true && reply.correlationId === correlationId,
      `${EVENT_ACTION[action]} ${correlationId}`,
    );
  }
}

/** What is measured: `per` of them between the two snapshots. */
async function measure(
  server: ServerProcess,
  base: string,
): Promise<{ per: number; what: string }> {
  const { url } = server;
  if (subscriptions > 0) {
    const holder = await BenchClient.open(url, 'holder');
    // Names subscribed and unsubscribed: the code paths are compiled, nothing kept.
    await subscribeNames(holder, 'warm', 2_000);
    await subscribeNames(holder, 'warm', 2_000, EVENT_ACTION.UNSUBSCRIBE);
    await server.heapSnapshot(`${base}-0.heapsnapshot`);
    await subscribeNames(holder, 'held', subscriptions);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await server.heapSnapshot(`${base}-n.heapsnapshot`);
    await holder.close();
    return { per: subscriptions, what: 'event subscriptions of one connection' };
  }
  // A first few connections, closed: what the server sets up once is not charged to those measured.
  await closeAll(await openMany(url, 100, 'warm-', { concurrency: 100 }));
  await server.heapSnapshot(`${base}-0.heapsnapshot`);
  const clients = await openMany(url, connections, 'idle-', { concurrency: 100 });
  await new Promise((resolve) => setTimeout(resolve, 500));
  await server.heapSnapshot(`${base}-n.heapsnapshot`);
  await closeAll(clients);
  return { per: connections, what: 'idle connections' };
}

async function main() {
  const server = await ServerProcess.start(kind);
  const base = join(tmpdir(), `heap-${kind}-${process.pid}`);
  const { per, what } = await measure(server, base);
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
      bytes: (a.size - b.size) / per,
      count: (a.count - b.count) / per,
    };
  });
  rows.sort((x, y) => y.bytes - x.bytes);
  const total = rows.reduce((sum, row) => sum + row.bytes, 0);
  process.stdout.write(
    `${kind}: ${per} ${what}, JS heap growth ${total.toFixed(0)} bytes each\n\n` +
      '| bytes each | objects each | kind |\n|---:|---:|---|\n' +
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
