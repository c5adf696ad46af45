import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { DeepstreamClient } from '@deepstream/client';
import {
  AUTH_ACTION,
  CLOSE_CODES,
  CONNECTION_ACTION,
  EVENT_ACTION,
  TOPIC,
} from '@hubstream/protocol';
import { openWire, until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

/** login() rejects with deepstream's failure object; this returns it. */
async function loginFails(client: DeepstreamClient, authData: object): Promise<unknown> {
  try {
    await client.login(authData as never);
  } catch (error) {
    return error;
  }
  throw new Error('login succeeded');
}

type Hook = {
  server: Server;
  url: string;
  requests: { headers: IncomingMessage['headers']; body: string }[];
};

/** A real HTTP server as the app's auth webhook; `reply` decides each answer. */
async function startWebhook(
  reply: (body: { authData: Record<string, unknown> }, n: number) => [number, unknown],
): Promise<Hook> {
  const requests: Hook['requests'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      requests.push({ headers: req.headers, body });
      const [status, payload] = reply(JSON.parse(body), requests.length);
      res.writeHead(status, {
        'content-type': typeof payload === 'string' ? 'text/plain' : 'application/json',
      });
      res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}/auth`, requests };
}

describe('open auth', () => {
  it('uses open: and the username as the id, or a fresh anonymous id', async () => {
    const appId = await stack.createApp();
    const named = stack.rawClient(appId);
    expect(await named.login({ username: 'alice' })).toEqual({ id: 'open:alice' });
    const anonymous = stack.rawClient(appId);
    const data = (await anonymous.login()) as { id: string };
    expect(data.id).toMatch(/^open:anonymous-/);
    const other = (await stack.rawClient(appId).login()) as { id: string };
    expect(other.id).not.toBe(data.id);
  });

  it('connects by deepstreamHub-style query URL and refuses unknown apps', async () => {
    const appId = await stack.createApp();
    const client = new DeepstreamClient(`${stack.realtimeUrl}?apiKey=${appId}`);
    expect(await client.login({ username: 'q' })).toEqual({ id: 'open:q' });
    client.close();
    // An unknown app: the upgrade is accepted and its CHALLENGE rejected (unknown-app.int.test.ts).
    const refused = await openWire(`${stack.realtimeUrl}/nosuchapp00`);
    refused.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE });
    expect((await refused.next()).action).toBe(CONNECTION_ACTION.REJECT);
    expect((await refused.closed).code).toBe(CLOSE_CODES.APP_NOT_FOUND);
  });
});

describe('email auth', () => {
  it('logs in the app’s users; unknown email and wrong password look the same', async () => {
    const appId = await stack.createApp({
      auth: { open: { enabled: false }, email: { enabled: true } },
    });
    const created = await stack.api('POST', `/v1/apps/${appId}/users`, {
      email: 'Ann@Example.com',
      password: 'long enough password',
      clientData: { name: 'Ann' },
      serverData: { role: 'admin' },
    });
    const ok = await stack
      .rawClient(appId)
      .login({ type: 'email', email: 'ann@example.com', password: 'long enough password' });
    expect(ok).toEqual({ name: 'Ann', id: created.body.id });

    const wrong = await loginFails(stack.rawClient(appId), {
      type: 'email',
      email: 'ann@example.com',
      password: 'nope',
    });
    const unknown = await loginFails(stack.rawClient(appId), {
      type: 'email',
      email: 'bob@example.com',
      password: 'nope',
    });
    expect(wrong).toEqual(unknown);
    expect(JSON.stringify(wrong)).toContain('INVALID_EMAIL_OR_PASSWORD');

    // Open auth is off for this app.
    const open = await loginFails(stack.rawClient(appId), { type: 'open', username: 'x' });
    expect(JSON.stringify(open)).toContain('AUTH_TYPE_NOT_ENABLED');
  });

  it('lets the same user connect many times at once', async () => {
    const appId = await stack.createApp({ auth: { email: { enabled: true } } });
    await stack.api('POST', `/v1/apps/${appId}/users`, {
      email: 'multi@example.com',
      password: 'long enough password',
    });
    const credentials = {
      type: 'email',
      email: 'multi@example.com',
      password: 'long enough password',
    };
    const [a, b, c] = await Promise.all(
      [1, 2, 3].map(() => stack.rawClient(appId).login(credentials)),
    );
    expect(a).toEqual(b);
    expect(b).toEqual(c);
    const runtime = (await stack.runtime(appId))!;
    expect([...runtime.connections].filter((conn) => conn.user?.isAuthenticated).length).toBe(3);
  });
});

describe('webhook auth', () => {
  it('follows the webhook contract: signed body, promoted headers, id, clientData and serverData', async () => {
    const hook = await startWebhook((body) =>
      body.authData.token === 'good'
        ? [200, { id: 'hook-user', clientData: { plan: 'pro' }, serverData: { role: 'admin' } }]
        : [401, 'bad token'],
    );
    try {
      const appId = await stack.createApp({
        auth: {
          open: { enabled: false },
          webhook: {
            enabled: true,
            url: hook.url,
            promoteToHeader: ['token'],
            headers: { 'x-app': 'test' },
          },
        },
      });
      const settings = await stack.api('GET', `/v1/apps/${appId}/auth`);
      const secret = settings.body.webhook.signingSecret as string;

      expect(await stack.rawClient(appId).login({ token: 'good' })).toEqual({
        plan: 'pro',
        id: 'hook-user',
      });
      const request = hook.requests[0]!;
      const sent = JSON.parse(request.body);
      expect(sent.authData).toEqual({ token: 'good' });
      expect(sent.connectionData.remoteAddress).toMatch(/127\.0\.0\.1/);
      expect(request.headers.token).toBe('good');
      expect(request.headers['x-app']).toBe('test');
      const [t, v1] = String(request.headers['x-hubstream-signature']).split(',');
      const time = t!.slice(2);
      expect(v1).toBe(
        `v1=${createHmac('sha256', secret).update(`${time}.${request.body}`).digest('hex')}`,
      );

      const denied = await loginFails(stack.rawClient(appId), { token: 'bad' });
      expect(JSON.stringify(denied)).toContain('bad token');
      // serverData became user.data on the node.
      const runtime = (await stack.runtime(appId))!;
      expect([...runtime.connections].map((c) => c.user)).toContainEqual({
        id: 'hook-user',
        isAuthenticated: true,
        strategy: 'webhook',
        data: { role: 'admin' },
      });
    } finally {
      hook.server.close();
    }
  });

  it('retries retry status codes, and denies replies without an id', async () => {
    const hook = await startWebhook((body, n) => {
      if (body.authData.mode === 'flaky') return n === 1 ? [504, ''] : [200, { id: 'after-retry' }];
      return [200, { clientData: { nope: true } }];
    });
    try {
      const appId = await stack.createApp({
        auth: {
          open: { enabled: false },
          webhook: { enabled: true, url: hook.url, retryIntervalMs: 10, retryAttempts: 2 },
        },
      });
      expect(await stack.rawClient(appId).login({ mode: 'flaky' })).toEqual({ id: 'after-retry' });
      expect(hook.requests).toHaveLength(2);
      const noId = await loginFails(stack.rawClient(appId), { mode: 'no-id' });
      expect(JSON.stringify(noId)).toContain('WEBHOOK_REPLY_WITHOUT_ID');
    } finally {
      hook.server.close();
    }
  });

  it('refuses to call private addresses unless the operator allows it', async () => {
    const strict = await startStack({ env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'false' } });
    const hook = await startWebhook(() => [200, { id: 'should-not-happen' }]);
    try {
      for (const url of [
        hook.url,
        hook.url.replace('127.0.0.1', 'localhost'),
        'http://169.254.169.254/latest/meta-data',
      ]) {
        // The control plane refuses to save it (422, naming the setting)...
        const appId = await strict.createApp({ auth: { open: { enabled: false } } });
        const saved = await strict.api('PUT', `/v1/apps/${appId}/auth`, {
          webhook: { enabled: true, url, retryAttempts: 0 },
        });
        expect(saved.status, url).toBe(422);
        expect(saved.body.error.details[0].setting).toBe('WEBHOOK_ALLOW_PRIVATE_ADDRESSES');
        // ...and a URL that got in anyway (saved before, or its name now
        // resolves elsewhere) is still refused by the node at every login.
        await strict.db.prisma.appAuthSettings.update({
          where: { appId },
          data: { webhookEnabled: true, webhookUrl: url, webhookRetryAttempts: 0 },
        });
        const denied = await loginFails(strict.rawClient(appId), { token: 'x' });
        expect(JSON.stringify(denied), url).toContain('WEBHOOK_ADDRESS_NOT_ALLOWED');
      }
      expect(hook.requests).toHaveLength(0);
    } finally {
      hook.server.close();
      await strict.close();
    }
  });
});

describe('quarantine and limits before login', () => {
  it('processes only CONNECTION and AUTH before login', async () => {
    const appId = await stack.createApp();
    const raw = await openWire(`${stack.realtimeUrl}/${appId}`);
    raw.send({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: ['x'],
      correlationId: '0',
    });
    expect(await raw.next()).toMatchObject({
      topic: TOPIC.CONNECTION,
      action: CONNECTION_ACTION.INVALID_MESSAGE,
    });
    raw.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE, url: 'x' });
    expect(await raw.next()).toMatchObject({
      topic: TOPIC.CONNECTION,
      action: CONNECTION_ACTION.ACCEPT,
    });
    raw.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
    raw.send({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: ['x'],
      correlationId: '0',
    });
    // PING unanswered; the event refused; nothing subscribed.
    expect(await raw.next()).toMatchObject({
      topic: TOPIC.AUTH,
      action: AUTH_ACTION.INVALID_MESSAGE,
    });
    const runtime = (await stack.runtime(appId))!;
    expect(runtime.events.subscriptions.subscribers('x')).toBeUndefined();
    raw.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{"username":"q"}' });
    expect(await raw.next()).toMatchObject({
      topic: TOPIC.AUTH,
      action: AUTH_ACTION.AUTH_SUCCESSFUL,
      data: '{"id":"open:q"}',
    });
    raw.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
    expect(await raw.next()).toMatchObject({
      topic: TOPIC.CONNECTION,
      action: CONNECTION_ACTION.PONG,
    });
    await raw.close();
  });

  it('closes after too many failed logins and on non-object auth data', async () => {
    const appId = await stack.createApp({
      auth: { open: { enabled: false }, email: { enabled: true }, maxAuthAttempts: 2 },
    });
    const raw = await openWire(`${stack.realtimeUrl}/${appId}`);
    raw.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE });
    await raw.next();
    const bad = JSON.stringify({ email: 'no@example.com', password: 'x' });
    raw.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: bad });
    expect(await raw.next()).toMatchObject({ action: AUTH_ACTION.AUTH_UNSUCCESSFUL });
    raw.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: bad });
    // The last attempt is answered too, then refused for good (as deepstream does).
    expect(await raw.next()).toMatchObject({ action: AUTH_ACTION.AUTH_UNSUCCESSFUL });
    expect(await raw.next()).toMatchObject({ action: AUTH_ACTION.TOO_MANY_AUTH_ATTEMPTS });
    expect((await raw.closed).code).toBe(4002);

    const second = await openWire(`${stack.realtimeUrl}/${appId}`);
    second.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE });
    await second.next();
    second.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '[1,2]' });
    expect(await second.next()).toMatchObject({ action: AUTH_ACTION.INVALID_MESSAGE_DATA });
    expect((await second.closed).code).toBe(4003);
  });

  it("answers the official client's last login attempt before TOO_MANY_AUTH_ATTEMPTS", async () => {
    const appId = await stack.createApp({
      auth: { open: { enabled: false }, email: { enabled: true }, maxAuthAttempts: 2 },
    });
    const client = stack.rawClient(appId);
    const bad = { email: 'no@example.com', password: 'x' };
    const answers: boolean[] = [];
    const login = () =>
      new Promise<void>((resolve) =>
        client.login(bad as never, (success) => {
          answers.push(success);
          resolve();
        }),
      );
    await login();
    const second = login();
    await until(() => client.getConnectionState() === 'TOO_MANY_AUTH_ATTEMPTS', 'the refusal');
    // The callback of the last attempt fired before the refusal arrived.
    expect(answers).toEqual([false, false]);
    await second;
  });

  it('closes a connection that does not log in within the app’s timeout (200 ms)', async () => {
    // Small values are allowed, as deepstream's own acceptance tests use 200 ms.
    const appId = await stack.createApp({ auth: { unauthenticatedTimeoutMs: 200 } });
    const opened = Date.now();
    const raw = await openWire(`${stack.realtimeUrl}/${appId}`);
    raw.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE });
    await raw.next();
    expect(await raw.next()).toMatchObject({
      topic: TOPIC.CONNECTION,
      action: CONNECTION_ACTION.AUTHENTICATION_TIMEOUT,
    });
    expect((await raw.closed).code).toBe(4001);
    const took = Date.now() - opened;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(900);
  });

  it('lets the official client log in within a 200 ms unauthenticated timeout', async () => {
    const appId = await stack.createApp({ auth: { unauthenticatedTimeoutMs: 200 } });
    const client = stack.rawClient(appId);
    expect(await client.login({ username: 'quick' })).toEqual({ id: 'open:quick' });
    // Logged in: the timer no longer applies.
    await new Promise((r) => setTimeout(r, 400));
    expect(client.getConnectionState()).toBe('OPEN');
  });
});
