import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, createApp, type Harness, signUp, startControlPlane } from './harness.ts';

const valve = (readRule: string) =>
  `record:\n  "*":\n    read: ${readRule}\nevent:\n  "*":\n    publish: true\nrpc:\n  "*":\n    request: true\npresence:\n  "*":\n    allow: true\n`;

describe.each<Backend>(['postgres', 'pglite'])('resources on %s', (backend) => {
  let h: Harness;
  let token: string;
  beforeAll(async () => {
    h = await startControlPlane(backend);
    token = (await signUp(h)).token;
  });
  afterAll(async () => {
    await h?.close();
  });

  describe('apps', () => {
    it('lists, renames and deletes apps with everything in them', async () => {
      const a = await createApp(h, token, 'First');
      const b = await createApp(h, token, 'Second');
      const list = await h.call('GET', '/v1/apps', { token });
      expect(list.body.apps.map((x: { id: string }) => x.id)).toEqual(
        expect.arrayContaining([a.id, b.id]),
      );

      const renamed = await h.call('PATCH', `/v1/apps/${a.id}`, {
        token,
        body: { name: '  Renamed ' },
      });
      expect(renamed).toMatchObject({ status: 200, body: { id: a.id, name: 'Renamed' } });
      for (const name of ['', '   ', 'x'.repeat(101)]) {
        expect((await h.call('PATCH', `/v1/apps/${a.id}`, { token, body: { name } })).status).toBe(
          400,
        );
      }

      await h.call('POST', `/v1/apps/${b.id}/users`, {
        token,
        body: { email: 'gone@example.com', password: 'long enough password' },
      });
      await h.call('PUT', `/v1/apps/${b.id}/permissions`, {
        token,
        body: { valve: valve('true') },
      });
      const deleted = await h.call('DELETE', `/v1/apps/${b.id}`, { token });
      expect(deleted.status).toBe(204);
      expect((await h.call('GET', `/v1/apps/${b.id}`, { token })).status).toBe(404);
      expect(await h.db.prisma.appUser.count({ where: { appId: b.id } })).toBe(0);
      expect(await h.db.prisma.permissionVersion.count({ where: { appId: b.id } })).toBe(0);
      await new Promise((r) => setImmediate(r));
      expect(h.announced).toContainEqual(
        expect.objectContaining({
          appId: b.id,
          topic: 'app.changed',
          payload: { what: 'deleted' },
        }),
      );
    });

    it('rejects unknown fields, bad JSON, wrong content types and oversized bodies', async () => {
      const extra = await h.call('POST', '/v1/apps', { token, body: { name: 'x', owner: 'me' } });
      expect(extra.status).toBe(400);
      expect(extra.body.error.code).toBe('VALIDATION_FAILED');
      const badJson = await h.call('POST', '/v1/apps', {
        token,
        body: '{"name": ',
        headers: { 'content-type': 'application/json' },
      });
      expect(badJson).toMatchObject({ status: 400, body: { error: { code: 'INVALID_JSON' } } });
      const form = await h.call('POST', '/v1/apps', {
        token,
        body: 'name=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(form).toMatchObject({
        status: 415,
        body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } },
      });
      const huge = await h.call('POST', '/v1/apps', { token, body: { name: 'x'.repeat(300_000) } });
      expect(huge).toMatchObject({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE' } } });
    });
  });

  describe('auth settings', () => {
    it('starts with open auth on and keeps parts that are left out', async () => {
      const app = await createApp(h, token);
      const initial = await h.call('GET', `/v1/apps/${app.id}/auth`, { token });
      expect(initial.body).toMatchObject({
        order: ['email', 'webhook', 'open'],
        open: { enabled: true },
        email: { enabled: false },
        webhook: { enabled: false, url: null, signingSecret: null, timeoutMs: 5000 },
        unauthenticatedTimeoutMs: 180000,
        maxAuthAttempts: 3,
      });
      const updated = await h.call('PUT', `/v1/apps/${app.id}/auth`, {
        token,
        body: {
          order: ['webhook', 'email', 'open'],
          email: { enabled: true },
          webhook: {
            url: 'http://203.0.113.5:9999/auth',
            promoteToHeader: ['token'],
            retryAttempts: 1,
          },
          maxAuthAttempts: 5,
        },
      });
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({
        order: ['webhook', 'email', 'open'],
        open: { enabled: true },
        email: { enabled: true },
        webhook: {
          enabled: false,
          url: 'http://203.0.113.5:9999/auth',
          promoteToHeader: ['token'],
          retryAttempts: 1,
        },
        maxAuthAttempts: 5,
      });
      const events = await h.call('GET', `/v1/apps/${app.id}/audit`, { token });
      expect(events.body.events[0]).toMatchObject({
        action: 'auth.updated',
        details: {
          fields: [
            'order',
            'email.enabled',
            'webhook.url',
            'webhook.promoteToHeader',
            'webhook.retryAttempts',
            'maxAuthAttempts',
          ],
        },
      });
    });

    it('refuses invalid settings with every problem and changes nothing', async () => {
      const app = await createApp(h, token);
      const before = (await h.call('GET', `/v1/apps/${app.id}/auth`, { token })).body;
      const cases: [unknown, number, string][] = [
        [{ webhook: { enabled: true } }, 422, 'INVALID_SETTINGS'],
        [{ webhook: { url: 'ftp://example.com' } }, 422, 'INVALID_SETTINGS'],
        [{ webhook: { url: 'https://user:pw@example.com' } }, 422, 'INVALID_SETTINGS'],
        [{ webhook: { url: 'not a url' } }, 422, 'INVALID_SETTINGS'],
        [{ webhook: { timeoutMs: 5 } }, 400, 'VALIDATION_FAILED'],
        [{ webhook: { permittedStatusCodes: [700] } }, 400, 'VALIDATION_FAILED'],
        [{ order: ['open', 'open', 'email'] }, 400, 'VALIDATION_FAILED'],
        [{ order: ['open', 'email'] }, 400, 'VALIDATION_FAILED'],
        [{ open: { enabled: 'yes' } }, 400, 'VALIDATION_FAILED'],
        [{ facebook: { enabled: true } }, 400, 'VALIDATION_FAILED'],
        [{ maxAuthAttempts: 0 }, 400, 'VALIDATION_FAILED'],
        [{ unauthenticatedTimeoutMs: 99 }, 400, 'VALIDATION_FAILED'],
      ];
      for (const [body, status, code] of cases) {
        const res = await h.call('PUT', `/v1/apps/${app.id}/auth`, { token, body });
        expect(res.status, JSON.stringify(body)).toBe(status);
        expect(res.body.error.code).toBe(code);
        expect(res.body.error.message.length).toBeGreaterThan(10);
      }
      expect((await h.call('GET', `/v1/apps/${app.id}/auth`, { token })).body).toEqual(before);
    });
  });

  describe('app users', () => {
    it('creates, finds, pages, updates and deletes users; emails are unique ignoring case', async () => {
      const app = await createApp(h, token);
      const base = `/v1/apps/${app.id}/users`;
      const ids: string[] = [];
      for (const n of [1, 2, 3]) {
        const res = await h.call('POST', base, {
          token,
          body: {
            email: `Person${n}@Example.com`,
            password: 'long enough password',
            serverData: { n },
          },
        });
        expect(res.status).toBe(201);
        ids.push(res.body.id);
      }
      const dup = await h.call('POST', base, {
        token,
        body: { email: 'PERSON1@example.COM', password: 'long enough password' },
      });
      expect(dup).toMatchObject({ status: 409, body: { error: { code: 'USER_EXISTS' } } });

      const page = await h.call('GET', `${base}?limit=2&offset=1`, { token });
      expect(page.body).toMatchObject({ total: 3, limit: 2, offset: 1 });
      expect(page.body.users.map((u: { id: string }) => u.id)).toEqual(ids.slice(1));
      const search = await h.call('GET', `${base}?q=SON2`, { token });
      expect(search.body.users.map((u: { email: string }) => u.email)).toEqual([
        'Person2@Example.com',
      ]);
      expect(JSON.stringify(search.body)).not.toContain('argon2');
      // The query is matched as text: % and _ are no wildcards.
      for (const wild of ['%', 'person_']) {
        const literal = await h.call('GET', `${base}?q=${encodeURIComponent(wild)}`, { token });
        expect(literal.body).toMatchObject({ users: [], total: 0 });
      }
      expect((await h.call('GET', `${base}?limit=0`, { token })).status).toBe(400);
      expect((await h.call('GET', `${base}?limit=1000`, { token })).status).toBe(400);

      const one = await h.call('GET', `${base}/${ids[0]}`, { token });
      expect(one.body).toMatchObject({
        email: 'Person1@Example.com',
        serverData: { n: 1 },
        clientData: {},
      });

      const hashBefore = (await h.db.prisma.appUser.findUniqueOrThrow({ where: { id: ids[0]! } }))
        .passwordHash;
      const updated = await h.call('PATCH', `${base}/${ids[0]}`, {
        token,
        body: { password: 'another long password', clientData: { nick: 'p1' } },
      });
      expect(updated.body).toMatchObject({ clientData: { nick: 'p1' }, serverData: { n: 1 } });
      const hashAfter = (await h.db.prisma.appUser.findUniqueOrThrow({ where: { id: ids[0]! } }))
        .passwordHash;
      expect(hashAfter).not.toBe(hashBefore);
      expect(hashAfter.startsWith('$argon2id$')).toBe(true);

      const clash = await h.call('PATCH', `${base}/${ids[0]}`, {
        token,
        body: { email: 'person2@example.com' },
      });
      expect(clash.status).toBe(409);
      expect((await h.call('PATCH', `${base}/${ids[0]}`, { token, body: {} })).status).toBe(400);
      const tooBig = await h.call('PATCH', `${base}/${ids[0]}`, {
        token,
        body: { serverData: { blob: 'x'.repeat(20_000) } },
      });
      expect(tooBig.status).toBe(400);

      expect((await h.call('DELETE', `${base}/${ids[1]}`, { token })).status).toBe(204);
      expect((await h.call('GET', `${base}/${ids[1]}`, { token })).status).toBe(404);
      expect((await h.call('GET', `${base}/not-a-uuid`, { token })).status).toBe(400);
      expect(
        (await h.call('GET', `${base}/00000000-0000-0000-0000-000000000000`, { token })).status,
      ).toBe(404);

      const short = await h.call('POST', base, {
        token,
        body: { email: 'x@example.com', password: 'short' },
      });
      expect(short.status).toBe(400);
      const notEmail = await h.call('POST', base, {
        token,
        body: { email: 'nope', password: 'long enough password' },
      });
      expect(notEmail.status).toBe(400);

      const audit = await h.call('GET', `/v1/apps/${app.id}/audit?limit=2`, { token });
      expect(audit.body.events.map((e: { action: string }) => e.action)).toEqual([
        'user.deleted',
        'user.updated',
      ]);
      expect(audit.body.next).toEqual(expect.any(String));
      const older = await h.call(
        'GET',
        `/v1/apps/${app.id}/audit?limit=50&before=${audit.body.next}`,
        { token },
      );
      expect(older.body.events.map((e: { action: string }) => e.action)).toEqual([
        'user.created',
        'user.created',
        'user.created',
        'app.created',
      ]);
      expect(JSON.stringify(older.body)).not.toContain('long enough password');
    });
  });

  describe('permissions', () => {
    it('stores versions, rolls back, and never activates an invalid file', async () => {
      const app = await createApp(h, token);
      const base = `/v1/apps/${app.id}/permissions`;
      expect((await h.call('GET', base, { token })).status).toBe(404);

      const v1 = await h.call('PUT', base, {
        token,
        body: valve('true'),
        headers: { 'content-type': 'text/yaml' },
      });
      expect(v1.body).toEqual({ version: 1 });
      const asJson = JSON.stringify({
        record: { '*': { read: 'user.id === "a"' } },
        event: { '*': { publish: true } },
        rpc: { '*': { request: true } },
        presence: { '*': { allow: true } },
      });
      const v2 = await h.call('PUT', base, { token, body: { valve: asJson } });
      expect(v2.body).toEqual({ version: 2 });

      const bad = await h.call('PUT', base, {
        token,
        body: { valve: valve('"user.constructor"') },
      });
      expect(bad.status).toBe(422);
      expect(bad.body.error.details[0]).toMatchObject({ line: 3, code: expect.any(String) });
      const notYaml = await h.call('PUT', base, { token, body: { valve: 'record: [unclosed' } });
      expect(notYaml.status).toBe(422);
      expect(notYaml.body.error.details[0]).toMatchObject({ line: 1, column: expect.any(Number) });

      const active = await h.call('GET', base, { token });
      expect(active.body).toMatchObject({
        version: 2,
        format: 'json',
        active: true,
        valve: asJson,
      });
      const versions = await h.call('GET', `${base}/versions`, { token });
      expect(
        versions.body.versions.map((v: { version: number; active: boolean }) => [
          v.version,
          v.active,
        ]),
      ).toEqual([
        [2, true],
        [1, false],
      ]);
      const first = await h.call('GET', `${base}/versions/1`, { token });
      expect(first.body).toMatchObject({
        version: 1,
        format: 'yaml',
        valve: valve('true'),
        author: expect.stringContaining('@'),
      });
      expect((await h.call('GET', `${base}/versions/9`, { token })).status).toBe(404);

      const rollback = await h.call('POST', `${base}/versions/1/activate`, { token });
      expect(rollback.body).toEqual({ version: 1 });
      expect(
        (await h.call('GET', `/v1/apps/${app.id}`, { token })).body.activePermissionVersion,
      ).toBe(1);

      const checked = await h.call('POST', `${base}/check`, {
        token,
        body: { valve: valve('true') },
      });
      expect(checked.body).toMatchObject({ valid: true, rules: expect.any(Number) });
      const checkBad = await h.call('POST', `${base}/check`, {
        token,
        body: { valve: valve('"this"') },
      });
      expect(checkBad.status).toBe(422);
      expect((await h.call('GET', `${base}/versions`, { token })).body.versions).toHaveLength(2);

      const audit = await h.call('GET', `/v1/apps/${app.id}/audit`, { token });
      expect(
        audit.body.events
          .slice(0, 3)
          .map((e: { action: string; target: string }) => `${e.action} ${e.target}`),
      ).toEqual([
        'permissions.activated v1',
        'permissions.published v2',
        'permissions.published v1',
      ]);
    });
  });
});

describe('API documentation', () => {
  it('serves the OpenAPI document and the interactive page', async () => {
    const h = await startControlPlane('pglite');
    try {
      const doc = await h.call('GET', '/openapi.json');
      expect(doc.status).toBe(200);
      expect(doc.body.openapi).toBe('3.1.0');
      expect(Object.keys(doc.body.paths)).toEqual(
        expect.arrayContaining([
          '/v1/signup',
          '/v1/login',
          '/v1/apps',
          '/v1/apps/{id}/permissions',
          '/v1/apps/{id}/users',
        ]),
      );
      const page = await fetch(`${h.url}/docs`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
    } finally {
      await h.close();
    }
  });
});
