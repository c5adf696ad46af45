import { api } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppAccess } from '../src/plugins/app-access.ts';
import { allows, type Role } from '../src/routes/orgs/roles.ts';
import { type Harness, signUp, startControlPlane } from './harness.ts';

// Roles on every app route (issue 18 item 5), in the manner of
// authorization.int.test.ts: the routes come from the OpenAPI document, and
// each must be in ROUTE_ACCESS below, the access this test expects it to
// declare, so a route added later fails here until someone says what it
// needs. Each route is called as the owner, an admin, a developer and a
// viewer of the app's organisation, as a non-member and with the app's API
// key, and the answer must be what the role table says.

const VALVE = `record:\n  "*":\n    read: true\n    write: true\nevent:\n  "*":\n    publish: true\nrpc:\n  "*":\n    request: true\npresence:\n  "*":\n    allow: true\n`;

/** Each app route and the access it must declare (plugins/app-access.ts). */
const ROUTE_ACCESS: Record<string, AppAccess> = {
  'GET /v1/apps/{id}': 'app:read',
  'PATCH /v1/apps/{id}': 'app:write',
  'DELETE /v1/apps/{id}': 'app:delete',
  'GET /v1/apps/{id}/auth': 'app:read',
  'PUT /v1/apps/{id}/auth': 'app:write',
  'POST /v1/apps/{id}/auth/webhook/test': 'app:write',
  'GET /v1/apps/{id}/limits': 'app:read',
  'PUT /v1/apps/{id}/limits': 'app:write',
  'GET /v1/apps/{id}/audit': 'app:read',
  'GET /v1/apps/{id}/usage': 'app:read',
  'GET /v1/apps/{id}/keys': 'app:read',
  'POST /v1/apps/{id}/keys': 'keys:manage',
  'DELETE /v1/apps/{id}/keys/{keyId}': 'keys:manage',
  'GET /v1/apps/{id}/permissions': 'app:read',
  'PUT /v1/apps/{id}/permissions': 'rules:write',
  'POST /v1/apps/{id}/permissions/check': 'rules:write',
  'GET /v1/apps/{id}/permissions/versions': 'app:read',
  'GET /v1/apps/{id}/permissions/versions/{version}': 'app:read',
  'POST /v1/apps/{id}/permissions/versions/{version}/activate': 'rules:write',
  'GET /v1/apps/{id}/users': 'users:read',
  'POST /v1/apps/{id}/users': 'users:write',
  'GET /v1/apps/{id}/users/{userId}': 'users:read',
  'PATCH /v1/apps/{id}/users/{userId}': 'users:write',
  'DELETE /v1/apps/{id}/users/{userId}': 'users:write',
  'GET /v1/apps/{id}/records': 'data:read',
  'GET /v1/apps/{id}/records/{name}': 'data:read',
  'PUT /v1/apps/{id}/records/{name}': 'data:write',
  'DELETE /v1/apps/{id}/records/{name}': 'data:write',
  'GET /v1/apps/{id}/console/stream': 'data:read',
  'POST /v1/apps/{id}/console/events': 'data:write',
  'POST /v1/apps/{id}/console/rpc': 'data:write',
};

type Caller = Role | 'non-member' | 'api key';
const CALLERS: Caller[] = ['owner', 'admin', 'developer', 'viewer', 'non-member', 'api key'];

let h: Harness;
let orgId: string;
let appId: string;
let tokens: Record<Caller, string>;
let ids: { userId: string; keyId: string };
let routes: string[];

function expected(caller: Caller, access: AppAccess): 'allowed' | 'forbidden' | 'not found' {
  if (caller === 'non-member') return 'not found';
  if (caller === 'api key') {
    return access === 'users:read' || access === 'users:write' ? 'allowed' : 'forbidden';
  }
  return allows(caller, access) ? 'allowed' : 'forbidden';
}

