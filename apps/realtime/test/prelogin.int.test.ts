import {
  AUTH_ACTION,
  CLOSE_CODES,
  CONNECTION_ACTION,
  EVENT_ACTION,
  PARSER_ACTION,
  TOPIC,
} from '@hubstream/protocol';
import { openWire, until, type Wire } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';
import { slowWebhook } from './slow-webhook.ts';

// Before login a connection may do little: small frames, a few messages
// waiting behind a pending challenge or login, its own deadline that PINGs
// do not extend, and no place in the app's connection limit; connections
// not logged in are capped per address instead.

const PER_ADDRESS = 24;

async function challenge(wire: Wire, url: string): Promise<void> {
  wire.send({
    topic: TOPIC.CONNECTION,
    action: CONNECTION_ACTION.CHALLENGE,
    url,
    protocolVersion: '0.1a',
    sdkVersion: '7.0.5',
    sdkType: 'javascript',
  });
  await wire.next((m) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.ACCEPT);
}

const ping = { topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING } as const;

describe('before login', () => {
  let stack: Stack;
  const opened: Wire[] = [];
  const open = async (appId: string) => {
    const wire = await openWire(`${stack.nodeUrl(0)}/${appId}`);
    opened.push(wire);
    return wire;
  };
  const closeAll = async () => {
    await Promise.all(opened.splice(0).map((w) => w.close()));
  };

  beforeAll(async () => {
    stack = await startStack({
      env: { MAX_UNAUTHENTICATED_CONNECTIONS_PER_ADDRESS: String(PER_ADDRESS) },
    });
  });
  afterAll(async () => {
    await closeAll();
    await stack?.close();
  });

  it('does not count connections that never log in against maxConnections', async () => {
    const appId = await stack.createApp();
    const limits = await stack.api('PUT', `/v1/apps/${appId}/limits`, { maxConnections: 20 });
    expect(limits.status).toBe(200);
    const url = `${stack.nodeUrl(0)}/${appId}`;
    const idle = await Promise.all(Array.from({ length: 20 }, () => open(appId)));
    for (const wire of idle) {
      await challenge(wire, url);
      wire.send(ping);
    }
    const runtime = (await stack.runtime(appId))!;
    expect(runtime.connectionCount).toBe(20);
    expect(await runtime.node.connectionCounts.count(appId)).toBe(0);

    // A real user gets in, and holds the app's only counted place.
    const client = await stack.client(appId, { username: 'real' });
    expect(client.getConnectionState()).toBe('OPEN');
    expect(await runtime.node.connectionCounts.count(appId)).toBe(1);
    await closeAll();
  });

  it('keeps the official client’s CHALLENGE_DENIED when the app is full of logged-in users', async () => {
    const appId = await stack.createApp();
    await stack.api('PUT', `/v1/apps/${appId}/limits`, { maxConnections: 1 });
    await stack.client(appId, { username: 'first' });
    const second = stack.rawClient(appId);
    const state = await new Promise<string>((resolve) => {
      second.on('connectionStateChanged', (s: string) => {
        if (s === 'CHALLENGE_DENIED' || s === 'AWAITING_AUTHENTICATION') resolve(s);
      });
    });
    expect(state).toBe('CHALLENGE_DENIED');
  });

  it('closes a connection that has not logged in at its deadline, PINGs or not', async () => {
    const appId = await stack.createApp({ auth: { unauthenticatedTimeoutMs: 1000 } });
    const wire = await open(appId);
    await challenge(wire, `${stack.nodeUrl(0)}/${appId}`);
    // Pings well inside the heartbeat interval: they keep a connection alive,
    // but do not extend the time to log in.
    const pinger = setInterval(() => wire.send(ping), 100);
    try {
      const closed = await wire.closed;
      expect(closed.code).toBe(CLOSE_CODES.AUTHENTICATION_TIMEOUT);
    } finally {
      clearInterval(pinger);
    }
  });

  it(`refuses connection ${PER_ADDRESS + 1} not logged in from one address, and admits again after a login`, async () => {
    const appId = await stack.createApp();
    const otherApp = await stack.createApp();
    const url = `${stack.nodeUrl(0)}/${appId}`;
    // The cap is per address across apps.
    const idle = [
      ...(await Promise.all(Array.from({ length: PER_ADDRESS - 4 }, () => open(appId)))),
      ...(await Promise.all(Array.from({ length: 4 }, () => open(otherApp)))),
    ];
    const refused = await open(appId);
    expect((await refused.closed).code).toBe(CLOSE_CODES.TOO_MANY_UNAUTHENTICATED_CONNECTIONS);
    const runtime = (await stack.runtime(appId))!;
    expect(runtime.node.counters.guardCloses.entries()).toContainEqual([
      'unauthenticated_per_address',
      1,
    ]);

    // One of them logs in: its place among the unauthenticated is free again.
    const first = idle[0]!;
    await challenge(first, url);
    first.send({
      topic: TOPIC.AUTH,
      action: AUTH_ACTION.REQUEST,
      data: JSON.stringify({ username: 'u' }),
    });
    const login = await first.next((m) => m.topic === TOPIC.AUTH);
    expect(login.action).toBe(AUTH_ACTION.AUTH_SUCCESSFUL);
    const next = await open(appId);
    await challenge(next, url);
    expect(next.socket.readyState).toBe(next.socket.OPEN);
    await closeAll();
  });

  it('refuses a frame larger than the pre-login limit', async () => {
    const appId = await stack.createApp();
    const url = `${stack.nodeUrl(0)}/${appId}`;
    // Just under the limit: an AUTH padded to ~15 KB logs in.
    const fits = await open(appId);
    await challenge(fits, url);
    fits.send({
      topic: TOPIC.AUTH,
      action: AUTH_ACTION.REQUEST,
      data: JSON.stringify({ username: 'padded', pad: 'p'.repeat(15_000) }),
    });
    expect((await fits.next((m) => m.topic === TOPIC.AUTH)).action).toBe(
      AUTH_ACTION.AUTH_SUCCESSFUL,
    );
    // Over it (16 KB by default): closed with 1009, before and after the CHALLENGE.
    const early = await open(appId);
    early.send({
      topic: TOPIC.AUTH,
      action: AUTH_ACTION.REQUEST,
      data: JSON.stringify({ username: 'big', pad: 'p'.repeat(20_000) }),
    });
    expect((await early.closed).code).toBe(CLOSE_CODES.MESSAGE_TOO_BIG);
    const late = await open(appId);
    await challenge(late, url);
    late.send({
      topic: TOPIC.AUTH,
      action: AUTH_ACTION.REQUEST,
      data: JSON.stringify({ username: 'big', pad: 'p'.repeat(200_000) }),
    });
    expect((await late.closed).code).toBe(CLOSE_CODES.MESSAGE_TOO_BIG);
    expect(late.received.some((m) => m.topic === TOPIC.AUTH)).toBe(false);
    // After login the app's own limit applies: the same frame is answered, not closed.
    fits.send({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.EMIT,
      name: 'big',
      data: JSON.stringify('p'.repeat(200_000)),
    });
    await fits.sync();
    expect(fits.socket.readyState).toBe(fits.socket.OPEN);
    expect(
      fits.received.some(
        (m) => m.topic === TOPIC.PARSER && m.action === PARSER_ACTION.MAXIMUM_MESSAGE_SIZE_EXCEEDED,
      ),
    ).toBe(false);
    await closeAll();
  });

  it('queues a few messages behind a slow login and closes a connection that sends more', async () => {
    const hook = await slowWebhook();
    try {
      const appId = await stack.createApp({
        auth: {
          open: { enabled: false },
          webhook: { enabled: true, url: hook.url, retryAttempts: 0 },
        },
      });
      const url = `${stack.nodeUrl(0)}/${appId}`;
      const login = async (token: string) => {
        const wire = await open(appId);
        await challenge(wire, url);
        wire.send({
          topic: TOPIC.AUTH,
          action: AUTH_ACTION.REQUEST,
          data: JSON.stringify({ token }),
        });
        return wire;
      };
      const emit = (wire: Wire, n: number) =>
        wire.send({
          topic: TOPIC.EVENT,
          action: EVENT_ACTION.EMIT,
          name: 'queued',
          data: JSON.stringify(n),
        });

      // A subscriber that sees what the queued emits do once their sender is in.
      const listener = stack.rawClient(appId);
      const loggedIn = listener.login({ token: 'listener' });
      const heard: unknown[] = [];
      listener.event.subscribe('queued', (data) => heard.push(data));
      await until(() => hook.seen() === 1, 'the listener’s login at the webhook');
      hook.release();
      await loggedIn;
      const runtime = (await stack.runtime(appId))!;
      await until(
        () => [...runtime.events.subscriptions.names()].includes('queued'),
        'the subscription',
      );

      const patient = await login('patient');
      const greedy = await login('greedy');
      await until(() => hook.seen() === 3, 'both logins at the webhook');
      // PINGs are not queued (they have no effect before login) ...
      for (let i = 0; i < 50; i++) {
        patient.send(ping);
        greedy.send(ping);
      }
      // ... eight other messages are, the ninth closes the connection.
      for (let i = 0; i < 8; i++) emit(patient, i);
      for (let i = 0; i < 9; i++) emit(greedy, 100 + i);
      expect((await greedy.closed).code).toBe(CLOSE_CODES.TOO_MANY_MESSAGES_BEFORE_LOGIN);
      expect(runtime.node.counters.guardCloses.entries()).toContainEqual(['pre_login_queue', 1]);

      hook.release();
      expect((await patient.next((m) => m.topic === TOPIC.AUTH)).action).toBe(
        AUTH_ACTION.AUTH_SUCCESSFUL,
      );
      await until(() => heard.length === 8, 'the queued emits after login');
      expect(heard).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      await closeAll();
    } finally {
      hook.close();
    }
  });
});
