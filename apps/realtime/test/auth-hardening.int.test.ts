import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { DeepstreamClient } from '@deepstream/client';
import { AUTH_ACTION, CONNECTION_ACTION, type Message, TOPIC } from '@hubstream/protocol';
import { openWire, until, type Wire } from '@hubstream/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

// Issue 12: login throttling across connections and nodes, one id space per
// app, and a webhook that can neither hold a login forever nor see the
// client's cookies. Two realtime nodes over Redis, so every limit is shown
// to hold cluster-wide.

// Long enough for the 300 guesses below to fit in one window on a loaded
// machine: the PER_PAIR guesses that are checked each wait for an argon2
// verify, one at a time in a nice-19 process (packages/service), and the
// connection's next guess waits for that answer. With a 6 s window at load
// 30 the guessing outlasted three or four windows, and each new window let
// PER_PAIR more guesses be checked (15 and 19 instead of 5). The last step
// ends the window early in Redis, so a longer one costs no time.
const WINDOW_MS = 45_000;
const PER_PAIR = 5;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    redis: true,
    nodes: 2,
    env: {
      LOGIN_FAILURE_WINDOW_MS: String(WINDOW_MS),
      LOGIN_FAILURES_PER_EMAIL_AND_IP: String(PER_PAIR),
      WEBHOOK_LOGIN_TIMEOUT_MS: '2500',
      // The attack below holds 50 unauthenticated sockets per node at once.
      MAX_UNAUTHENTICATED_CONNECTIONS_PER_ADDRESS: '200',
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

async function loginFails(client: DeepstreamClient, authData: object): Promise<unknown> {
  try {
    await client.login(authData as never);
  } catch (error) {
    return error;
  }
  throw new Error('login succeeded');
}

/** A raw socket past the CHALLENGE, on node `node`, ready for AUTH requests. */
async function challenged(appId: string, node: number): Promise<Wire> {
  const url = `${stack.nodeUrl(node)}/${appId}`;
  const wire = await openWire(url);
  wire.send({
    topic: TOPIC.CONNECTION,
    action: CONNECTION_ACTION.CHALLENGE,
    url,
    protocolVersion: '0.1a',
    sdkVersion: '7.0.5',
    sdkType: 'javascript',
  });
  await wire.next((m) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.ACCEPT);
  return wire;
}

const authReply = (m: Message) => m.topic === TOPIC.AUTH;
const errorOf = (m: Message): unknown =>
  m.data === undefined ? undefined : (JSON.parse(m.data) as { error?: unknown }).error;

describe('email login throttling', () => {
  it('refuses a guessing address after N failures without checking, lets the real user in from elsewhere, and again after the window', async () => {
    // Ten tries per connection, so that every reply carries its reason.
    const appId = await stack.createApp({
      auth: { email: { enabled: true }, maxAuthAttempts: 10 },
    });
    const created = await stack.api('POST', `/v1/apps/${appId}/users`, {
      email: 'victim@example.com',
      password: 'the right password',
    });
    expect(created.status).toBe(201);

    // 100 connections from 127.0.0.1, spread over both nodes, 3 guesses each.
    const replies: Message[] = [];
    await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const wire = await challenged(appId, i % 2);
        for (let attempt = 0; attempt < 3; attempt++) {
          wire.send({
            topic: TOPIC.AUTH,
            action: AUTH_ACTION.REQUEST,
            data: JSON.stringify({
              type: 'email',
              email: 'Victim@example.com',
              password: `guess ${i}-${attempt}`,
            }),
          });
          replies.push(await wire.next(authReply));
        }
        await wire.close();
      }),
    );
    // Only N guesses were checked at all; every other attempt was refused
    // before the lookup and the hash.
    expect(replies.every((m) => m.action === AUTH_ACTION.AUTH_UNSUCCESSFUL)).toBe(true);
    const errors = replies.map(errorOf);
    expect(errors.filter((e) => e === 'INVALID_EMAIL_OR_PASSWORD')).toHaveLength(PER_PAIR);
    const refused = replies.filter((m) => errorOf(m) === 'TOO_MANY_FAILED_LOGINS');
    expect(refused).toHaveLength(300 - PER_PAIR);
    const data = JSON.parse(refused[0]!.data!) as { retryAfterMs: number };
    expect(data.retryAfterMs).toBeGreaterThan(0);
    expect(data.retryAfterMs).toBeLessThanOrEqual(WINDOW_MS);

    // The right password from the attacking address is refused too, unchecked...
    const attacker = stack.rawClient(appId);
    const blocked = await loginFails(attacker, {
      type: 'email',
      email: 'victim@example.com',
      password: 'the right password',
    });
    expect(JSON.stringify(blocked)).toContain('TOO_MANY_FAILED_LOGINS');
    attacker.close();

    // ...while the real user at another address logs in, on either node.
    for (const node of [0, 1]) {
      const real = stack.rawClient(appId, { node, socketOptions: { localAddress: '127.0.0.2' } });
      expect(
        await real.login({
          type: 'email',
          email: 'victim@example.com',
          password: 'the right password',
        }),
      ).toEqual({ id: created.body.id });
      real.close();
    }

    // Once the window has passed, the attacking address may try again.
    const last = JSON.parse(
      (
        await (async () => {
          const wire = await challenged(appId, 0);
          wire.send({
            topic: TOPIC.AUTH,
            action: AUTH_ACTION.REQUEST,
            data: JSON.stringify({ type: 'email', email: 'victim@example.com', password: 'x' }),
          });
          const reply = await wire.next(authReply);
          await wire.close();
          return reply;
        })()
      ).data!,
    ) as { error: string; retryAfterMs: number };
    expect(last.error).toBe('TOO_MANY_FAILED_LOGINS');
    // The window is the TTL of the app's buckets in Redis (the limiter's
    // clock; its expiry is tested with a 200 ms window in the rate limiter's
    // contract tests). Rather than wait out up to 45 s, the test moves that
    // clock: each bucket, still inside its window, now ends in 50 ms.
    const redis = new Redis(stack.redisUrl);
    try {
      const buckets = await redis.keys(`${stack.keyPrefix}hs:${appId}:rate:login-failures:*`);
      // The pair, address and email buckets (the real user's too).
      expect(buckets.length).toBeGreaterThanOrEqual(3);
      for (const bucket of buckets) {
        const ttl = await redis.pttl(bucket);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(WINDOW_MS);
        await redis.pexpire(bucket, 50);
      }
    } finally {
      await redis.quit();
    }
    await new Promise((r) => setTimeout(r, 100));
    const later = stack.rawClient(appId);
    expect(
      await later.login({
        type: 'email',
        email: 'victim@example.com',
        password: 'the right password',
      }),
    ).toEqual({ id: created.body.id });
  });

  it('counts the refusals in the node metrics as throttled logins', async () => {
    const metrics = await fetch(`${stack.nodeUrl(0).replace('ws:', 'http:')}/metrics`);
    expect(await metrics.text()).toMatch(
      /hubstream_realtime_auth_failures_total\{reason="throttled"\} [1-9]/,
    );
  });
});

