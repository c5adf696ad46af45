import { until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';
import { type ApiKeyOptions, addApiKey, type HttpReply, postTo } from './http-api-helpers.ts';

// The HTTP data API of one realtime node (deepstream's docs/client-http/v1):
// every command kind against official WebSocket clients of the same app,
// every error shape, Valve per command, limits, and app API keys.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: {
      HTTP_API_MAX_COMMANDS: '20',
      MAX_MESSAGE_BYTES: '65536',
      RPC_RESPONSE_TIMEOUT_MS: '400',
      HTTP_API_REQUEST_TIMEOUT_MS: '1500',
      LOGIN_FAILURES_PER_EMAIL_AND_IP: '2',
      HTTP_API_MAX_REQUESTS_PER_ADDRESS: '16',
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

const base = () => stack.nodeUrl(0).replace(/^ws/, 'http');
const post = (path: string, body: unknown, headers?: Record<string, string>) =>
  postTo(base(), path, body, headers);

const api = (appId: string, body: unknown, headers?: Record<string, string>) =>
  post(`/${appId}/api`, body, headers);

describe('HTTP data API: commands', () => {
  it('runs every command kind in order, as WebSocket clients of the app see it', async () => {
    const appId = await stack.createApp();
    const watcher = await stack.client(appId, { username: 'watcher' });
    const provider = await stack.client(appId, { username: 'provider' });
    const events: unknown[] = [];
    watcher.event.subscribe('news', (data: unknown) => events.push(data));
    provider.rpc.provide('add', (data: { a: number; b: number }, response) => {
      response.send(data.a + data.b);
    });
    provider.rpc.provide('fail', (_data: unknown, response) => response.error('no can do'));
    const record = watcher.record.getRecord('cars/bmw');
    await record.whenReady();
    const runtime = (await stack.runtime(appId))!;
    await until(() => runtime.events.subscriptions.count('news') === 1, 'subscribe');
    await until(() => runtime.rpc.providers.count('fail') === 1, 'provide');

    const res = await api(appId, {
      body: [
        { topic: 'event', action: 'emit', eventName: 'news', data: { headline: 'hi' } },
        { topic: 'record', action: 'write', recordName: 'cars/bmw', data: { wheels: 4 } },
        { topic: 'record', action: 'write', recordName: 'cars/bmw', path: 'tyres', data: 2 },
        { topic: 'record', action: 'read', recordName: 'cars/bmw' },
        { topic: 'record', action: 'head', recordName: 'cars/bmw' },
        { topic: 'record', action: 'write', recordName: 'cars/bmw', data: { x: 1 }, version: 9 },
        { topic: 'record', action: 'write', recordName: 'cars/bmw', data: { x: 1 }, version: 1 },
        { topic: 'list', action: 'write', listName: 'todo', data: ['a', 'b'] },
        { topic: 'list', action: 'read', listName: 'todo' },
        { topic: 'rpc', action: 'make', rpcName: 'add', data: { a: 2, b: 5 } },
        { topic: 'rpc', action: 'make', rpcName: 'nobody' },
        { topic: 'rpc', action: 'make', rpcName: 'fail' },
        { topic: 'presence', action: 'query' },
        { topic: 'presence', action: 'query', names: ['open:watcher', 'open:ghost'] },
        { topic: 'record', action: 'notify', recordNames: ['cars/bmw'] },
        { topic: 'list', action: 'delete', listName: 'todo' },
        { topic: 'record', action: 'read', recordName: 'todo' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/application\/json/);
    const { result, body } = res.json();
    expect(result).toBe('PARTIAL_SUCCESS');
    expect(body).toEqual([
      { success: true },
      { success: true },
      { success: true },
      { success: true, version: 2, data: { wheels: 4, tyres: 2 } },
      { success: true, version: 2 },
      {
        success: false,
        error:
          'Record update failed. Version 9 is ahead of record "cars/bmw", which is at version 2.',
        errorTopic: 'record',
        errorEvent: 'INVALID_VERSION',
        currentVersion: 2,
      },
      {
        success: false,
        error: 'Record update failed. Version 2 exists for record "cars/bmw".',
        errorTopic: 'record',
        errorEvent: 'VERSION_EXISTS',
        currentVersion: 2,
        currentData: { wheels: 4, tyres: 2 },
      },
      { success: true },
      { success: true, version: 1, data: ['a', 'b'] },
      { success: true, data: 7 },
      {
        success: false,
        error: 'No provider was available to handle the RPC "nobody".',
        errorTopic: 'rpc',
        errorEvent: 'NO_RPC_PROVIDER',
      },
      {
        success: false,
        error: 'no can do',
        errorTopic: 'rpc',
        errorEvent: 'REQUEST_ERROR',
        errorParams: 'fail',
      },
      { success: true, users: expect.arrayContaining(['open:watcher', 'open:provider']) },
      { success: true, users: { 'open:watcher': true, 'open:ghost': false } },
      { success: true },
      { success: true },
      {
        success: false,
        error: 'Record read failed. Record "todo" could not be found.',
        errorTopic: 'record',
        errorEvent: 'RECORD_NOT_FOUND',
      },
    ]);
    // The WebSocket side saw the effects as if a client had made them.
    await until(() => events.length === 1, 'event delivered');
    expect(events).toEqual([{ headline: 'hi' }]);
    await until(() => record.version === 2, 'record update');
    expect(record.get()).toEqual({ wheels: 4, tyres: 2 });
    // Written durably, as a client's write with an acknowledgement is.
    const row = await stack.db.prisma.record.findFirst({ where: { appId, name: 'cars/bmw' } });
    expect(row?.version).toBe(2);
    // HTTP requests are not connections: nobody new is online, no place is taken.
    expect(runtime.connections.size).toBe(2);
  });

  it("counts each command's replies as messages out, as a WebSocket client's", async () => {
    const appId = await stack.createApp();
    const runtime = (await stack.runtime(appId))!;
    await api(appId, {
      body: [{ topic: 'record', action: 'write', recordName: 'counted', data: { a: 1 } }],
    });
    const before = runtime.usage.messagesOut;
    const res = await api(appId, {
      body: [
        { topic: 'record', action: 'read', recordName: 'counted' },
        { topic: 'record', action: 'head', recordName: 'counted' },
      ],
    });
    expect(res.json().result).toBe('SUCCESS');
    expect(runtime.usage.messagesOut - before).toBe(2);
  });

  it('answers SUCCESS when every command succeeded and FAILURE when none did', async () => {
    const appId = await stack.createApp();
    const ok = await api(appId, {
      body: [{ topic: 'event', action: 'emit', eventName: 'x' }],
    });
    expect(ok.json()).toEqual({ result: 'SUCCESS', body: [{ success: true }] });
    const bad = await api(appId, {
      body: [{ topic: 'record', action: 'read', recordName: 'missing' }],
    });
    expect(bad.json().result).toBe('FAILURE');
  });
});

describe('HTTP data API: waiting', () => {
  it("answers an RPC's timeout and the request's deadline per command, and lets go of what waited", async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'slow' });
    // Accepted (the client accepts at once), never answered.
    provider.rpc.provide('slow', () => {});
    const runtime = (await stack.runtime(appId))!;
    await until(() => runtime.rpc.providers.count('slow') === 1, 'provide');
    const started = Date.now();
    const res = await api(appId, {
      body: Array.from({ length: 5 }, () => ({ topic: 'rpc', action: 'make', rpcName: 'slow' })),
    });
    // One at a time, 400 ms each, within 1.5 s in all.
    expect(Date.now() - started).toBeLessThan(3000);
    const { result, body } = res.json();
    expect(result).toBe('FAILURE');
    expect(body[0]).toEqual({
      success: false,
      error: 'The RPC response timeout was exceeded by the provider.',
      errorTopic: 'rpc',
      errorEvent: 'RESPONSE_TIMEOUT',
    });
    expect(body[4]).toEqual({
      success: false,
      error: 'Request exceeded timeout before a response was received.',
      errorTopic: 'connection',
      errorEvent: 'HTTP_REQUEST_TIMEOUT',
    });
    for (const entry of body) {
      expect(['RESPONSE_TIMEOUT', 'HTTP_REQUEST_TIMEOUT']).toContain(entry.errorEvent);
    }
    // The call that was waiting at the deadline is cancelled with the request.
    expect(runtime.rpc.inFlight).toBe(0);

    // Many requests waiting at once.
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    const many = await Promise.all(
      Array.from({ length: 12 }, () =>
        api(appId, { body: [{ topic: 'rpc', action: 'make', rpcName: 'slow' }] }),
      ),
    );
    process.off('warning', onWarning);
    for (const reply of many) expect(reply.json().body[0].errorEvent).toBe('RESPONSE_TIMEOUT');
    expect(warnings).toEqual([]);
  });

  it('works on at most HTTP_API_MAX_REQUESTS_PER_ADDRESS requests from one address at once', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'slow' });
    provider.rpc.provide('slow', () => {});
    const runtime = (await stack.runtime(appId))!;
    await until(() => runtime.rpc.providers.count('slow') === 1, 'provide');
    const slow = { body: [{ topic: 'rpc', action: 'make', rpcName: 'slow' }] };
    // Sixteen wait on the RPC (400 ms) ...
    const base = runtime.usage.messagesIn;
    const waiting = Array.from({ length: 16 }, () => api(appId, slow));
    await until(() => runtime.rpc.inFlight === 16, 'sixteen RPCs in flight');
    // Each counts as a message, and so does the provider's ACCEPT of it,
    // which the client sends a moment after the request reaches it.
    await until(() => runtime.usage.messagesIn === base + 32, 'the requests and accepts counted');
    // ... so the seventeenth is refused before anything of it runs.
    const before = runtime.usage.messagesIn;
    const refused = await api(appId, {
      body: [{ topic: 'event', action: 'emit', eventName: 'over', data: 1 }],
    });
    const answered = await Promise.all(waiting);
    expect(refused.status).toBe(429);
    expect(refused.text).toContain('HTTP_API_MAX_REQUESTS_PER_ADDRESS');
    expect(runtime.usage.messagesIn).toBe(before);
    for (const reply of answered) {
      expect(reply.json().body[0].errorEvent).toBe('RESPONSE_TIMEOUT');
    }
    // Once they are answered, the address may send again.
    const after = await api(appId, {
      body: [{ topic: 'event', action: 'emit', eventName: 'after', data: 1 }],
    });
    expect(after.json()).toEqual({ result: 'SUCCESS', body: [{ success: true }] });
  });
});