function bodyFor(method: string, path: string): unknown {
  if (method === 'GET' || method === 'DELETE') return undefined;
  if (path.endsWith('/permissions') || path.endsWith('/permissions/check')) return { valve: VALVE };
  if (path.endsWith('/users')) {
    return { email: `u${Math.random()}@example.com`, password: 'long enough password' };
  }
  if (path.endsWith('/keys')) return { name: 'Script' };
  if (path.endsWith('/{userId}')) return { clientData: { a: 1 } };
  if (path.endsWith('/auth')) return { open: { enabled: true } };
  if (path.endsWith('/limits')) return { maxConnections: 50 };
  if (path.endsWith('/webhook/test')) return { authData: { token: 'x' } };
  if (path === '/v1/apps/{id}') return { name: 'renamed' };
  if (path.endsWith('/records/{name}')) return { data: { a: 1 }, version: 1 };
  if (path.endsWith('/console/events')) return { name: 'news', data: { a: 1 } };
  if (path.endsWith('/console/rpc')) return { name: 'sum', data: { a: 1 } };
  return {};
}

/** One call; a stream's body is not waited for (its headers say enough). */
const call = (method: string, path: string, token: string, body?: unknown) =>
  api(h.url, method, path, {
    token,
    headers: { origin: h.url },
    skipStream: true,
    ...(body === undefined ? {} : { body }),
  });

/** What the answer says about the authorization (not whether the work then succeeded). */
function outcome(res: Awaited<ReturnType<typeof call>>, app: string) {
  const error = res.body?.error;
  if (res.status === 404 && error?.message === `App ${app} was not found.`) return 'not found';
  if (res.status === 403 && error?.code === 'FORBIDDEN') return 'forbidden';
  return 'allowed';
}

