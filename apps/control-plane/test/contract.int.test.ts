import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, createApp, type Harness, signUp, startControlPlane } from './harness.ts';

// The minimum contract of the HTTP API, exactly as the issue states it, on
// Postgres and on PGlite.

const SEED = `record:
  "*":
    read: true
    write: "user.id === 'admin'"
event:
  "*":
    publish: true
    subscribe: true
rpc:
  "*":
    provide: true
    request: true
presence:
  "*":
    allow: true
`;

describe.each<Backend>(['postgres', 'pglite'])('API contract on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startControlPlane(backend);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('signs up, logs in, creates an app and manages it', async () => {
    const signup = await h.call('POST', '/v1/signup', {
      body: { email: 'Ada@Example.com', password: 'correct horse battery' },
    });
    expect(signup.status).toBe(201);
    expect(signup.body).toEqual({
      account: {
        id: expect.any(String),
        email: 'ada@example.com',
        emailVerified: false,
        createdAt: expect.any(String),
      },
      token: expect.stringMatching(/^hss_/),
    });

    const login = await h.call('POST', '/v1/login', {
      body: { email: 'ada@example.com', password: 'correct horse battery' },
    });
    expect(login.status).toBe(200);
    expect(login.body).toEqual({ token: expect.stringMatching(/^hss_/) });
    const token = login.body.token as string;

    const created = await h.call('POST', '/v1/apps', { token, body: { name: 'Chat' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^[a-z0-9]{12}$/),
      name: 'Chat',
    });
    expect(created.body.url).toBe(`ws://localhost:6020/${created.body.id}`);
    const appId = created.body.id as string;

    const got = await h.call('GET', `/v1/apps/${appId}`, { token });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: appId, name: 'Chat', activePermissionVersion: null });

    const auth = await h.call('PUT', `/v1/apps/${appId}/auth`, {
      token,
      body: {
        open: { enabled: false },
        email: { enabled: true },
        webhook: { enabled: true, url: 'https://auth.example.com/login' },
      },
    });
    expect(auth.status).toBe(200);
    expect(auth.body).toMatchObject({
      open: { enabled: false },
      email: { enabled: true },
      webhook: {
        enabled: true,
        url: 'https://auth.example.com/login',
        signingSecret: expect.stringMatching(/^whsec_/),
      },
    });

    const yaml = await h.call('PUT', `/v1/apps/${appId}/permissions`, {
      token,
      body: SEED,
      headers: { 'content-type': 'text/yaml' },
    });
    expect(yaml).toMatchObject({ status: 200, body: { version: 1 } });
    const json = await h.call('PUT', `/v1/apps/${appId}/permissions`, {
      token,
      body: { valve: SEED },
    });
    expect(json).toMatchObject({ status: 200, body: { version: 2 } });

    const invalid = await h.call('PUT', `/v1/apps/${appId}/permissions`, {
      token,
      body: SEED.replace('read: true', 'read: "process.exit()"'),
      headers: { 'content-type': 'text/yaml' },
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.code).toBe('INVALID_PERMISSIONS');
    expect(invalid.body.error.details.length).toBeGreaterThan(0);
    for (const detail of invalid.body.error.details) {
      expect(detail).toMatchObject({
        code: expect.any(String),
        message: expect.any(String),
        line: expect.any(Number),
        column: expect.any(Number),
      });
    }
    expect(invalid.body.error.details[0].line).toBe(3);
    expect((await h.call('GET', `/v1/apps/${appId}`, { token })).body.activePermissionVersion).toBe(
      2,
    );

    const user = await h.call('POST', `/v1/apps/${appId}/users`, {
      token,
      body: { email: 'end@user.com', password: 'hunter22hunter', clientData: { name: 'End' } },
    });
    expect(user).toMatchObject({
      status: 201,
      body: { id: expect.any(String), email: 'end@user.com' },
    });

    const key = await h.call('POST', `/v1/apps/${appId}/keys`, { token, body: { name: 'Script' } });
    expect(key.status).toBe(201);
    expect(key.body).toMatchObject({
      id: expect.any(String),
      key: expect.stringMatching(/^hsk_[a-z0-9]{8}_/),
    });

    const byKey = await h.call('POST', `/v1/apps/${appId}/users`, {
      token: key.body.key,
      body: { email: 'second@user.com', password: 'hunter22hunter', serverData: { role: 'admin' } },
    });
    expect(byKey).toMatchObject({ status: 201, body: { email: 'second@user.com' } });

    // Auth and permission changes were announced for the realtime nodes.
    await new Promise((r) => setImmediate(r));
    expect(h.announced.filter((m) => m.appId === appId).map((m) => m.payload.what)).toEqual([
      'auth',
      'permissions',
      'permissions',
    ]);
  });

  it('answers unknown email and wrong password the same way', async () => {
    const { email } = await signUp(h);
    const wrong = await h.call('POST', '/v1/login', {
      body: { email, password: 'not the password' },
    });
    const unknown = await h.call('POST', '/v1/login', {
      body: { email: 'nobody@example.com', password: 'not the password' },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body.error.code).toBe('INVALID_CREDENTIALS');
  });

  it('gives another account 404 for the app', async () => {
    const owner = await signUp(h);
    const other = await signUp(h);
    const app = await createApp(h, owner.token);
    const res = await h.call('GET', `/v1/apps/${app.id}`, { token: other.token });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
  });
});