describe('HTTP data API: malformed requests (plain text, 4xx, nothing runs)', () => {
  let appId: string;
  beforeAll(async () => {
    appId = await stack.createApp();
  });

  const cases: [string, () => Promise<HttpReply>, number, string | RegExp][] = [
    ['invalid JSON', () => api(appId, '{"body": ['), 400, /^Failed to parse body of request: /],
    [
      'not JSON',
      () =>
        fetch(`${base()}/${appId}/api`, { method: 'POST', body: 'a=1' }).then(async (r) => ({
          status: r.status,
          type: r.headers.get('content-type') ?? '',
          text: await r.text(),
          json: () => null,
        })),
      415,
      'Invalid "Content-Type" header. Supported media types: "application/json"',
    ],
    [
      'no Content-Type',
      () =>
        fetch(`${base()}/${appId}/api`, {
          method: 'POST',
          body: new TextEncoder().encode('{"body":[]}'),
        }).then(async (r) => ({
          status: r.status,
          type: r.headers.get('content-type') ?? '',
          text: await r.text(),
          json: () => null,
        })),
      415,
      'Invalid "Content-Type" header. Supported media types: "application/json"',
    ],
    [
      'not an object',
      () => api(appId, '[1]'),
      400,
      /^Invalid message: the request must be a JSON object/,
    ],
    ['no body', () => api(appId, {}), 400, 'Invalid message: the "body" parameter must exist.'],
    [
      'empty body',
      () => api(appId, { body: [] }),
      400,
      'Invalid message: the "body" parameter must be a non-empty array of Objects.',
    ],
    [
      'too many commands',
      () =>
        api(appId, {
          body: Array.from({ length: 21 }, () => ({
            topic: 'event',
            action: 'emit',
            eventName: 'e',
          })),
        }),
      400,
      'Invalid message: the "body" parameter holds 21 commands; at most 20 are allowed in one request.',
    ],
    [
      'unknown topic',
      () => api(appId, { body: [{ topic: 'evnt', action: 'emit', eventName: 'e' }] }),
      400,
      /^Failed to parse JIF object at index 0\. Reason: unknown topic "evnt"/,
    ],
    [
      'unknown action',
      () =>
        api(appId, {
          body: [
            { topic: 'event', action: 'emit', eventName: 'e' },
            { topic: 'record', action: 'subscribe', recordName: 'r' },
          ],
        }),
      400,
      /^Failed to parse JIF object at index 1\. Reason: unknown action "subscribe" for topic 'record'/,
    ],
    [
      'missing field',
      () => api(appId, { body: [{ topic: 'event', action: 'emit' }] }),
      400,
      "Failed to parse JIF object at index 0. Reason: property 'eventName' is required for topic 'event' action 'emit'",
    ],
    [
      'whole write without an object',
      () => api(appId, { body: [{ topic: 'record', action: 'write', recordName: 'r', data: 3 }] }),
      400,
      "Failed to parse JIF object at index 0. Reason: property 'data' must be an object or an array when no 'path' is given",
    ],
    [
      'over the message size limit',
      () =>
        api(appId, {
          body: [{ topic: 'event', action: 'emit', eventName: 'e', data: 'x'.repeat(70_000) }],
        }),
      400,
      'Failed to parse body of request: request entity too large',
    ],
    [
      'authData not an object',
      () =>
        api(appId, { authData: 'me', body: [{ topic: 'event', action: 'emit', eventName: 'e' }] }),
      400,
      'Invalid message: the "authData" parameter must be an object',
    ],
    [
      'token not a string',
      () => api(appId, { token: 5, body: [{ topic: 'event', action: 'emit', eventName: 'e' }] }),
      400,
      'Invalid message: the "token" parameter must be a non-empty string',
    ],
    [
      'unknown token',
      () =>
        api(appId, {
          token: `hst_${'a'.repeat(43)}`,
          body: [{ topic: 'event', action: 'emit', eventName: 'e' }],
        }),
      401,
      /^This token is unknown or has expired/,
    ],
    [
      'unknown app',
      () => api('nosuchapp0000', { body: [{ topic: 'event', action: 'emit', eventName: 'e' }] }),
      404,
      /^No app with id "nosuchapp0000"/,
    ],
  ];
  for (const [what, send, status, message] of cases) {
    it(`${what}: ${status}`, async () => {
      const res = await send();
      expect(res.status).toBe(status);
      expect(res.type).toMatch(/^text\/plain/);
      if (typeof message === 'string') expect(res.text).toBe(message);
      else expect(res.text).toMatch(message);
    });
  }

  it('runs no command of a batch with a malformed one', async () => {
    const res = await api(appId, {
      body: [
        { topic: 'record', action: 'write', recordName: 'untouched', data: { a: 1 } },
        { topic: 'record', action: 'write', recordName: 'untouched' },
      ],
    });
    expect(res.status).toBe(400);
    const read = await api(appId, {
      body: [{ topic: 'record', action: 'head', recordName: 'untouched' }],
    });
    expect(read.json().body).toEqual([{ success: true, version: -1 }]);
  });

  it('answers GET with 405 and a CORS preflight with 204', async () => {
    const get = await fetch(`${base()}/${appId}/api`);
    expect(get.status).toBe(405);
    const preflight = await fetch(`${base()}/${appId}/api`, { method: 'OPTIONS' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('HTTP data API: who may do what', () => {
  const RULES = `record:
  "*":
    create: true
    read: true
    write: "user.data.role === 'backend'"
    delete: false
    listen: true
    notify: true
event:
  "public/*":
    publish: true
    subscribe: true
  "broken/*":
    publish: "data.a.b === 1"
    subscribe: true
  "*":
    publish: false
    subscribe: true
rpc:
  "*":
    provide: true
    request: false
presence:
  "*":
    allow: false
`;

  it('denies per command with MESSAGE_DENIED, and denied commands have no effect', async () => {
    const appId = await stack.createApp({ permissions: RULES });
    const res = await api(appId, {
      body: [
        { topic: 'event', action: 'emit', eventName: 'public/a' },
        { topic: 'event', action: 'emit', eventName: 'secret' },
        { topic: 'record', action: 'write', recordName: 'r', data: { a: 1 } },
        { topic: 'record', action: 'delete', recordName: 'r' },
        { topic: 'rpc', action: 'make', rpcName: 'f' },
        { topic: 'presence', action: 'query' },
        { topic: 'record', action: 'head', recordName: 'r' },
        { topic: 'event', action: 'emit', eventName: 'broken/x', data: {} },
      ],
    });
    const { result, body } = res.json();
    expect(result).toBe('PARTIAL_SUCCESS');
    // A rule that fails on this data: refused as over WebSocket, named as a rule error.
    expect(body[7]).toMatchObject({
      success: false,
      errorTopic: 'event',
      errorEvent: 'MESSAGE_PERMISSION_ERROR',
      errorAction: 'emit',
    });
    expect(body[0]).toEqual({ success: true });
    expect(body[1]).toEqual({
      success: false,
      error: "Message denied. Action 'emit' is not permitted.",
      errorTopic: 'event',
      errorEvent: 'MESSAGE_DENIED',
      errorAction: 'emit',
    });
    expect(body[2]).toEqual({
      success: false,
      error: 'Message denied. Action "CREATEANDUPDATE" is not permitted.',
      errorTopic: 'record',
      errorEvent: 'MESSAGE_DENIED',
      errorAction: 'write',
    });
    expect(body[3]).toMatchObject({
      success: false,
      errorEvent: 'MESSAGE_DENIED',
      errorAction: 'delete',
    });
    expect(body[4]).toMatchObject({
      success: false,
      errorTopic: 'rpc',
      errorEvent: 'MESSAGE_DENIED',
    });
    expect(body[5]).toMatchObject({
      success: false,
      errorTopic: 'presence',
      errorEvent: 'MESSAGE_DENIED',
    });
    expect(body[6]).toEqual({ success: true, version: -1 });
  });

  it('acts as an API key with the data scope, as the user it names', async () => {
    const appId = await stack.createApp({ permissions: RULES });
    const other = await stack.createApp({ permissions: RULES });
    const backend = await addKey(appId, { scopes: ['data'], serverData: { role: 'backend' } });
    const named = await addKey(appId, { scopes: ['users', 'data'], userId: 'svc-1', name: 'svc' });
    const usersOnly = await addKey(appId, { scopes: ['users'] });
    const revoked = await addKey(appId, { scopes: ['data'], revoked: true });
    const foreign = await addKey(other, { scopes: ['data'] });
    const write = {
      body: [{ topic: 'record', action: 'write', recordName: 'cfg', data: { on: true } }],
    };
    const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

    const ok = await api(appId, write, bearer(backend));
    expect(ok.json()).toEqual({ result: 'SUCCESS', body: [{ success: true }] });
    // Another key of the same app without the rules' role: denied by Valve, per command.
    const denied = await api(appId, write, bearer(named));
    expect(denied.json().body[0]).toMatchObject({ errorEvent: 'MESSAGE_DENIED' });

    const refusals: [string, number, RegExp][] = [
      [usersOnly, 403, /lacks the 'data' scope/],
      [revoked, 401, /was revoked/],
      [foreign, 401, /not valid for this app/],
      [`hsk_abcdefgh_${'x'.repeat(43)}`, 401, /not valid for this app/],
      ['hsk_short', 401, /malformed/],
    ];
    for (const [key, status, message] of refusals) {
      const res = await api(appId, write, bearer(key));
      expect(res.status, key).toBe(status);
      expect(res.text).toMatch(message);
    }
    // A key of another app reads exactly as a key nobody has.
    const unknownText = (await api(appId, write, bearer(`hsk_abcdefgh_${'x'.repeat(43)}`))).text;
    expect((await api(appId, write, bearer(foreign))).text).toBe(unknownText);
    const basic = await api(appId, write, { authorization: 'Basic abc' });
    expect(basic.status).toBe(401);
  });

  it('logs in with authData per request or once for a token, through the app strategies', async () => {
    const appId = await stack.createApp({
      permissions: RULES.replace("user.data.role === 'backend'", "user.id === 'alice'"),
      namedUsers: true,
      auth: { open: { enabled: false } },
    });
    const write = [{ topic: 'record', action: 'write', recordName: 'a', data: { v: 1 } }];
    const open = await api(appId, { body: write });
    expect(open.status).toBe(401);
    expect(open.text).toMatch(/^Unsuccessful authentication attempt\./);

    const withAuthData = await api(appId, { authData: { username: 'alice' }, body: write });
    expect(withAuthData.json().result).toBe('SUCCESS');
    const asBob = await api(appId, { authData: { username: 'bob' }, body: write });
    expect(asBob.json().body[0]).toMatchObject({ errorEvent: 'MESSAGE_DENIED' });

    const login = await post(`/${appId}/api/auth`, { username: 'alice' });
    expect(login.status).toBe(200);
    const { token, clientData } = login.json();
    expect(token).toMatch(/^hst_/);
    expect(clientData).toBeDefined();
    const withToken = await api(appId, { token, body: write });
    expect(withToken.json().result).toBe('SUCCESS');
    // A token belongs to its app.
    const elsewhere = await stack.createApp();
    expect((await api(elsewhere, { token, body: write })).status).toBe(401);

    const badLogin = await post(`/${appId}/api/auth`, {});
    expect(badLogin.status).toBe(401);
    expect(badLogin.text).toMatch(/^Invalid authentication data\./);
  });

  it('logs in app users by email with the same throttle as WebSocket logins', async () => {
    const appId = await stack.createApp({
      auth: { open: { enabled: false }, email: { enabled: true } },
    });
    const created = await stack.api('POST', `/v1/apps/${appId}/users`, {
      email: 'ann@example.com',
      password: 'long enough password',
    });
    expect(created.status).toBe(201);
    const right = { type: 'email', email: 'ann@example.com', password: 'long enough password' };
    const ok = await post(`/${appId}/api/auth`, right);
    expect(ok.status).toBe(200);
    expect(ok.json().clientData).toEqual({ id: created.body.id });
    const wrong = { ...right, password: 'wrong' };
    for (let i = 0; i < 2; i++) {
      const res = await api(appId, {
        authData: wrong,
        body: [{ topic: 'event', action: 'emit', eventName: 'e' }],
      });
      expect(res.status).toBe(401);
      expect(res.text).toBe('Unsuccessful authentication attempt. (INVALID_EMAIL_OR_PASSWORD)');
    }
    // Over LOGIN_FAILURES_PER_EMAIL_AND_IP: refused before the password is looked at.
    const throttled = await post(`/${appId}/api/auth`, right);
    expect(throttled.status).toBe(401);
    expect(throttled.text).toBe('Invalid authentication data. (TOO_MANY_FAILED_LOGINS)');
  });

  it("counts each command against the app's message rate", async () => {
    const appId = await stack.createApp();
    const res = await stack.api('PUT', `/v1/apps/${appId}/limits`, {
      connectionMessagesPerSecond: 3,
    });
    expect(res.status).toBe(200);
    const runtime = (await stack.runtime(appId))!;
    await until(() => runtime.limiter.limits.connectionMessagesPerSecond === 3, 'limits');
    const before = runtime.usage.messagesIn;
    const batch = await api(appId, {
      body: Array.from({ length: 5 }, (_, i) => ({
        topic: 'event',
        action: 'emit',
        eventName: `e${i}`,
      })),
    });
    const { result, body } = batch.json();
    expect(result).toBe('PARTIAL_SUCCESS');
    expect(body.filter((r: { success: boolean }) => r.success)).toHaveLength(3);
    expect(body[4]).toMatchObject({ success: false, errorEvent: 'MESSAGE_DENIED' });
    expect(runtime.usage.messagesIn - before).toBe(5);
  });
});

const addKey = (appId: string, options: ApiKeyOptions) =>
  addApiKey(stack.db.prisma, appId, options);
