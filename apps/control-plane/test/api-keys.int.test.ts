import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LACKS_USERS_SCOPE } from '../src/plugins/auth.ts';
import { MAX_USER_DATA_BYTES } from '../src/routes/app-users/service.ts';
import { type Harness, startWithApp } from './harness.ts';

// API key scopes (issue 15): "users" manages the app users here, "data" is
// the realtime nodes' HTTP data API, as the user id and serverData the key
// names. Chosen at creation, listed, audited; bad input is a 400 that names
// the field and stores nothing; a key without "users" gets 403 on the user
// routes saying so.

describe('API key scopes', () => {
  let h: Harness;
  let token: string;
  let appId: string;
  beforeAll(async () => {
    ({ h, token, appId } = await startWithApp());
  });
  afterAll(async () => {
    await h?.close();
  });

  const create = (body: unknown) => h.call('POST', `/v1/apps/${appId}/keys`, { token, body });
  const list = async () =>
    (await h.call('GET', `/v1/apps/${appId}/keys`, { token })).body.keys as Record<
      string,
      unknown
    >[];

  it('creates keys with scopes, user id and serverData; lists and audits them', async () => {
    const plain = await create({ name: '  Scripts  ' });
    expect(plain.status).toBe(201);
    // No scopes sent: what every key could do before scopes.
    expect(plain.body).toMatchObject({
      name: 'Scripts',
      scopes: ['users'],
      userId: null,
      serverData: null,
      dataUserId: null,
      key: expect.stringMatching(/^hsk_[a-z0-9]{8}_/),
    });

    const backend = await create({
      name: 'Backend',
      scopes: ['data', 'users'],
      userId: 'backend-1',
      serverData: { role: 'backend' },
    });
    expect(backend.status).toBe(201);
    expect(backend.body).toMatchObject({
      scopes: ['data', 'users'],
      userId: 'backend-1',
      serverData: { role: 'backend' },
      dataUserId: 'backend-1',
    });

    const data = await create({ name: 'Worker', scopes: ['data'] });
    expect(data.body).toMatchObject({
      scopes: ['data'],
      userId: null,
      dataUserId: 'api-key:Worker',
    });

    const keys = await list();
    expect(keys.map((k) => [k.name, k.scopes, k.dataUserId])).toEqual([
      ['Scripts', ['users'], null],
      ['Backend', ['data', 'users'], 'backend-1'],
      ['Worker', ['data'], 'api-key:Worker'],
    ]);
    expect(keys[1]).toMatchObject({ userId: 'backend-1', serverData: { role: 'backend' } });
    expect(JSON.stringify(keys)).not.toContain(backend.body.key);

    const stored = await h.db.prisma.apiKey.findUnique({ where: { id: backend.body.id } });
    expect(stored).toMatchObject({ scopes: ['data', 'users'], userId: 'backend-1' });

    const events = await h.db.prisma.auditEvent.findMany({
      where: { appId, action: 'key.created' },
      orderBy: { id: 'asc' },
    });
    expect(events.map((e) => e.details)).toEqual([
      { name: 'Scripts', scopes: ['users'], userId: null, serverData: null },
      {
        name: 'Backend',
        scopes: ['data', 'users'],
        userId: 'backend-1',
        serverData: { role: 'backend' },
      },
      { name: 'Worker', scopes: ['data'], userId: null, serverData: null },
    ]);
  });

  it('answers 400 naming the field for bad input, and stores nothing', async () => {
    const before = await h.db.prisma.apiKey.count({ where: { appId } });
    const auditBefore = await h.db.prisma.auditEvent.count({ where: { appId } });
    const big = { blob: 'x'.repeat(MAX_USER_DATA_BYTES) };
    const cases: [unknown, string][] = [
      [{}, '/'], // "must have required property 'name'"
      [{ name: '' }, '/name'],
      [{ name: '   ' }, '/name'],
      [{ name: 'x'.repeat(101) }, '/name'],
      [{ name: 'k', scopes: [] }, '/scopes'],
      [{ name: 'k', scopes: ['admin'] }, '/scopes/0'],
      [{ name: 'k', scopes: ['data', 'data'] }, '/scopes'],
      [{ name: 'k', scopes: ['data'], userId: '' }, '/userId'],
      [{ name: 'k', scopes: ['data'], userId: ' padded ' }, '/userId'],
      [{ name: 'k', scopes: ['data'], userId: 'open:ada' }, '/userId'],
      [{ name: 'k', scopes: ['data'], userId: 'u'.repeat(257) }, '/userId'],
      [{ name: 'k', scopes: ['users'], userId: 'backend' }, '/userId'],
      [{ name: 'k', scopes: ['users'], serverData: { role: 'x' } }, '/serverData'],
      [{ name: 'k', scopes: ['data'], serverData: [1, 2] }, '/serverData'],
      [{ name: 'k', scopes: ['data'], serverData: 'role' }, '/serverData'],
      [{ name: 'k', scopes: ['data'], serverData: big }, '/serverData'],
      [{ name: 'k', owner: 'me' }, '/'],
    ];
    for (const [body, path] of cases) {
      const res = await create(body);
      const what = JSON.stringify(body).slice(0, 80);
      expect(res.status, what).toBe(400);
      expect(res.body.error.code, what).toBe('VALIDATION_FAILED');
      expect(
        (res.body.error.details as { path: string }[]).map((d) => d.path),
        what,
      ).toContain(path);
    }
    expect(await h.db.prisma.apiKey.count({ where: { appId } })).toBe(before);
    expect(await h.db.prisma.auditEvent.count({ where: { appId } })).toBe(auditBefore);
  });

  it('refuses a key without the users scope on the user routes with a 403 that says so', async () => {
    const data = (await create({ name: 'Data only', scopes: ['data'] })).body.key as string;
    const both = (await create({ name: 'Both', scopes: ['users', 'data'] })).body.key as string;
    const user = await h.call('POST', `/v1/apps/${appId}/users`, {
      token,
      body: { email: 'scoped@example.com', password: 'long enough password' },
    });
    const calls: [string, string, unknown?][] = [
      ['GET', `/v1/apps/${appId}/users`],
      ['POST', `/v1/apps/${appId}/users`, { email: 'd@example.com', password: 'long enough pw' }],
      ['GET', `/v1/apps/${appId}/users/${user.body.id}`],
      ['PATCH', `/v1/apps/${appId}/users/${user.body.id}`, { clientData: { a: 1 } }],
      ['DELETE', `/v1/apps/${appId}/users/${user.body.id}`],
    ];
    for (const [method, url, body] of calls) {
      const res = await h.call(method, url, { token: data, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${url}`).toBe(403);
      expect(res.body.error).toMatchObject({ code: 'FORBIDDEN', message: LACKS_USERS_SCOPE });
    }
    expect(LACKS_USERS_SCOPE).toContain('lacks the "users" scope');
    // Nothing was changed by the refused calls.
    expect(await h.db.prisma.appUser.count({ where: { appId } })).toBe(1);
    // A key with both scopes manages users as before; neither may manage keys.
    expect((await h.call('GET', `/v1/apps/${appId}/users`, { token: both })).status).toBe(200);
    for (const key of [data, both]) {
      const res = await h.call('POST', `/v1/apps/${appId}/keys`, {
        token: key,
        body: { name: 'escalate', scopes: ['users'] },
      });
      expect(res.status).toBe(403);
      expect(res.body.error.message).toBe(
        'App API keys can only manage the app users of their own app.',
      );
    }
  });
});