describe('one id space per app', () => {
  const OWNED = `record:\n  "*":\n    create: true\n    read: true\n    write: false\n  "profile/$uid":\n    create: true\n    write: "user.id === $uid"\n  "by-strategy/$s":\n    create: true\n    write: "user.strategy === $s"\nevent:\n  "*":\n    publish: true\n    subscribe: true\nrpc:\n  "*":\n    provide: true\n    request: true\npresence:\n  "*":\n    allow: true\n`;

  it('never gives an open login the id of an email user, so user.id === $uid rules keep impostors out', async () => {
    const appId = await stack.createApp({
      permissions: OWNED,
      auth: { open: { enabled: true }, email: { enabled: true } },
    });
    const created = await stack.api('POST', `/v1/apps/${appId}/users`, {
      email: 'owner@example.com',
      password: 'owner password 1',
    });
    const uid = created.body.id as string;

    const impostor = stack.rawClient(appId);
    const claimed = (await impostor.login({ username: uid })) as { id: string };
    expect(claimed.id).toBe(`open:${uid}`);
    expect(claimed.id).not.toBe(uid);
    await expect(impostor.record.setDataWithAck(`profile/${uid}`, { name: 'pwned' })).rejects.toBe(
      'MESSAGE_DENIED',
    );
    // The strategy is in the rules: an open user writes only as open.
    await expect(impostor.record.setDataWithAck('by-strategy/email', { x: 1 })).rejects.toBe(
      'MESSAGE_DENIED',
    );
    await impostor.record.setDataWithAck('by-strategy/open', { x: 1 });

    const owner = stack.rawClient(appId, { node: 1 });
    expect(
      await owner.login({
        type: 'email',
        email: 'owner@example.com',
        password: 'owner password 1',
      }),
    ).toEqual({ id: uid });
    await owner.record.setDataWithAck(`profile/${uid}`, { name: 'Owner' });
    await owner.record.setDataWithAck('by-strategy/email', { x: 2 });
    expect(await owner.record.snapshot(`profile/${uid}`)).toEqual({ name: 'Owner' });
  });

  it('refuses a webhook reply whose id is in the open: space', async () => {
    const hook = await startHook((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'open:alice' }));
    });
    try {
      const appId = await stack.createApp({
        auth: { open: { enabled: false }, webhook: { enabled: true, url: hook.url } },
      });
      const refused = await loginFails(stack.rawClient(appId), { token: 't' });
      expect(JSON.stringify(refused)).toContain('WEBHOOK_ID_RESERVED');
    } finally {
      hook.server.close();
    }
  });
});

