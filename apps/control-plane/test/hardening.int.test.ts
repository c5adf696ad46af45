import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Harness, signUp, startControlPlane } from './harness.ts';

// Malformed input gets 400 (never 500) on every route; cookie-authenticated
// state changes must come from the control plane's own origin; every
// response carries the security headers.

const HUGE = '99999999999999999999';
const deepJson = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

let h: Harness;
beforeAll(async () => {
  h = await startControlPlane('postgres', {
    env: { PUBLIC_HTTP_URL: 'https://hubstream.example.com' },
  });
});
afterAll(async () => {
  await h?.close();
});

describe('malformed input', () => {
  let token: string;
  let appId: string;
  beforeAll(async () => {
    ({ token } = await signUp(h));
    appId = (await createApp(h, token)).id;
  });

  it('answers 400 for the reported cases', async () => {
    const users = `/v1/apps/${appId}/users`;
    const nulQuery = await h.call('GET', `${users}?q=%00`, { token });
    expect(nulQuery.status).toBe(400);
    expect(nulQuery.body.error.code).toBe('VALIDATION_FAILED');
    expect(nulQuery.body.error.details[0]).toMatchObject({ in: 'querystring', path: '/q' });

    const hugeOffset = await h.call('GET', `${users}?offset=${HUGE}`, { token });
    expect(hugeOffset.status).toBe(400);
    expect(hugeOffset.body.error.message).toContain('offset');

    const nulName = await h.call('POST', '/v1/apps', { token, body: { name: 'a\u0000b' } });
    expect(nulName.status).toBe(400);
    expect(nulName.body.error.details[0]).toMatchObject({ in: 'body', path: '/name' });

    const deep = await h.call('POST', users, {
      token,
      headers: { 'content-type': 'application/json' },
      body: `{"email":"deep@example.com","password":"correct horse","serverData":${deepJson(5000)}}`,
    });
    expect(deep.status).toBe(400);
    expect(deep.body.error.message).toContain('nested deeper');
    // Nothing was stored.
    expect((await h.call('GET', users, { token })).body.total).toBe(0);
  });

  it('answers 400 for NUL in a path, a huge id, a malformed URL and NUL in a YAML body', async () => {
    expect((await h.call('GET', '/v1/apps/%00', { token })).status).toBe(400);
    expect(
      (await h.call('GET', `/v1/apps/${appId}/permissions/versions/${HUGE}`, { token })).status,
    ).toBe(400);
    expect(
      (await h.call('GET', `/v1/apps/${appId}/audit?before=${HUGE}${HUGE}`, { token })).status,
    ).toBe(400);
    expect((await h.call('GET', '/v1/apps/%E0%A4%A', { token })).status).toBe(400);
    const yaml = await h.call('PUT', `/v1/apps/${appId}/permissions`, {
      token,
      headers: { 'content-type': 'text/yaml' },
      body: 'record:\n  "a\u0000":\n    read: true\n',
    });
    expect(yaml.status).toBe(400);
    for (const deepYaml of ['['.repeat(5000), `${'a:\n '.repeat(3000)}b: 1`]) {
      const res = await h.call('PUT', `/v1/apps/${appId}/permissions`, {
        token,
        headers: { 'content-type': 'text/yaml' },
        body: deepYaml,
      });
      expect(res.status, deepYaml.slice(0, 10)).toBeLessThan(500);
      const check = await h.call('POST', `/v1/apps/${appId}/permissions/check`, {
        token,
        body: { valve: deepYaml },
      });
      expect(check.status).toBeLessThan(500);
    }
  });

  it('never answers 500 to NUL, huge or deep input on any route of the API', async () => {
    type Operation = {
      parameters?: { name: string; in: string }[];
      requestBody?: { content?: Record<string, { schema?: { properties?: object } }> };
    };
    const doc = (await h.call('GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, Operation>>;
    };
    const failures: string[] = [];
    let tried = 0;
    const attempt = async (method: string, path: string, body?: string) => {
      tried++;
      // An event stream that opens (the live console's) never ends: its status is its answer.
      if (body === undefined && path.includes('/console/stream')) {
        const response = await fetch(`${h.url}${path}`, {
          method: method.toUpperCase(),
          headers: { authorization: `Bearer ${token}` },
        });
        if (response.status === 200) await response.body?.cancel();
        else await response.text();
        if (response.status >= 500) failures.push(`${method} ${path} -> ${response.status}`);
        return;
      }
      const res = await h.call(method.toUpperCase(), path, {
        token,
        ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
      });
      // The control plane alone reaches no realtime node: the record routes say so (503).
      const noRealtime = res.status === 503 && res.body?.error?.code === 'REALTIME_UNAVAILABLE';
      if (res.status >= 500 && !noRealtime)
        failures.push(`${method} ${path} ${body ?? ''} -> ${res.status}`);
    };
    for (const [template, operations] of Object.entries(doc.paths)) {
      if (template === '/v1/logout') continue; // would end the test's session
      for (const [method, operation] of Object.entries(operations)) {
        const params = (operation.parameters ?? []).filter((p) => p.in === 'path');
        const fill = (value: string) =>
          template.replace(/\{(\w+)\}/g, (_m, name: string) => (name === 'id' ? appId : value));
        // Each path parameter (the app id too) NUL and huge.
        for (const bad of ['%00', HUGE]) {
          if (params.length > 0) await attempt(method, template.replace(/\{\w+\}/g, bad));
          if (params.length > 1) await attempt(method, fill(bad));
        }
        const path = fill('1');
        for (const query of (operation.parameters ?? []).filter((p) => p.in === 'query')) {
          await attempt(method, `${path}?${query.name}=%00`);
          await attempt(method, `${path}?${query.name}=${HUGE}`);
        }
        const properties = operation.requestBody?.content?.['application/json']?.schema?.properties;
        for (const field of Object.keys(properties ?? {})) {
          for (const value of ['"x\\u0000"', HUGE, `-${HUGE}`, deepJson(5000)]) {
            await attempt(method, path, `{"${field}":${value}}`);
          }
        }
      }
    }
    expect(tried).toBeGreaterThan(100);
    expect(failures).toEqual([]);
  });
});

describe('cookie-authenticated state changes', () => {
  let cookie: string;
  let appId: string;
  beforeAll(async () => {
    const { token, email } = await signUp(h);
    appId = (await createApp(h, token)).id;
    const login = await h.call('POST', '/v1/login', {
      body: { email, password: 'correct horse battery', session: 'cookie' },
    });
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  });

  const rename = (headers: Record<string, string>) =>
    h.call('PATCH', `/v1/apps/${appId}`, { headers: { cookie, ...headers }, body: { name: 'x' } });

  it('refuses a foreign Origin, "null" and a cross-site Sec-Fetch-Site, even without a body', async () => {
    const foreign = await rename({ origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.message).toContain('https://evil.example');
    expect((await rename({ origin: 'null' })).status).toBe(403);
    expect((await rename({ 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await rename({ 'sec-fetch-site': 'same-site' })).status).toBe(403);
    const logout = await h.call('POST', '/v1/logout', {
      headers: { cookie, origin: 'https://evil.example' },
    });
    expect(logout.status).toBe(403);
    // The session survived and the app kept its name.
    const app = await h.call('GET', `/v1/apps/${appId}`, { headers: { cookie } });
    expect(app.status).toBe(200);
    expect(app.body.name).toBe('My app');
  });

  it("accepts its own origin, PUBLIC_HTTP_URL's, same-origin fetches, and bearer tokens from anywhere", async () => {
    expect((await rename({ origin: h.url })).status).toBe(200);
    expect((await rename({ origin: 'https://hubstream.example.com' })).status).toBe(200);
    expect((await rename({ 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    const { token } = await signUp(h);
    const own = (await createApp(h, token)).id;
    const bearer = await h.call('PATCH', `/v1/apps/${own}`, {
      token,
      headers: { origin: 'https://evil.example' },
      body: { name: 'y' },
    });
    expect(bearer.status).toBe(200);
  });
});

describe('security headers', () => {
  it('sends CSP with frame-ancestors none, nosniff and a referrer policy on pages and API replies', async () => {
    const page = await fetch(`${h.url}/`, { headers: { accept: 'text/html' } });
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    // Plain http on loopback: no HSTS.
    expect(page.headers.get('strict-transport-security')).toBeNull();

    const api = await h.call('GET', '/v1/me');
    expect(api.status).toBe(401);
    expect(api.headers.get('content-security-policy')).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    );
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
