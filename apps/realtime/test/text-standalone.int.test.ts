import type { DeepstreamClient } from '@deepstream/client';
import { allowAllApp, trustingClient } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeV2Clients, done, v2Connect } from './text-client.ts';
import { startTextStandalone, type TextStandalone } from './text-deployments.ts';

// deepstream.io-client-js 2.3.4 against Hubstream as `pnpm start` runs it
// (apps/standalone in this process, on the test Postgres rather than PGlite
// to start quickly), over wss:// as deepstreamHub apps connected: the app URL
// the control plane gives, and deepstreamHub's ?apiKey= form, beside a v7
// client. (The feature tests run against it too: text-deployments.ts.)

let standalone: TextStandalone;
const v7Clients: DeepstreamClient[] = [];

beforeAll(async () => {
  standalone = await startTextStandalone();
}, 60_000);
afterAll(async () => {
  try {
    await closeV2Clients();
  } finally {
    for (const client of v7Clients) client.close();
    await standalone?.stop();
  }
});

describe('the 2.x client under pnpm start', { timeout: 30_000 }, () => {
  it('logs in on the app URL and on ?apiKey= over wss://, and works with a v7 client', async () => {
    const { hub, ca, base, tls } = standalone;
    const { id, url } = await allowAllApp(hub.controlPlaneUrl, ca);
    // The test certificate names localhost (base).
    expect(url).toMatch(new RegExp(`/${id}$`));
    const byPath = await v2Connect(`${base}/${id}`, { username: 'legacy' }, tls);
    const byKey = await v2Connect(`${base}?apiKey=${id}`, { username: 'hub' }, tls);
    const v7 = trustingClient(`${base}/${id}`, ca);
    v7Clients.push(v7);
    await v7.login({ username: 'modern' });

    // An event from v7 to both 2.x clients.
    const seen: unknown[] = [];
    byPath.client.event.subscribe('news', (data) => seen.push(['path', data]));
    byKey.client.event.subscribe('news', (data) => seen.push(['key', data]));
    // A record written by a 2.x client and read by v7, an RPC of the other 2.x client made by v7.
    await done<void>((cb) =>
      byPath.client.record.setData('doc', { from: '2.x' }, (error: string | null) =>
        cb(error, undefined),
      ),
    );
    byKey.client.rpc.provide('double', (data, response) => response.send((data as number) * 2));
    // The subscriptions and the provide are in once the 2.x clients' own calls are answered.
    await done((cb) => byKey.client.record.snapshot('doc', cb));
    expect(await v7.record.snapshot('doc')).toEqual({ from: '2.x' });
    expect(await v7.rpc.make('double', 21)).toBe(42);
    v7.event.emit('news', { headline: 'hello' });
    await new Promise<void>((resolve) => {
      const check = () => (seen.length === 2 ? resolve() : setTimeout(check, 5));
      check();
    });
    expect(seen.sort()).toEqual([
      ['key', { headline: 'hello' }],
      ['path', { headline: 'hello' }],
    ]);
    expect([...byPath.errors, ...byKey.errors]).toEqual([]);
  });
});