type Hook = {
  server: Server;
  url: string;
  requests: { headers: IncomingHttpHeaders; body: string }[];
};

async function startHook(handle: Parameters<typeof createServer>[1] & object): Promise<Hook> {
  const requests: Hook['requests'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      requests.push({ headers: req.headers, body });
      handle(req, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}/auth`, requests };
}

describe('auth webhook', () => {
  /** Answers with headers, then one byte a second, never ending. */
  const drip = () => {
    const cut: Promise<void>[] = [];
    return {
      cut,
      handle: ((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const timer = setInterval(() => res.write('a'), 1000);
        cut.push(once(res, 'close').then(() => clearInterval(timer)));
        res.write('a');
      }) as Parameters<typeof startHook>[0],
    };
  };

  it('gives up an attempt at its total deadline, even when bytes keep coming', async () => {
    const dripping = drip();
    const hook = await startHook(dripping.handle);
    try {
      const appId = await stack.createApp({
        auth: {
          open: { enabled: false },
          webhook: { enabled: true, url: hook.url, timeoutMs: 1500, retryAttempts: 0 },
        },
      });
      const refused = await loginFails(stack.rawClient(appId), { token: 't' });
      expect(JSON.stringify(refused)).toContain('AUTH_RETRY_ATTEMPTS_EXCEEDED');
      // We hung up on the dripping reply ourselves.
      await Promise.all(dripping.cut);
      expect(hook.requests).toHaveLength(1);
    } finally {
      hook.server.closeAllConnections();
      hook.server.close();
    }
  });

  it('caps the whole login, retries included (WEBHOOK_LOGIN_TIMEOUT_MS)', async () => {
    const dripping = drip();
    const hook = await startHook(dripping.handle);
    try {
      const appId = await stack.createApp({
        auth: {
          open: { enabled: false },
          webhook: {
            enabled: true,
            url: hook.url,
            timeoutMs: 1000,
            retryAttempts: 10,
            retryIntervalMs: 100,
          },
        },
      });
      const refused = await loginFails(stack.rawClient(appId), { token: 't' });
      expect(JSON.stringify(refused)).toContain('WEBHOOK_TIMEOUT');
      // 2.5 s in all: at most three attempts of 1 s, never the 11 configured.
      expect(hook.requests.length).toBeGreaterThanOrEqual(2);
      expect(hook.requests.length).toBeLessThanOrEqual(3);
    } finally {
      hook.server.closeAllConnections();
      hook.server.close();
    }
  });

  it("forwards only an allow-list of the client's upgrade headers, others only when promoted by name", async () => {
    const hook = await startHook((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'hooked' }));
    });
    const upgrade = {
      cookie: 'session=secret-cookie',
      authorization: 'Bearer secret-token',
      'user-agent': 'hardening-test',
      'x-custom': 'kept out',
    };
    try {
      const appId = await stack.createApp({
        auth: { open: { enabled: false }, webhook: { enabled: true, url: hook.url } },
      });
      const client = stack.rawClient(appId, { socketOptions: { headers: upgrade } });
      expect(await client.login({ token: 't' })).toEqual({ id: 'hooked' });
      const first = JSON.parse(hook.requests[0]!.body) as {
        connectionData: { remoteAddress: string; headers: Record<string, string> };
      };
      expect(first.connectionData.headers['user-agent']).toBe('hardening-test');
      expect(first.connectionData.headers.host).toBeDefined();
      expect(first.connectionData.headers).not.toHaveProperty('cookie');
      expect(first.connectionData.headers).not.toHaveProperty('authorization');
      expect(first.connectionData.headers).not.toHaveProperty('x-custom');
      expect(hook.requests[0]!.body).not.toContain('secret');
      expect(hook.requests[0]!.headers.cookie).toBeUndefined();

      // The app names cookie in promoteToHeader: now it is forwarded.
      const saved = await stack.api('PUT', `/v1/apps/${appId}/auth`, {
        webhook: { promoteToHeader: ['cookie'] },
      });
      expect(saved.status).toBe(200);
      await until(
        async () =>
          (await stack.runtime(appId))?.auth.webhookPromoteToHeader.includes('cookie') === true,
        'the new settings on the node',
      );
      const promoted = stack.rawClient(appId, { socketOptions: { headers: upgrade } });
      await promoted.login({ token: 't' });
      const second = JSON.parse(hook.requests.at(-1)!.body) as typeof first;
      expect(second.connectionData.headers.cookie).toBe('session=secret-cookie');
      expect(second.connectionData.headers).not.toHaveProperty('authorization');
    } finally {
      hook.server.close();
    }
  });
});
