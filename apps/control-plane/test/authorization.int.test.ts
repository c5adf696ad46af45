import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Harness, signUp, startControlPlane } from './harness.ts';

// Authorization on every route, enumerated from the OpenAPI document so a
// route added later is covered without anyone remembering to add it here.

const VALVE = `record:\n  "*":\n    read: true\nevent:\n  "*":\n    publish: true\nrpc:\n  "*":\n    request: true\npresence:\n  "*":\n    allow: true\n`;

type Route = { method: string; path: string };

let h: Harness;
let owner: { token: string };
let other: { token: string };
let appId: string;
let otherAppId: string;
let ownKey: string;
let ids: Record<string, string>;
let routes: Route[];

function fill(path: string, app: string) {
  return path
    .replace('{id}', app)
    .replace('{userId}', ids.userId!)
    .replace('{keyId}', ids.keyId!)
    .replace('{version}', '1')
    .replace('{name}', 'some%2Frecord');
}

function bodyFor(route: Route) {
  if (route.path.endsWith('/permissions') || route.path.endsWith('/permissions/check')) {
    return { valve: VALVE };
  }
  if (route.path.endsWith('/users') && route.method === 'POST') {
    return { email: `u${Math.random()}@example.com`, password: 'long enough password' };
  }
  if (route.path.endsWith('/keys') && route.method === 'POST') return { name: 'Script' };
  if (route.path.endsWith('/{userId}')) return { clientData: { a: 1 } };
  if (route.path.endsWith('/auth')) return { open: { enabled: true } };
  if (route.path === '/v1/apps/{id}') return { name: 'renamed' };
  if (route.path.endsWith('/records/{name}')) return { data: { a: 1 }, version: 1 };
  if (route.path.endsWith('/console/events') || route.path.endsWith('/console/rpc')) {
    return { name: 'chat/x', data: { a: 1 } };
  }
  return {};
}

beforeAll(async () => {
  h = await startControlPlane('postgres');
  owner = await signUp(h);
  other = await signUp(h);
  appId = (await createApp(h, owner.token, 'Owned')).id;
  otherAppId = (await createApp(h, other.token, 'Other')).id;
  await h.call('PUT', `/v1/apps/${appId}/permissions`, {
    token: owner.token,
    body: { valve: VALVE },
  });
  const user = await h.call('POST', `/v1/apps/${appId}/users`, {
    token: owner.token,
    body: { email: 'user@example.com', password: 'long enough password' },
  });
  const key = await h.call('POST', `/v1/apps/${appId}/keys`, {
    token: owner.token,
    body: { name: 'Script' },
  });
  ownKey = key.body.key;
  ids = { userId: user.body.id, keyId: key.body.id };
  const doc = (await h.call('GET', '/openapi.json')).body as {
    paths: Record<string, Record<string, unknown>>;
  };
  routes = Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/v1/apps/{id}'))
    .flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => ({ method: m.toUpperCase(), path })),
    );
});

afterAll(async () => {
  await h?.close();
});

const isUserRoute = (route: Route) => /^\/v1\/apps\/\{id\}\/users/.test(route.path);

