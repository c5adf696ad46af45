import { api, Clients, type Developer, signUp } from '@hubstream/testing';
import { TEMPLATES } from '@hubstream/valve';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2EStack, startE2EStack } from './e2e-stack.ts';

// The live console's channel (issue 18 item 3) against a real control plane
// and realtime node on Postgres, with the official client: who may open it
// (credentials, the app's owner, the Origin of a cookie request), what it
// carries (events by name and pattern, publishes and RPCs, presence and
// connections, denials with their rule and line, failed logins), that a
// console of one app sees nothing of another, and that a burst of denials
// reaches it bounded, the rest counted in "dropped" markers.

type Item = { type: string } & Record<string, unknown>;

/** Rules: events under chat/ and ping may be published; everything else about events is allowed but publishing. */
const DENY_PUBLISH = `event:
  "*":
    publish: false
    subscribe: true
    listen: true
  "chat/*":
    publish: true
    subscribe: true
  "ping":
    publish: true
    subscribe: true
rpc:
  "*":
    provide: true
    request: true
presence:
  "*":
    allow: true
record:
  "*":
    create: true
    read: true
    write: true
    delete: true
    listen: true
    notify: true
`;

describe('live console channel', { timeout: 120_000 }, () => {
  let stack: E2EStack;
  const clients = new Clients();
  const streams: AbortController[] = [];

  beforeAll(async () => {
    stack = await startE2EStack();
  }, 60_000);
  afterAll(async () => {
    clients.closeAll();
    // With streams still open: closing the control plane ends them (it would wait forever otherwise).
    await stack?.close();
    for (const s of streams) s.abort();
  });

  const call = (
    method: string,
    path: string,
    options: { token?: string; cookie?: string; body?: unknown; origin?: string } = {},
  ) => {
    const headers: Record<string, string> = {};
    if (options.cookie) headers.cookie = options.cookie;
    if (options.origin) headers.origin = options.origin;
    const { token, body } = options;
    return api(stack.controlPlaneUrl, method, `/v1${path}`, {
      headers,
      ...(token ? { token } : {}),
      ...(body === undefined ? {} : { body }),
    });
  };

  /** A developer signed up as the dashboard does: a session cookie, and a token. */
  const developer = () => signUp(stack.controlPlaneUrl, { prefix: 'console', cookie: true });

  const newApp = (owner: Developer, valve: string) => owner.createApp({ name: 'Console', valve });

  /** Opens the SSE stream and collects its items; `status` is the HTTP answer. */
  async function openStream(
    appId: string,
    query: string,
    headers: Record<string, string>,
  ): Promise<{ status: number; items: Item[]; body: unknown; ended: () => boolean }> {
    const abort = new AbortController();
    streams.push(abort);
    const response = await fetch(
      `${stack.controlPlaneUrl}/v1/apps/${appId}/console/stream${query}`,
      { headers, signal: abort.signal },
    );
    const items: Item[] = [];
    let ended = false;
    if (response.status !== 200) {
      return { status: response.status, items, body: await response.json(), ended: () => true };
    }
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    let ready: () => void = () => {};
    const isReady = new Promise<void>((resolve) => {
      ready = resolve;
    });
    (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event === 'ready') ready();
          else if (event && data) items.push(JSON.parse(data) as Item);
        }
      }
      ended = true;
    })().catch(() => {});
    await isReady;
    return { status: 200, items, body: null, ended: () => ended };
  }

  const client = (appId: string, username: string) =>
    clients.login(`${stack.realtimeUrl}/${appId}`, { username });

  const ofType = (items: Item[], type: string) => items.filter((i) => i.type === type);

  it("refuses a request without credentials, another account's app, and another Origin", async () => {
    const owner = await developer();
    const stranger = await developer();
    const appId = await newApp(owner, DENY_PUBLISH);

    expect((await openStream(appId, '', {})).status).toBe(401);
    expect(
      (await call('POST', `/apps/${appId}/console/events`, { body: { name: 'x' } })).status,
    ).toBe(401);
    expect((await call('POST', `/apps/${appId}/console/rpc`, { body: { name: 'x' } })).status).toBe(
      401,
    );

    // Another account's app does not exist for it, whatever it asks.
    const foreign = await openStream(appId, '', { authorization: `Bearer ${stranger.token}` });
    expect(foreign.status).toBe(404);
    const foreignCookie = await openStream(appId, '', {
      cookie: stranger.cookie,
      origin: stack.controlPlaneUrl,
    });
    expect(foreignCookie.status).toBe(404);
    for (const path of ['events', 'rpc']) {
      const sent = await call('POST', `/apps/${appId}/console/${path}`, {
        token: stranger.token,
        body: { name: 'chat/x' },
      });
      expect(sent.status).toBe(404);
    }

    // The cookie is ambient: a page of another origin may not open the stream.
    const crossSite = await openStream(appId, '', {
      cookie: owner.cookie,
      origin: 'https://evil.example',
    });
    expect(crossSite.status).toBe(403);
    expect(JSON.stringify(crossSite.body)).toContain('evil.example');
    const crossSiteFetch = await openStream(appId, '', {
      cookie: owner.cookie,
      'sec-fetch-site': 'cross-site',
    });
    expect(crossSiteFetch.status).toBe(403);
    const posted = await call('POST', `/apps/${appId}/console/events`, {
      cookie: owner.cookie,
      origin: 'https://evil.example',
      body: { name: 'chat/x' },
    });
    expect(posted.status).toBe(403);

    // From the dashboard's own origin it opens.
    const own = await openStream(appId, '', {
      cookie: owner.cookie,
      origin: stack.controlPlaneUrl,
      'sec-fetch-site': 'same-origin',
    });
    expect(own.status).toBe(200);

    // A pattern outside the listen policy (RE2: no backreferences) is refused with the reason.
    const bad = await openStream(appId, `?pattern=${encodeURIComponent('(a)\\1')}`, {
      authorization: `Bearer ${owner.token}`,
    });
    expect(bad.status).toBe(400);
  });

  it('ends an open stream once its session is logged out', async () => {
    const owner = await developer();
    const appId = await newApp(owner, DENY_PUBLISH);
    const headers = { cookie: owner.cookie, origin: stack.controlPlaneUrl };
    const stream = await openStream(appId, '', headers);
    const other = await openStream(appId, '', { authorization: `Bearer ${owner.token}` });
    const out = await fetch(`${stack.controlPlaneUrl}/v1/logout`, { method: 'POST', headers });
    expect(out.status).toBeLessThan(300);
    // Checked again at the stream's heartbeat (every 15 s).
    await expect.poll(stream.ended, { timeout: 40_000, interval: 500 }).toBe(true);
    // The account's other session (the bearer token) still watches.
    expect(other.ended()).toBe(false);
  });

  it('shows events by name and pattern, publishes to clients, makes RPCs, and shows presence per node', async () => {
    const owner = await developer();
    const appId = await newApp(owner, TEMPLATES.development.valve);
    const auth = { authorization: `Bearer ${owner.token}` };
    const stream = await openStream(appId, '?name=ping&pattern=%5Echat%2F', auth);

    const ada = await client(appId, 'ada');
    const received: unknown[] = [];
    ada.event.subscribe('chat/room-1', (data: unknown) => received.push(data));
    ada.event.emit('chat/room-1', { text: 'hello' });
    ada.event.emit('elsewhere', { text: 'not watched' });
    ada.event.emit('ping', {});

    await expect
      .poll(() => ofType(stream.items, 'event').map((e) => e.name))
      .toEqual(['chat/room-1', 'ping']);
    const chat = ofType(stream.items, 'event')[0]!;
    expect(JSON.parse(chat.data as string)).toEqual({ text: 'hello' });
    expect(chat.user).toBe('open:ada');
    expect(typeof chat.node).toBe('string');

    // Published from the console: the client gets it, the console shows it (as the dashboard user).
    // The client sends its SUBSCRIBE on its bulk-subscription timer, so it may
    // reach the node after the emits above: until it has, a publish finds no
    // subscriber there (as the RPC below waits for its provider).
    await expect
      .poll(
        async () => {
          const published = await call('POST', `/apps/${appId}/console/events`, {
            token: owner.token,
            body: { name: 'chat/room-1', data: { from: 'console' } },
          });
          if (published.status !== 200) throw new Error(`publish answered ${published.status}`);
          return received;
        },
        { interval: 250 },
      )
      .toContainEqual({ from: 'console' });
    await expect
      .poll(() => ofType(stream.items, 'event').find((e) => e.user === 'hubstream:dashboard'))
      .toMatchObject({ name: 'chat/room-1' });

    // An RPC: answered by the client's provider; an unprovided one says so.
    ada.rpc.provide('add', (data: { a: number; b: number }, response: { send(v: unknown): void }) =>
      response.send({ sum: data.a + data.b }),
    );
    // Until the provider's registration has reached the node, the RPC finds no provider.
    await expect
      .poll(
        async () =>
          (
            await call('POST', `/apps/${appId}/console/rpc`, {
              token: owner.token,
              body: { name: 'add', data: { a: 1, b: 2 } },
            })
          ).body,
        { timeout: 10_000 },
      )
      .toEqual({ ok: true, data: { sum: 3 } });
    const none = await call('POST', `/apps/${appId}/console/rpc`, {
      token: owner.token,
      body: { name: 'nobody-provides-this' },
    });
    expect(none.status).toBe(200);
    expect(none.body).toMatchObject({ ok: false, errorEvent: 'NO_RPC_PROVIDER' });

    // Presence and connections per node: ada, then bob too, then bob leaves.
    await expect
      .poll(() => ofType(stream.items, 'nodes').at(-1)?.online, { timeout: 15_000 })
      .toEqual(['open:ada']);
    const bob = await client(appId, 'bob');
    // An anonymous open login is a connection, not a user online (as for presence).
    await clients.login(`${stack.realtimeUrl}/${appId}`, {});
    await expect
      .poll(() => ofType(stream.items, 'presence').map((p) => [p.user, p.online]))
      .toContainEqual(['open:bob', true]);
    await expect
      .poll(
        () => {
          const last = ofType(stream.items, 'nodes').at(-1);
          return { online: last?.online, nodes: last?.nodes };
        },
        { timeout: 15_000 },
      )
      .toMatchObject({
        online: ['open:ada', 'open:bob'],
        nodes: [{ connections: 3, users: 2 }],
      });
    bob.close();
    await expect
      .poll(() => ofType(stream.items, 'presence').map((p) => [p.user, p.online]))
      .toContainEqual(['open:bob', false]);
  });

  it('shows denials with the rule and its line, and failed logins', async () => {
    const owner = await developer();
    const appId = await newApp(owner, DENY_PUBLISH);
    const stream = await openStream(appId, '', { authorization: `Bearer ${owner.token}` });
    const eve = await client(appId, 'eve');
    eve.event.emit('secret/plans', { x: 1 });
    await expect.poll(() => ofType(stream.items, 'denied')).toHaveLength(1);
    expect(ofType(stream.items, 'denied')[0]).toMatchObject({
      topic: 'event',
      action: 'EMIT',
      name: 'secret/plans',
      user: 'open:eve',
      verdict: 'denied',
      // line 3 of DENY_PUBLISH: `publish: false` under "*"
      rule: { section: 'event', pattern: '*', type: 'publish', line: 3 },
    });

    // A login with a strategy the app does not have.
    const stranger = clients.open(`${stack.realtimeUrl}/${appId}`);
    await stranger.login({ type: 'webhook', token: 'nope' }).catch(() => {});
    await expect.poll(() => ofType(stream.items, 'auth').length).toBeGreaterThan(0);
    expect(ofType(stream.items, 'auth')[0]).toMatchObject({ reason: expect.any(String) });
  });

  it('keeps a burst of denials bounded: what is not shown is counted as dropped', async () => {
    const owner = await developer();
    const appId = await newApp(owner, DENY_PUBLISH);
    const stream = await openStream(appId, '', { authorization: `Bearer ${owner.token}` });
    // Three connections, each below its own message rate (CONNECTION_MAX_MESSAGES_PER_SECOND).
    const senders = [
      await client(appId, 'mallory-1'),
      await client(appId, 'mallory-2'),
      await client(appId, 'mallory-3'),
    ];
    const PER_SENDER = 80;
    const BURST = senders.length * PER_SENDER;
    for (let i = 0; i < PER_SENDER; i++) {
      for (const sender of senders) sender.event.emit(`denied/${i}`, { i });
    }
    // Every denial is either shown or counted in a "k more dropped" marker, and most are dropped.
    const accounted = () =>
      ofType(stream.items, 'denied').length +
      ofType(stream.items, 'dropped')
        .filter((d) => d.what === 'problems')
        .reduce((sum, d) => sum + (d.count as number), 0);
    await expect.poll(accounted, { timeout: 20_000 }).toBe(BURST);
    expect(ofType(stream.items, 'denied').length).toBeLessThan(BURST / 4);
    expect(ofType(stream.items, 'dropped').length).toBeGreaterThan(0);
  });

  it("never shows one app's traffic on another app's console", async () => {
    const owner = await developer();
    const appA = await newApp(owner, DENY_PUBLISH);
    const appB = await newApp(owner, DENY_PUBLISH);
    const auth = { authorization: `Bearer ${owner.token}` };
    const streamA = await openStream(appA, '?pattern=.*', auth);
    const streamB = await openStream(appB, '?pattern=.*', auth);

    const inA = await client(appA, 'alice');
    inA.event.emit('chat/a', { secret: 'A' });
    inA.event.emit('forbidden/a', {});
    await expect.poll(() => ofType(streamA.items, 'event').length).toBe(1);
    await expect.poll(() => ofType(streamA.items, 'denied').length).toBe(1);
    await expect
      .poll(() => ofType(streamA.items, 'nodes').at(-1)?.online, { timeout: 15_000 })
      .toEqual(['open:alice']);

    // B's own traffic arrives on B's console after A's: A's would have come first.
    const inB = await client(appB, 'bert');
    inB.event.emit('chat/b', { marker: true });
    await expect.poll(() => ofType(streamB.items, 'event').map((e) => e.name)).toEqual(['chat/b']);
    await expect
      .poll(() => ofType(streamB.items, 'nodes').at(-1)?.online, { timeout: 15_000 })
      .toEqual(['open:bert']);
    const textB = JSON.stringify(streamB.items);
    expect(textB).not.toContain('alice');
    expect(textB).not.toContain('chat/a');
    expect(textB).not.toContain('forbidden/a');
    expect(ofType(streamB.items, 'denied')).toEqual([]);
    expect(JSON.stringify(streamA.items)).not.toContain('bert');
  });
});
