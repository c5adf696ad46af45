import type { DeepstreamClient } from '@deepstream/client';
import { allowAllApp, request, trustingClient, until } from '@hubstream/testing';
import type { Standalone } from '@hubstream/testing/apps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTextStandalone, type TextStandalone } from './text-deployments.ts';

// The HTTP data API as `pnpm start` serves it: both servers in one process
// (apps/standalone, here in the test's process and on the test Postgres
// rather than PGlite, whose start alone takes longer than this file may),
// no Redis (tokens kept in the node), and TLS on the realtime port: the API
// answers on https:// wherever the WebSocket endpoint is wss://.

let standalone: TextStandalone;
let hub: Standalone;
let ca: string;
const clients: DeepstreamClient[] = [];

beforeAll(async () => {
  standalone = await startTextStandalone();
  ({ hub, ca } = standalone);
}, 60_000);
afterAll(async () => {
  for (const client of clients) client.close();
  await standalone?.stop();
});

describe('HTTP data API under pnpm start', { timeout: 30_000 }, () => {
  it('serves commands and tokens over https:// beside wss://', async () => {
    expect(hub.realtimeUrl).toMatch(/^wss:\/\//);
    const { id } = await allowAllApp(hub.controlPlaneUrl, ca);
    // The test certificate names localhost (as tls.int.test.ts connects).
    const client = trustingClient(`${hub.realtimeUrl.replace('127.0.0.1', 'localhost')}/${id}`, ca);
    clients.push(client);
    await client.login({ username: 'watcher' });
    const seen: unknown[] = [];
    client.event.subscribe('ping', (data: unknown) => seen.push(data));

    const base = `${hub.realtimeUrl.replace(/^wss/, 'https')}/${id}`;
    const login = await request(`${base}/api/auth`, {
      ca,
      method: 'POST',
      body: { username: 'backend' },
    });
    expect(login.status).toBe(200);
    expect(login.encrypted).toBe(true);
    const { token } = login.body as { token: string };
    const res = await request(`${base}/api`, {
      ca,
      method: 'POST',
      body: {
        token,
        body: [
          { topic: 'event', action: 'emit', eventName: 'ping', data: 'over https' },
          { topic: 'record', action: 'write', recordName: 'doc', data: { ok: true } },
          { topic: 'record', action: 'read', recordName: 'doc' },
          { topic: 'presence', action: 'query' },
        ],
      },
    });
    expect(res).toEqual({
      status: 200,
      encrypted: true,
      body: {
        result: 'SUCCESS',
        body: [
          { success: true },
          { success: true },
          { success: true, version: 1, data: { ok: true } },
          { success: true, users: ['open:watcher'] },
        ],
      },
    });
    // The client sends its subscriptions in batches, maybe after that emit:
    // emitted again until the subscription is in place.
    await until(
      async () => {
        if (seen.length > 0) return true;
        await request(`${base}/api`, {
          ca,
          method: 'POST',
          body: {
            token,
            body: [{ topic: 'event', action: 'emit', eventName: 'ping', data: 'again' }],
          },
        });
        return undefined;
      },
      'the emit at the subscribed client',
      { everyMs: 50 },
    );
    expect(seen[0]).toMatch(/^(over https|again)$/);
  });
});
