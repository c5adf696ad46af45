import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOW_ALL, type Stack, startStack } from './harness.ts';

// The dashboard's live console across a cluster: a control plane and two
// realtime nodes, each with its own Redis bus. The console's watch reaches
// both nodes; an event is reported once, by the node where it was emitted,
// however many nodes deliver it; each node reports its own connections; a
// denial on the second node reaches the console too (realtime/src/console,
// control-plane/src/routes/console).

type Item = { type: string } & Record<string, unknown>;

const DENY_SECRET = ALLOW_ALL.replace(
  'event:\n  "*":\n',
  'event:\n  "secret/*":\n    publish: false\n    subscribe: true\n  "*":\n',
);

describe('live console in a cluster (Redis)', { timeout: 120_000 }, () => {
  let stack: Stack;
  const aborts: AbortController[] = [];

  beforeAll(async () => {
    stack = await startStack({ nodes: 2, redis: true });
  }, 60_000);
  afterAll(async () => {
    for (const abort of aborts) abort.abort();
    await stack?.close();
  });

  async function openStream(appId: string, query: string): Promise<Item[]> {
    const abort = new AbortController();
    aborts.push(abort);
    const response = await fetch(
      `${stack.controlPlaneUrl}/v1/apps/${appId}/console/stream${query}`,
      { headers: { authorization: `Bearer ${stack.token}` }, signal: abort.signal },
    );
    expect(response.status).toBe(200);
    const items: Item[] = [];
    let ready: () => void = () => {};
    const isReady = new Promise<void>((resolve) => {
      ready = resolve;
    });
    (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event === 'ready') ready();
          else if (event && data) items.push(JSON.parse(data) as Item);
        }
      }
    })().catch(() => {});
    await isReady;
    return items;
  }

  const ofType = (items: Item[], type: string) => items.filter((i) => i.type === type);

  it('reports each event once, from its node, and both nodes connections and denials', async () => {
    const appId = await stack.createApp({ permissions: DENY_SECRET });
    const items = await openStream(appId, '?pattern=%5Echat%2F&name=marker');
    const onZero = await stack.client(appId, { username: 'zed' }, { node: 0 });
    const onOne = await stack.client(appId, { username: 'one' }, { node: 1 });
    const received: unknown[] = [];
    onZero.event.subscribe('chat/room', (data: unknown) => received.push(data));
    // Emitted again until the subscription on node 0 is in place: each emit is counted.
    let emitted = 0;
    await expect
      .poll(
        () => {
          if (received.length === 0) {
            onOne.event.emit('chat/room', { from: 'node 1' });
            emitted++;
          }
          return received.length;
        },
        { interval: 250 },
      )
      .toBeGreaterThan(0);
    // A marker emitted on node 0 after node 0's client got the event: a report of the event by
    // node 0 (a duplicate) would have gone out on node 0's bus before the marker's.
    onZero.event.emit('marker', {});
    await expect.poll(() => ofType(items, 'event').map((e) => e.name)).toContain('marker');
    // Each emit reported once (by node 1), though both nodes delivered it.
    const chats = ofType(items, 'event').filter((e) => e.name === 'chat/room');
    expect(chats).toHaveLength(emitted);
    const nodeOf = (user: string) =>
      ofType(items, 'event').find((e) => e.user === user)?.node as string;
    expect(nodeOf('open:one')).not.toBe(nodeOf('open:zed'));

    // Each node's share of the connections, and everyone online across them.
    await expect
      .poll(
        () => {
          const last = ofType(items, 'nodes').at(-1);
          return last
            ? {
                online: last.online,
                connections: (last.nodes as { connections: number }[]).map((n) => n.connections),
              }
            : null;
        },
        { timeout: 15_000 },
      )
      .toEqual({ online: ['open:one', 'open:zed'], connections: [1, 1] });

    // A denial on node 1 reaches the console, with its rule.
    onOne.event.emit('secret/plans', { x: 1 });
    await expect.poll(() => ofType(items, 'denied')).toHaveLength(1);
    expect(ofType(items, 'denied')[0]).toMatchObject({
      name: 'secret/plans',
      user: 'open:one',
      node: nodeOf('open:one'),
      rule: { section: 'event', pattern: 'secret/*', type: 'publish' },
    });
  });
});