describe('authorization', () => {
  it('enumerates the app routes from the OpenAPI document', () => {
    expect(routes.length).toBeGreaterThanOrEqual(18);
    expect(routes).toContainEqual({ method: 'PUT', path: '/v1/apps/{id}/permissions' });
    expect(routes).toContainEqual({ method: 'DELETE', path: '/v1/apps/{id}/users/{userId}' });
  });

  it("gives a second account 404 on every route of the first account's app, and changes nothing", async () => {
    const before = await h.db.prisma.auditEvent.count();
    for (const route of routes) {
      const res = await h.call(route.method, fill(route.path, appId), {
        token: other.token,
        body: route.method === 'GET' ? undefined : bodyFor(route),
      });
      expect(res.status, `${route.method} ${route.path}`).toBe(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
    }
    expect(await h.db.prisma.auditEvent.count()).toBe(before);
    expect(await h.db.prisma.app.findUnique({ where: { id: appId } })).not.toBeNull();
  });

  it('answers 401 on every route without credentials, and with a bad token', async () => {
    for (const route of routes) {
      for (const token of [undefined, 'hss_not-a-real-token', 'hsk_abcdefgh_not-a-key']) {
        const res = await h.call(route.method, fill(route.path, appId), {
          ...(token ? { token } : {}),
          body: route.method === 'GET' ? undefined : bodyFor(route),
        });
        expect(res.status, `${route.method} ${route.path} with ${token}`).toBe(401);
        expect(res.body.error.code).toBe('UNAUTHENTICATED');
      }
    }
  });

  it("lets an app API key use its own app's user routes and nothing else", async () => {
    for (const route of routes) {
      const res = await h.call(route.method, fill(route.path, appId), {
        token: ownKey,
        body: route.method === 'GET' ? undefined : bodyFor(route),
      });
      if (isUserRoute(route)) {
        expect(res.status, `${route.method} ${route.path}`).toBeLessThan(300);
      } else {
        expect(res.status, `${route.method} ${route.path}`).toBe(403);
        expect(res.body.error.code).toBe('FORBIDDEN');
      }
    }
    // The user deleted above is gone; put one back for the next test.
    const again = await h.call('POST', `/v1/apps/${appId}/users`, {
      token: ownKey,
      body: { email: 'user@example.com', password: 'long enough password' },
    });
    ids.userId = again.body.id;
    // Account-level routes refuse API keys too.
    expect((await h.call('GET', '/v1/apps', { token: ownKey })).status).toBe(403);
    expect((await h.call('POST', '/v1/apps', { token: ownKey, body: { name: 'x' } })).status).toBe(
      403,
    );
  });

  it("gives an app API key 403 on another app's routes, saying so whether that app exists or not", async () => {
    for (const route of routes) {
      for (const id of [otherAppId, 'nosuchappatall']) {
        const res = await h.call(route.method, fill(route.path, id), {
          token: ownKey,
          body: route.method === 'GET' ? undefined : bodyFor(route),
        });
        expect(res.status, `${route.method} ${route.path}`).toBe(403);
        expect(res.body.error.message).toContain('belongs to another app');
      }
    }
  });

  it('stops accepting a key once it is revoked', async () => {
    const created = await h.call('POST', `/v1/apps/${appId}/keys`, {
      token: owner.token,
      body: { name: 'temporary' },
    });
    const key = created.body.key as string;
    expect((await h.call('GET', `/v1/apps/${appId}/users`, { token: key })).status).toBe(200);
    const revoked = await h.call('DELETE', `/v1/apps/${appId}/keys/${created.body.id}`, {
      token: owner.token,
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    expect((await h.call('GET', `/v1/apps/${appId}/users`, { token: key })).status).toBe(401);
    const listed = await h.call('GET', `/v1/apps/${appId}/keys`, { token: owner.token });
    const row = listed.body.keys.find((k: { id: string }) => k.id === created.body.id);
    expect(row).toMatchObject({
      name: 'temporary',
      prefix: key.slice(0, 12),
      revokedAt: expect.any(String),
    });
    expect(JSON.stringify(listed.body)).not.toContain(key);
  });

  it('stores API keys and session tokens only as hashes', async () => {
    const keys = await h.db.prisma.apiKey.findMany();
    expect(keys.every((k) => /^[0-9a-f]{64}$/.test(k.keyHash))).toBe(true);
    expect(JSON.stringify(keys)).not.toContain(ownKey);
    const sessions = await h.db.prisma.session.findMany();
    expect(JSON.stringify(sessions)).not.toContain(owner.token);
    const accounts = await h.db.prisma.account.findMany();
    expect(accounts.every((a) => a.passwordHash.startsWith('$argon2id$'))).toBe(true);
  });
});