async function newApp(name: string) {
  const res = await h.call('POST', '/v1/apps', {
    token: tokens.owner,
    body: { name, organisationId: orgId },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

beforeAll(async () => {
  h = await startControlPlane('postgres');
  const owner = await signUp(h);
  const org = await h.call('POST', '/v1/orgs', { token: owner.token, body: { name: 'Acme' } });
  expect(org.status).toBe(201);
  orgId = org.body.id;
  tokens = { owner: owner.token } as Record<Caller, string>;
  // Members as accepting an invitation makes them (that flow has its own test).
  for (const role of ['admin', 'developer', 'viewer'] as const) {
    const member = await signUp(h);
    await h.db.prisma.membership.create({
      data: { organisationId: orgId, accountId: member.accountId, role },
    });
    tokens[role] = member.token;
  }
  tokens['non-member'] = (await signUp(h)).token;
  appId = await newApp('Shared');
  await h.call('PUT', `/v1/apps/${appId}/permissions`, {
    token: tokens.owner,
    body: { valve: VALVE },
  });
  const user = await h.call('POST', `/v1/apps/${appId}/users`, {
    token: tokens.owner,
    body: { email: 'user@example.com', password: 'long enough password' },
  });
  const key = await h.call('POST', `/v1/apps/${appId}/keys`, {
    token: tokens.owner,
    body: { name: 'Script', scopes: ['users'] },
  });
  tokens['api key'] = key.body.key;
  // The key the key routes act on: never the caller's own.
  const target = await h.call('POST', `/v1/apps/${appId}/keys`, {
    token: tokens.owner,
    body: { name: 'Target' },
  });
  ids = { userId: user.body.id, keyId: target.body.id };
  const doc = (await h.call('GET', '/openapi.json')).body as {
    paths: Record<string, Record<string, unknown>>;
  };
  routes = Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/v1/apps/{id}'))
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
});

afterAll(async () => {
  await h?.close();
});

describe('roles on every app route', () => {
  it('knows the access of every app route, and no route it does not know', () => {
    const unknown = routes.filter((route) => !(route in ROUTE_ACCESS));
    expect(unknown, 'app routes missing from ROUTE_ACCESS').toEqual([]);
    // The stream is hidden from the OpenAPI document; every other one is listed.
    const missing = Object.keys(ROUTE_ACCESS).filter(
      (route) => !routes.includes(route) && !route.endsWith('/console/stream'),
    );
    expect(missing, 'routes in ROUTE_ACCESS that no longer exist').toEqual([]);
    expect(routes.length).toBeGreaterThanOrEqual(28);
  });

  it('answers every route for every role as the role table says', async () => {
    const table: string[] = [];
    const wrong: string[] = [];
    const all = [...new Set([...routes, 'GET /v1/apps/{id}/console/stream'])];
    for (const route of all) {
      const [method = '', path = ''] = route.split(' ');
      const access = ROUTE_ACCESS[route];
      if (!access) continue;
      const row = [route.padEnd(62)];
      for (const caller of CALLERS) {
        // Deleting the app would leave nothing for the next caller: each
        // caller deletes one of its own.
        const target = route === 'DELETE /v1/apps/{id}' ? await newApp(`doomed ${caller}`) : appId;
        const url = path
          .replace('{id}', target)
          .replace('{userId}', ids.userId)
          .replace('{keyId}', ids.keyId)
          .replace('{version}', '1')
          .replace('{name}', 'some%2Frecord');
        const res = await call(method, url, tokens[caller], bodyFor(method, path));
        const got = outcome(res, target);
        row.push(got === 'allowed' ? 'yes' : got === 'forbidden' ? '403' : '404');
        if (got !== expected(caller, access)) {
          wrong.push(`${route} as ${caller}: ${res.status} ${JSON.stringify(res.body)}`);
        }
        if (route === 'DELETE /v1/apps/{id}/users/{userId}' && got === 'allowed') {
          const again = await h.call('POST', `/v1/apps/${appId}/users`, {
            token: tokens.owner,
            body: { email: `again${Math.random()}@example.com`, password: 'long enough password' },
          });
          ids.userId = again.body.id;
        }
      }
      table.push(row.join(' '));
    }
    expect(wrong, `\n${CALLERS.join(' ')}\n${table.join('\n')}`).toEqual([]);
  });

  it('lets a viewer read the rules but not publish them (403 names who may)', async () => {
    const read = await h.call('GET', `/v1/apps/${appId}/permissions`, { token: tokens.viewer });
    expect(read.status).toBe(200);
    const before = await h.db.prisma.permissionVersion.count({ where: { appId } });
    const put = await h.call('PUT', `/v1/apps/${appId}/permissions`, {
      token: tokens.viewer,
      body: { valve: VALVE },
    });
    expect(put.status).toBe(403);
    expect(put.body.error.code).toBe('FORBIDDEN');
    expect(put.body.error.message).toMatch(/You are a viewer of "Acme".*developers and above/);
    expect(await h.db.prisma.permissionVersion.count({ where: { appId } })).toBe(before);
  });

  it('applies a change of role at the next request', async () => {
    const viewerId = (
      await h.db.prisma.membership.findFirstOrThrow({
        where: { organisationId: orgId, role: 'viewer' },
      })
    ).accountId;
    const promote = await h.call('PATCH', `/v1/orgs/${orgId}/members/${viewerId}`, {
      token: tokens.admin,
      body: { role: 'developer' },
    });
    expect(promote.status).toBe(200);
    const put = await h.call('PUT', `/v1/apps/${appId}/permissions`, {
      token: tokens.viewer,
      body: { valve: VALVE },
    });
    expect(put.status).toBe(200);
    const demote = await h.call('PATCH', `/v1/orgs/${orgId}/members/${viewerId}`, {
      token: tokens.owner,
      body: { role: 'viewer' },
    });
    expect(demote.status).toBe(200);
    expect(
      (
        await h.call('PUT', `/v1/apps/${appId}/permissions`, {
          token: tokens.viewer,
          body: { valve: VALVE },
        })
      ).status,
    ).toBe(403);
    // A removed member sees nothing at all.
    expect(
      (await h.call('DELETE', `/v1/orgs/${orgId}/members/${viewerId}`, { token: tokens.admin }))
        .status,
    ).toBe(204);
    const gone = await h.call('GET', `/v1/apps/${appId}`, { token: tokens.viewer });
    expect(gone.status).toBe(404);
    const list = await h.call('GET', '/v1/apps', { token: tokens.viewer });
    expect(list.body.apps).toEqual([]);
    await h.db.prisma.membership.create({
      data: { organisationId: orgId, accountId: viewerId, role: 'viewer' },
    });
  });
});

describe('roles on the organisation routes', () => {
  it('lets every member list members and invitations, and only admins and the owner manage them', async () => {
    const members = (await h.call('GET', `/v1/orgs/${orgId}/members`, { token: tokens.owner })).body
      .members as { accountId: string; role: Role }[];
    const developerId = members.find((m) => m.role === 'developer')!.accountId;
    for (const caller of CALLERS.filter((c) => c !== 'api key')) {
      const list = await h.call('GET', `/v1/orgs/${orgId}/members`, { token: tokens[caller] });
      expect(list.status, caller).toBe(caller === 'non-member' ? 404 : 200);
      const pending = await h.call('GET', `/v1/orgs/${orgId}/invitations`, {
        token: tokens[caller],
      });
      expect(pending.status, caller).toBe(caller === 'non-member' ? 404 : 200);
      const invite = await h.call('POST', `/v1/orgs/${orgId}/invitations`, {
        token: tokens[caller],
        body: { email: `new-${caller.replace(' ', '-')}@example.com`, role: 'viewer' },
      });
      const manage = caller === 'owner' || caller === 'admin';
      expect(invite.status, `invite as ${caller}`).toBe(
        caller === 'non-member' ? 404 : manage ? 201 : 403,
      );
      const change = await h.call('PATCH', `/v1/orgs/${orgId}/members/${developerId}`, {
        token: tokens[caller],
        body: { role: 'developer' },
      });
      expect(change.status, `change role as ${caller}`).toBe(
        caller === 'non-member' ? 404 : manage ? 200 : 403,
      );
    }
    expect((await h.call('GET', '/v1/orgs', { token: tokens['api key'] })).status).toBe(403);
  });

  it('keeps the owner: not removable, not demotable, cannot leave; only the owner transfers', async () => {
    const members = (await h.call('GET', `/v1/orgs/${orgId}/members`, { token: tokens.owner })).body
      .members as { accountId: string; role: Role }[];
    const ownerId = members.find((m) => m.role === 'owner')!.accountId;
    const adminId = members.find((m) => m.role === 'admin')!.accountId;
    const remove = await h.call('DELETE', `/v1/orgs/${orgId}/members/${ownerId}`, {
      token: tokens.admin,
    });
    expect(remove.status).toBe(403);
    const demote = await h.call('PATCH', `/v1/orgs/${orgId}/members/${ownerId}`, {
      token: tokens.admin,
      body: { role: 'viewer' },
    });
    expect(demote.status).toBe(403);
    const grantOwner = await h.call('PATCH', `/v1/orgs/${orgId}/members/${adminId}`, {
      token: tokens.owner,
      body: { role: 'owner' },
    });
    expect(grantOwner.status).toBe(400);
    expect((await h.call('POST', `/v1/orgs/${orgId}/leave`, { token: tokens.owner })).status).toBe(
      403,
    );
    const byAdmin = await h.call('POST', `/v1/orgs/${orgId}/transfer`, {
      token: tokens.admin,
      body: { accountId: adminId },
    });
    expect(byAdmin.status).toBe(403);

    const transfer = await h.call('POST', `/v1/orgs/${orgId}/transfer`, {
      token: tokens.owner,
      body: { accountId: adminId },
    });
    expect(transfer.status).toBe(200);
    const roles = Object.fromEntries(
      (transfer.body.members as { accountId: string; role: Role }[]).map((m) => [
        m.accountId,
        m.role,
      ]),
    );
    expect(roles[adminId]).toBe('owner');
    expect(roles[ownerId]).toBe('admin');
    // The former owner may no longer delete the organisation's members' access to it...
    const mine = await h.call('GET', '/v1/orgs', { token: tokens.owner });
    expect(mine.body.organisations.find((o: { id: string }) => o.id === orgId).role).toBe('admin');
    // ...and may now leave.
    expect((await h.call('POST', `/v1/orgs/${orgId}/leave`, { token: tokens.owner })).status).toBe(
      204,
    );
    expect((await h.call('GET', `/v1/apps/${appId}`, { token: tokens.owner })).status).toBe(404);
    const audit = await h.db.prisma.auditEvent.findMany({
      where: { target: orgId, action: { startsWith: 'org.' } },
      orderBy: { id: 'asc' },
    });
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining([
        'org.created',
        'org.member_invited',
        'org.member_role_changed',
        'org.member_removed',
        'org.ownership_transferred',
        'org.member_left',
      ]),
    );
  });
});
