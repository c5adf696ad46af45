import { once } from 'node:events';
import { DeepstreamClient } from '@deepstream/client';
import { CLOSE_CODES } from '@hubstream/protocol';
import { until } from '@hubstream/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type Stack, startStack } from './harness.ts';
import { closeV2Clients, v2Client, v2Connect, v2Login } from './text-client.ts';

// deepstream.io-client-js 2.3.4 (the text protocol) on the URLs and port of
// the v7 client: the handshake, every login strategy, the login bounds, the
// server's heartbeat, and the pre-login bounds of raw text frames. The node
// beats every 300 ms here, so a missed heartbeat shows within a second.

const HEARTBEAT_MS = 300;
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS) } });
});
afterAll(async () => {
  await stack?.close();
});
afterEach(() => closeV2Clients());

const US = '\x1f';
const RS = '\x1e';
/** A text message as the 2.x client writes it, from `|`-separated parts. */
const text = (...messages: string[]) => messages.map((m) => m.replaceAll('|', US) + RS).join('');

/** A raw text socket: every frame received, as `|`-separated text. */
async function rawText(url: string) {
  const socket = new WebSocket(url);
  const frames: string[] = [];
  socket.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) frames.push(data.toString().replaceAll(US, '|').replaceAll(RS, '+'));
  });
  const closed = once(socket, 'close').then(([code]) => code as number);
  await once(socket, 'open');
  const next = async (prefix: string) => {
    await until(() => frames.some((f) => f.startsWith(prefix)), `a frame ${prefix}`);
    return frames.find((f) => f.startsWith(prefix)) as string;
  };
  return { socket, frames, closed, next };
}

describe('the 2.x client on the v7 URLs', () => {
  it('logs in on wss://HOST/APP_ID and on /deepstream?apiKey=APP_ID, beside a v7 client', async () => {
    const appId = await stack.createApp();
    const byPath = v2Client(`${stack.realtimeUrl}/${appId}`);
    expect(await v2Login(byPath.client, { username: 'alice' })).toEqual([
      true,
      { id: 'open:alice' },
    ]);
    // deepstreamHub's own form: the client adds /deepstream before the query.
    const byKey = v2Client(`${stack.realtimeUrl}?apiKey=${appId}`);
    expect(await v2Login(byKey.client, { username: 'bob' })).toEqual([true, { id: 'open:bob' }]);
    expect(byKey.client.getConnectionState()).toBe('OPEN');
    // The v7 client on the same URL ignores the text challenge.
    const v7 = new DeepstreamClient(`${stack.realtimeUrl}/${appId}`, { heartbeatInterval: 100 });
    const v7Errors: unknown[] = [];
    v7.on('error', (...args: unknown[]) => v7Errors.push(args));
    expect(await v7.login({ username: 'carol' })).toEqual({ id: 'open:carol' });
    const runtime = (await stack.runtime(appId))!;
    expect([...runtime.connections].map((c) => c.user?.id).sort()).toEqual([
      'open:alice',
      'open:bob',
      'open:carol',
    ]);
    v7.close();
    expect(v7Errors).toEqual([]);
    expect([...byPath.errors, ...byKey.errors]).toEqual([]);
  });

  it('keeps a logged-in connection alive by the server heartbeat (C|PI answered by C|PO)', async () => {
    const appId = await stack.createApp();
    // The client closes after two intervals without a C|PI; the node closes
    // after two without a frame: both would within a second.
    const v2 = await v2Connect(
      `${stack.realtimeUrl}/${appId}`,
      {},
      {
        heartbeatInterval: HEARTBEAT_MS,
      },
    );
    await new Promise((r) => setTimeout(r, 5 * HEARTBEAT_MS));
    expect(v2.client.getConnectionState()).toBe('OPEN');
    expect(v2.errors).toEqual([]);
    const runtime = (await stack.runtime(appId))!;
    expect([...runtime.connections].filter((c) => c.isOpen)).toHaveLength(1);
  });

  it('reconnects after the node restarts: logs in again and resubscribes', async () => {
    const appId = await stack.createApp();
    const url = `${stack.realtimeUrl}/${appId}`;
    const v2 = await v2Connect(
      url,
      { username: 'loyal' },
      {
        maxReconnectAttempts: 30,
        reconnectIntervalIncrement: 100,
        maxReconnectInterval: 300,
      },
    );
    const received: unknown[] = [];
    v2.client.event.subscribe('news', (data) => received.push(data));
    const states: string[] = [];
    v2.client.on('connectionStateChanged', (state) => states.push(String(state)));
    await stack.restartRealtime();
    await until(() => states.at(-1) === 'OPEN', 'the client to be back');
    expect(states).toContain('RECONNECTING');
    const runtime = (await stack.runtime(appId))!;
    await until(
      () => runtime.events.subscriptions.subscribers('news') !== undefined,
      'the subscription again',
    );
    const emitter = await v2Connect(url, { username: 'emitter' });
    emitter.client.event.emit('news', 'after the restart');
    await until(() => received.length === 1, 'the event');
    expect(received).toEqual(['after the restart']);
    // The node's going away is a connection error to the 2.x client; nothing else is.
    expect(v2.errors.filter((e) => e.event !== 'CONNECTION_ERROR')).toEqual([]);
  });

  it('refuses an unknown app with C|REJ: the client stops, without reconnecting', async () => {
    const v2 = v2Client(`${stack.realtimeUrl}/nosuchapp00`);
    v2.client.login({}, () => {});
    await until(() => v2.client.getConnectionState() === 'CLOSED', 'the client to stop');
    const raw = await rawText(`${stack.realtimeUrl}/nosuchapp00`);
    raw.socket.send(text('C|CHR|ws://x/nosuchapp00'));
    expect(await raw.next('C|REJ')).toBe('C|REJ+');
    expect(await raw.closed).toBe(CLOSE_CODES.APP_NOT_FOUND);
  });
});

