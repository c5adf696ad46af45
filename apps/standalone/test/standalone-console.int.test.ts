import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Clients, type RunningHubstream, signUp, startHubstream, until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The dashboard's live console under `pnpm start` (one process, PGlite, the
// in-process bus, no Redis): the console's publish reaches a client through
// the in-process data API, and the client's event reaches the console's
// stream through the in-process bus.

const ALLOW = `record:\n  "*":\n    read: true\nevent:\n  "*":\n    publish: true\n    subscribe: true\nrpc:\n  "*":\n    request: true\npresence:\n  "*":\n    allow: true\n`;

let dataDir: string;
let hubstream: RunningHubstream;
const clients = new Clients();
const aborts: AbortController[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'hs-console-'));
  hubstream = await startHubstream({ DATA_DIR: dataDir });
}, 120_000);

afterAll(async () => {
  for (const abort of aborts) abort.abort();
  clients.closeAll();
  await hubstream?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('live console of the single process', () => {
  it('publishes to a client and shows the client events', { timeout: 60_000 }, async () => {
    const owner = await signUp(hubstream.controlPlaneUrl);
    const appId = await owner.createApp({ name: 'console', valve: ALLOW });

    const abort = new AbortController();
    aborts.push(abort);
    const stream = await fetch(
      `${hubstream.controlPlaneUrl}/v1/apps/${appId}/console/stream?name=pong`,
      {
        headers: { authorization: `Bearer ${owner.token}` },
        signal: abort.signal,
      },
    );
    expect(stream.status).toBe(200);
    let text = '';
    (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true });
      }
    })().catch(() => {});

    const client = await clients.login(`${hubstream.realtimeUrl}/${appId}`, { username: 'ada' });
    const received: unknown[] = [];
    client.event.subscribe('ping', (data: unknown) => received.push(data));
    await until(
      async () => {
        const sent = await owner.call('POST', `/v1/apps/${appId}/console/events`, {
          body: { name: 'ping', data: { from: 'console' } },
        });
        expect(sent.status).toBe(200);
        return received.length > 0 ? true : undefined;
      },
      'the console publish at the client',
      { everyMs: 300 },
    );
    expect(received[0]).toEqual({ from: 'console' });

    client.event.emit('pong', { from: 'ada' });
    await until(
      async () => (text.includes('"name":"pong"') ? true : undefined),
      'the event on the stream',
    );
    expect(text).toContain('"user":"open:ada"');
  });
});
