import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_PROBLEMS } from '../src/plugins/auth.ts';
import { createApp, type Harness, startWithApp } from './harness.ts';

// Wrong credentials get a 401 that says what was wrong and how to fix it;
// an API key used on another app gets 403 saying so.

const tail = () => randomBytes(32).toString('base64url');

describe('credential errors', () => {
  let h: Harness;
  let token: string;
  let appId: string;
  beforeAll(async () => {
    ({ h, token, appId } = await startWithApp());
  });
  afterAll(async () => {
    await h?.close();
  });

  const usersWith = (headers: Record<string, string>) =>
    h.call('GET', `/v1/apps/${appId}/users`, { headers });

  it('names what was wrong: missing, not Bearer, unknown kind, malformed', async () => {
    const cases: [Record<string, string>, string][] = [
      [{}, AUTH_PROBLEMS.missing],
      [{ authorization: 'Basic dXNlcjpwYXNz' }, AUTH_PROBLEMS.badHeader],
      [{ authorization: 'Bearer abc def' }, AUTH_PROBLEMS.badHeader],
      [{ authorization: 'Bearer sk_live_123' }, AUTH_PROBLEMS.unknownKind],
      [{ authorization: 'Bearer hsk_short' }, AUTH_PROBLEMS.malformedKey],
      [{ authorization: 'Bearer hss_short' }, AUTH_PROBLEMS.malformedSession],
    ];
    for (const [headers, message] of cases) {
      const res = await usersWith(headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'UNAUTHENTICATED', message });
    }
    // The reference text has no HTML-looking placeholder.
    expect(AUTH_PROBLEMS.missing).not.toContain('<');
  });

  it('tells an unknown key from a revoked one only to whoever holds the whole key', async () => {
    const unknown = await usersWith({ authorization: `Bearer hsk_abcd1234_${tail()}` });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.message).toBe(AUTH_PROBLEMS.unknownKey);

    const created = await h.call('POST', `/v1/apps/${appId}/keys`, { token, body: { name: 'k' } });
    const key = created.body.key as string;
    await h.call('DELETE', `/v1/apps/${appId}/keys/${created.body.id}`, { token });
    const revoked = await usersWith({ authorization: `Bearer ${key}` });
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.message).toBe(AUTH_PROBLEMS.revokedKey);
    // Same visible prefix, different secret: unknown, not revoked.
    const lookalike = await usersWith({ authorization: `Bearer ${key.slice(0, 13)}${tail()}` });
    expect(lookalike.body.error.message).toBe(AUTH_PROBLEMS.unknownKey);
  });

  it('says a session ended, for the bearer token and the cookie alike', async () => {
    const gone = `hss_${tail()}`;
    for (const headers of [{ authorization: `Bearer ${gone}` }, { cookie: `hs_session=${gone}` }]) {
      const res = await h.call('GET', '/v1/me', { headers });
      expect(res.status).toBe(401);
      expect(res.body.error.message).toBe(AUTH_PROBLEMS.expiredSession);
    }
  });

  it("says an API key belongs to another app, naming only the key's own app", async () => {
    const other = (await createApp(h, token, 'Other')).id;
    const created = await h.call('POST', `/v1/apps/${other}/keys`, { token, body: { name: 'k' } });
    const res = await usersWith({ authorization: `Bearer ${created.body.key}` });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
    expect(res.body.error.message).toContain(`belongs to another app (${other})`);
  });
});