describe('text logins', () => {
  it('email auth: clientData on success, the reason on failure', async () => {
    const appId = await stack.createApp({
      auth: { open: { enabled: false }, email: { enabled: true } },
    });
    const created = await stack.api('POST', `/v1/apps/${appId}/users`, {
      email: 'ann@example.com',
      password: 'long enough password',
      clientData: { name: 'Ann' },
    });
    const url = `${stack.realtimeUrl}/${appId}`;
    const v2 = v2Client(url);
    const [failed, reason] = await v2Login(v2.client, {
      type: 'email',
      email: 'ann@example.com',
      password: 'wrong',
    });
    expect(failed).toBe(false);
    expect(JSON.stringify(reason)).toContain('INVALID_EMAIL_OR_PASSWORD');
    // A failed login leaves the connection waiting for another (same socket).
    expect(
      await v2Login(v2.client, {
        type: 'email',
        email: 'ann@example.com',
        password: 'long enough password',
      }),
    ).toEqual([true, { name: 'Ann', id: created.body.id }]);
  });

  it('webhook auth: the id the webhook gives, in clientData', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const v2 = v2Client(`${stack.realtimeUrl}/${appId}`);
    expect(await v2Login(v2.client, { username: 'hooked' })).toEqual([true, { id: 'hooked' }]);
    const runtime = (await stack.runtime(appId))!;
    expect([...runtime.connections].map((c) => c.user?.strategy)).toEqual(['webhook']);
  });

  it('stops after too many failed logins, then refuses to log in again', async () => {
    const appId = await stack.createApp({
      auth: { open: { enabled: false }, email: { enabled: true }, maxAuthAttempts: 2 },
    });
    const v2 = v2Client(`${stack.realtimeUrl}/${appId}`);
    const bad = { type: 'email', email: 'no@example.com', password: 'x' };
    expect((await v2Login(v2.client, bad))[0]).toBe(false);
    const results: [boolean, unknown][] = [];
    v2.client.login(bad, (success, data) => results.push([success, data]));
    await until(() => results.length === 2, 'the last failure and TOO_MANY_AUTH_ATTEMPTS');
    expect(results[1]).toEqual([false, 'too many authentication attempts']);
    await until(() => v2.client.getConnectionState() === 'CLOSED', 'the client to stop');
    v2.client.login({}, () => {});
    expect(v2.errors.map((e) => e.event)).toContain('IS_CLOSED');
  });

  it('ends a connection that does not log in in time with CONNECTION_AUTHENTICATION_TIMEOUT', async () => {
    const appId = await stack.createApp({ auth: { unauthenticatedTimeoutMs: 200 } });
    const v2 = v2Client(`${stack.realtimeUrl}/${appId}`);
    await until(() => v2.errors.length > 0, 'the timeout');
    expect(v2.errors[0]).toMatchObject({
      topic: 'C',
      event: 'CONNECTION_AUTHENTICATION_TIMEOUT',
    });
    v2.client.login({}, () => {});
    expect(v2.errors.at(-1)?.event).toBe('IS_CLOSED');
  });
});

describe('raw text frames', () => {
  it('applies the pre-login frame size bound to text', async () => {
    const appId = await stack.createApp();
    const raw = await rawText(`${stack.realtimeUrl}/${appId}`);
    expect(raw.frames[0]).toBe('C|CH+');
    raw.socket.send(text(`C|CHR|${'x'.repeat(20_000)}`));
    expect(await raw.closed).toBe(CLOSE_CODES.MESSAGE_TOO_BIG);
  });

  it('bounds what waits behind a challenge, counted per message in a frame', async () => {
    const appId = await stack.createApp();
    const raw = await rawText(`${stack.realtimeUrl}/${appId}`);
    const many = Array.from({ length: 20 }, (_, i) => `E|S|news${i}`);
    raw.socket.send(text('C|CHR|ws://x', 'A|REQ|{}', ...many));
    expect(await raw.closed).toBe(CLOSE_CODES.TOO_MANY_MESSAGES_BEFORE_LOGIN);
  });

  it('refuses a frame of more than 100 messages whole, and binary frames on a text connection', async () => {
    const appId = await stack.createApp();
    const raw = await rawText(`${stack.realtimeUrl}/${appId}`);
    raw.socket.send(text('C|CHR|ws://x'));
    await raw.next('C|A');
    raw.socket.send(text('A|REQ|{"username":"raw"}'));
    expect(await raw.next('A|A')).toBe('A|A|O{"id":"open:raw"}+');
    const flood = Array.from({ length: 101 }, (_, i) => `E|S|flood${i}`);
    raw.socket.send(text(...flood));
    expect(await raw.next('X|E')).toBe('X|E|MESSAGE_PARSE_ERROR+');
    raw.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    await until(() => raw.frames.filter((f) => f.startsWith('X|E')).length === 2, 'a second X|E');
    // Nothing of the refused frame was subscribed; a frame within bounds is handled.
    raw.socket.send(text('E|S|ok1', 'E|S|ok2'));
    await until(() => raw.frames.some((f) => f.includes('E|A|S|ok2')), 'the acks');
    const runtime = (await stack.runtime(appId))!;
    expect([...runtime.events.subscriptions.names()].sort()).toEqual(['ok1', 'ok2']);
    raw.socket.close();
  });
});
