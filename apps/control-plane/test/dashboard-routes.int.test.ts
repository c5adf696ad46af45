import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Harness, signUp, startControlPlane } from './harness.ts';

// The routes the dashboard needs beyond the resource API: usage samples for
// its charts, and the "test webhook" button.

describe('routes for the dashboard', () => {
  let h: Harness;
  let hook: Server;
  let hookUrl: string;
  const calls: { headers: IncomingMessage['headers']; body: unknown }[] = [];
  // What the webhook answers next: status and JSON body.
  let answer: { status: number; body: unknown } = { status: 200, body: {} };

  beforeAll(async () => {
    h = await startControlPlane('postgres', { env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true' } });
    hook = createServer(async (request, response) => {
      let text = '';
      for await (const chunk of request) text += chunk;
      calls.push({ headers: request.headers, body: JSON.parse(text) });
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    const address = hook.address();
    hookUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/auth`;
  });
  afterAll(async () => {
    hook?.close();
    await h?.close();
  });

  it('lists an app’s usage samples of the last minutes, oldest first, and only to its owner', async () => {
    const { token } = await signUp(h);
    const app = await createApp(h, token);
    const now = Date.now();
    const minute = (ago: number) => new Date(Math.floor((now - ago * 60_000) / 60_000) * 60_000);
    await h.db.prisma.usageSample.createMany({
      data: [
        { appId: app.id, minute: minute(2), peakConnections: 3, messagesIn: 10n, messagesOut: 20n },
        { appId: app.id, minute: minute(5), peakConnections: 1, messagesIn: 1n, denied: 1n },
        { appId: app.id, minute: minute(120), peakConnections: 9, messagesIn: 99n },
      ],
    });
    const res = await h.call('GET', `/v1/apps/${app.id}/usage?minutes=60`, { token });
    expect(res.status).toBe(200);
    expect(res.body.samples).toEqual([
      {
        minute: minute(5).toISOString(),
        peakConnections: 1,
        messagesIn: 1,
        messagesOut: 0,
        denied: 1,
        rateLimited: 0,
      },
      {
        minute: minute(2).toISOString(),
        peakConnections: 3,
        messagesIn: 10,
        messagesOut: 20,
        denied: 0,
        rateLimited: 0,
      },
    ]);
    const day = await h.call('GET', `/v1/apps/${app.id}/usage?minutes=1440`, { token });
    expect(day.body.samples).toHaveLength(3);
    expect((await h.call('GET', `/v1/apps/${app.id}/usage?minutes=0`, { token })).status).toBe(400);
    const other = await signUp(h);
    expect((await h.call('GET', `/v1/apps/${app.id}/usage`, { token: other.token })).status).toBe(
      404,
    );
  });

  it('calls the saved webhook with sample or given authData and shows its verdict', async () => {
    const { token } = await signUp(h);
    const app = await createApp(h, token);
    const noUrl = await h.call('POST', `/v1/apps/${app.id}/auth/webhook/test`, { token, body: {} });
    expect(noUrl.status).toBe(422);
    expect(noUrl.body.error.code).toBe('INVALID_SETTINGS');

    const saved = await h.call('PUT', `/v1/apps/${app.id}/auth`, {
      token,
      body: { webhook: { enabled: true, url: hookUrl, retryAttempts: 0 } },
    });
    expect(saved.status).toBe(200);

    answer = {
      status: 200,
      body: { id: 'ada', clientData: { name: 'Ada' }, serverData: { role: 'admin' } },
    };
    const allowed = await h.call('POST', `/v1/apps/${app.id}/auth/webhook/test`, {
      token,
      body: { authData: { token: 'abc' } },
    });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatchObject({
      verdict: 'allowed',
      id: 'ada',
      clientData: { name: 'Ada', id: 'ada' },
      serverData: { role: 'admin' },
    });
    expect(calls.at(-1)?.body).toMatchObject({ authData: { token: 'abc' } });
    // Signed like a real login's call.
    expect(calls.at(-1)?.headers['x-hubstream-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);

    answer = { status: 401, body: { reason: 'no such user' } };
    const denied = await h.call('POST', `/v1/apps/${app.id}/auth/webhook/test`, {
      token,
      body: {},
    });
    expect(denied.body).toMatchObject({
      verdict: 'denied',
      id: null,
      clientData: { reason: 'no such user' },
      serverData: null,
    });
    expect(calls.at(-1)?.body).toMatchObject({
      authData: { username: 'sample-user', password: 'sample-password' },
    });
  });
});
