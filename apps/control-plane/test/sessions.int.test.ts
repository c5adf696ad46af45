import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, signUp, startControlPlane } from './harness.ts';

describe('developer sessions', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startControlPlane('postgres');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('logs the dashboard in with an httpOnly, SameSite=Lax cookie and out again', async () => {
    const { email } = await signUp(h);
    const login = await h.call('POST', '/v1/login', {
      body: { email, password: 'correct horse battery', session: 'cookie' },
    });
    expect(login.status).toBe(200);
    expect(login.body).toEqual({ account: expect.objectContaining({ email }) });
    expect(JSON.stringify(login.body)).not.toContain('hss_');
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^hs_session=hss_[^;]+;/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Lax');
    // Served over plain HTTP here, so not Secure (browsers would drop it).
    expect(setCookie).not.toContain('Secure');
    const cookie = setCookie.split(';')[0]!;

    const me = await h.call('GET', '/v1/me', { headers: { cookie } });
    expect(me).toMatchObject({ status: 200, body: { account: { email } } });
    const apps = await h.call('POST', '/v1/apps', {
      headers: { cookie },
      body: { name: 'From cookie' },
    });
    expect(apps.status).toBe(201);

    const logout = await h.call('POST', '/v1/logout', { headers: { cookie } });
    expect(logout.status).toBe(204);
    expect(logout.headers.get('set-cookie')).toMatch(/hs_session=;/);
    expect((await h.call('GET', '/v1/me', { headers: { cookie } })).status).toBe(401);
  });

  it('marks the cookie Secure when the public URL is https', async () => {
    const secure = await startControlPlane('pglite', {
      env: { PUBLIC_HTTP_URL: 'https://hub.example.com' },
    });
    try {
      const { email } = await signUp(secure);
      const login = await secure.call('POST', '/v1/login', {
        body: { email, password: 'correct horse battery', session: 'cookie' },
      });
      expect(login.headers.get('set-cookie')).toContain('Secure');
    } finally {
      await secure.close();
    }
  });

  it('marks the cookie Secure when a trusted proxy says the request came over https, and only then', async () => {
    const proxied = await startControlPlane('pglite', { env: { TRUSTED_PROXIES: '127.0.0.1' } });
    try {
      const { email } = await signUp(proxied);
      const login = (headers: Record<string, string>) =>
        proxied.call('POST', '/v1/login', {
          body: { email, password: 'correct horse battery', session: 'cookie' },
          headers,
        });
      const viaTls = await login({ 'x-forwarded-proto': 'https' });
      expect(viaTls.headers.get('set-cookie')).toContain('Secure');
      const plain = await login({ 'x-forwarded-proto': 'http' });
      expect(plain.headers.get('set-cookie')).not.toContain('Secure');
    } finally {
      await proxied.close();
    }
    // The same header from an address that is not a trusted proxy changes nothing.
    const { email } = await signUp(h);
    const spoofed = await h.call('POST', '/v1/login', {
      body: { email, password: 'correct horse battery', session: 'cookie' },
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(spoofed.headers.get('set-cookie')).not.toContain('Secure');
  });

  it('ends a bearer session on logout and refuses expired sessions', async () => {
    const { token, accountId } = await signUp(h);
    expect((await h.call('GET', '/v1/me', { token })).status).toBe(200);
    expect((await h.call('POST', '/v1/logout', { token })).status).toBe(204);
    expect((await h.call('GET', '/v1/me', { token })).status).toBe(401);

    const login = await h.call('POST', '/v1/login', {
      body: {
        email: (await h.db.prisma.account.findUniqueOrThrow({ where: { id: accountId } })).email,
        password: 'correct horse battery',
      },
    });
    const fresh = login.body.token as string;
    await h.db.prisma.session.updateMany({
      where: { accountId },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const expired = await h.call('GET', '/v1/me', { token: fresh });
    expect(expired).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
  });

  it('refuses a duplicate sign-up (any case) and weak passwords', async () => {
    const { email } = await signUp(h);
    const dup = await h.call('POST', '/v1/signup', {
      body: { email: email.toUpperCase(), password: 'correct horse battery' },
    });
    expect(dup).toMatchObject({ status: 409, body: { error: { code: 'EMAIL_TAKEN' } } });
    const weak = await h.call('POST', '/v1/signup', {
      body: { email: 'weak@example.com', password: 'short' },
    });
    expect(weak).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    expect(weak.body.error.details[0]).toMatchObject({ in: 'body', path: '/password' });
    const malformed = await h.call('POST', '/v1/login', {
      headers: { authorization: 'Token abc' },
    });
    expect(malformed.status).toBe(400);
  });
});
