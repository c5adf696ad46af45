import { defineJob, type JobDefinition } from '@hubstream/cluster';
import { PURGE_APP_JOB, type SendEmail, SendEmailPayload } from '@hubstream/jobs';
import { type Mailbox, type ReceivedMail, startMailbox } from '@hubstream/testing';
import { workerJobDefinitions } from '@hubstream/testing/apps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Harness, startControlPlane } from './harness.ts';

// Account settings (issue 18 item 4): change the password (other sessions
// end), change the email address (confirmed by a link mailed to the new one
// over real SMTP), list and end sessions, delete the account (its apps purged
// through the job queue). Each with the refusals that matter.

const PUBLIC_URL = 'https://hub.example.test';
const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'staple battery horse correct';
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36';

function tokenIn(mail: ReceivedMail): string {
  const link = new RegExp(`${PUBLIC_URL}/verify-email\\?token=([A-Za-z0-9_-]+)`).exec(
    mail.text ?? '',
  );
  if (!link?.[1]) throw new Error(`no verify-email link in the mail: ${mail.text}`);
  expect(mail.html).toContain(`href="${link[0]}"`);
  return link[1];
}

describe('account settings', () => {
  let h: Harness;
  let mailbox: Mailbox;
  const purged: unknown[] = [];
  let counter = 0;
  const newEmail = (name: string) => `${name}-${++counter}-${Date.now()}@example.com`;

  beforeAll(async () => {
    mailbox = await startMailbox();
    h = await startControlPlane('postgres', {
      env: {
        SMTP_URL: mailbox.url,
        MAIL_FROM: 'Hubstream <no-reply@hub.example.test>',
        PUBLIC_HTTP_URL: PUBLIC_URL,
      },
      jobs: (context) =>
        workerJobDefinitions(context).map(
          (definition): JobDefinition =>
            definition.name === PURGE_APP_JOB
              ? {
                  ...definition,
                  // The worker's real purge, on this test's database (the
                  // harness gives the factory none); no Redis here.
                  async handle(payload) {
                    purged.push(payload);
                    const [purge] = workerJobDefinitions({ ...context, prisma: h.db.prisma })
                      .filter((d) => d.name === PURGE_APP_JOB)
                      .map((d) => d.handle);
                    await purge?.(payload);
                  },
                }
              : definition,
        ),
    });
  });
  afterAll(async () => {
    await h?.close();
    await mailbox?.close();
  });

  /** A new account; its sign-up session's token, and the verification mail taken from the box. */
  async function account(name = 'dev') {
    const email = newEmail(name);
    const res = await h.call('POST', '/v1/signup', {
      body: { email, password: PASSWORD },
      headers: { 'user-agent': 'curl/8.5.0' },
    });
    expect(res.status).toBe(201);
    await mailbox.next(email);
    return { email, token: res.body.token as string, accountId: res.body.account.id as string };
  }
  const login = async (email: string, password = PASSWORD) => {
    const res = await h.call('POST', '/v1/login', {
      body: { email, password },
      headers: { 'user-agent': BROWSER },
    });
    return { status: res.status, token: res.body?.token as string };
  };
  const cookieLogin = async (email: string) => {
    const res = await h.call('POST', '/v1/login', {
      body: { email, password: PASSWORD, session: 'cookie' },
    });
    expect(res.status).toBe(200);
    return (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  };
  const me = (token: string) => h.call('GET', '/v1/me', { token });

  it('answers 401 without a session and 403 to an app API key on every account route', async () => {
    const { token, email } = await account('auth');
    const app = await createApp(h, token, 'Keyed');
    const key = await h.call('POST', `/v1/apps/${app.id}/keys`, { token, body: { name: 'k' } });
    const doc = (await h.call('GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const bodies: Record<string, unknown> = {
      '/v1/account/password': { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
      '/v1/account/email': { email: 'x@example.com', password: PASSWORD },
      '/v1/account/delete': { email, password: PASSWORD },
    };
    const routes = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/v1/account/'))
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => [m.toUpperCase(), path]));
    expect(routes.length).toBe(7);
    for (const [method, path] of routes as [string, string][]) {
      const url = path.replace('{sessionId}', '019ae3c2-0000-7000-8000-000000000000');
      const body = bodies[path];
      const anonymous = await h.call(method, url, body ? { body } : {});
      expect(anonymous.status, `${method} ${path}`).toBe(401);
      const keyed = await h.call(method, url, { token: key.body.key, ...(body ? { body } : {}) });
      expect(keyed.status, `${method} ${path} with an API key`).toBe(403);
    }
    // None of it changed anything.
    expect((await me(token)).status).toBe(200);
    expect((await login(email)).status).toBe(200);
  });

  describe('change password', () => {
    it('needs the current password and ends every other session, keeping this one', async () => {
      const { email, token: first } = await account('pw');
      const { token: second } = await login(email);
      const cookie = await cookieLogin(email);

      const wrong = await h.call('POST', '/v1/account/password', {
        token: first,
        body: { currentPassword: 'not my password', newPassword: NEW_PASSWORD },
      });
      expect(wrong.status).toBe(403);
      expect(wrong.body.error).toMatchObject({
        code: 'WRONG_PASSWORD',
        message: 'The current password is wrong. Nothing was changed.',
      });
      // Nothing changed: every session still works, the old password too.
      expect((await me(second)).status).toBe(200);
      expect((await login(email)).status).toBe(200);

      const short = await h.call('POST', '/v1/account/password', {
        token: first,
        body: { currentPassword: PASSWORD, newPassword: 'short' },
      });
      expect(short.status).toBe(400);
      expect(short.body.error.message).toContain('/newPassword');

      const changed = await h.call('POST', '/v1/account/password', {
        token: first,
        body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
      });
      expect(changed.status).toBe(200);
      // second, the cookie and the check login above.
      expect(changed.body).toMatchObject({ account: { email }, endedSessions: 3 });
      expect((await me(first)).status).toBe(200);
      expect((await me(second)).status).toBe(401);
      expect((await h.call('GET', '/v1/me', { headers: { cookie } })).status).toBe(401);
      expect((await login(email)).status).toBe(401);
      expect((await login(email, NEW_PASSWORD)).status).toBe(200);
      // Stored as argon2id, never in clear.
      const row = await h.db.prisma.account.findUniqueOrThrow({ where: { email } });
      expect(row.passwordHash).toMatch(/^\$argon2id\$/);
      expect(row.passwordHash).not.toContain(NEW_PASSWORD);
    });

    it('kills a reset link mailed before the change', async () => {
      const { email, token } = await account('pwreset');
      await h.call('POST', '/v1/password/forgot', { body: { email } });
      const resetMail = await mailbox.next(email);
      const resetToken = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(resetMail.text ?? '')?.[1];
      expect(resetToken).toMatch(/^hsr_/);
      const changed = await h.call('POST', '/v1/account/password', {
        token,
        body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
      });
      expect(changed.status).toBe(200);
      const reset = await h.call('POST', '/v1/password/reset', {
        body: { token: resetToken, password: 'an attacker password' },
      });
      expect(reset.status).toBe(400);
      expect(reset.body.error.code).toBe('INVALID_TOKEN');
      expect((await login(email, NEW_PASSWORD)).status).toBe(200);
    });
  });

  describe('sessions', () => {
    it('lists the sessions with where they were opened, the current one marked', async () => {
      const { email, token: signupToken } = await account('list');
      const { token } = await login(email);
      const res = await h.call('GET', '/v1/account/sessions', { token });
      expect(res.status).toBe(200);
      expect(res.body.total).toBe(2);
      const [newest, oldest] = res.body.sessions;
      expect(newest).toMatchObject({
        kind: 'bearer',
        userAgent: BROWSER,
        address: '127.0.0.1',
        current: true,
        lastUsedAt: expect.any(String),
      });
      expect(oldest).toMatchObject({ userAgent: 'curl/8.5.0', current: false });
      expect(Date.parse(newest.createdAt)).toBeGreaterThanOrEqual(Date.parse(oldest.createdAt));
      expect(Date.parse(newest.expiresAt)).toBeGreaterThan(Date.now());
      // The same list from the other session marks that one instead.
      const other = await h.call('GET', '/v1/account/sessions', { token: signupToken });
      expect(
        other.body.sessions.map((s: { id: string; current: boolean }) => [s.id, s.current]),
      ).toEqual([
        [newest.id, false],
        [oldest.id, true],
      ]);
    });

    it("ends one session, refuses another account's (404) and ends all others", async () => {
      const { email, token } = await account('revoke');
      const { token: second } = await login(email);
      const { token: third } = await login(email);
      const stranger = await account('stranger');
      const list = await h.call('GET', '/v1/account/sessions', { token });
      const secondId = list.body.sessions.find(
        (s: { current: boolean; createdAt: string }, i: number) => !s.current && i === 1,
      ).id as string;

      // Another account's session is "not found", and stays alive.
      const theirs = await h.call('DELETE', `/v1/account/sessions/${secondId}`, {
        token: stranger.token,
      });
      expect(theirs.status).toBe(404);
      expect(theirs.body.error.code).toBe('NOT_FOUND');
      const unknown = await h.call(
        'DELETE',
        '/v1/account/sessions/019ae3c2-0000-7000-8000-000000000000',
        { token },
      );
      expect(unknown.status).toBe(404);
      const malformed = await h.call('DELETE', '/v1/account/sessions/not-a-uuid', { token });
      expect(malformed.status).toBe(400);
      expect((await me(second)).status).toBe(200);

      const ended = await h.call('DELETE', `/v1/account/sessions/${secondId}`, { token });
      expect(ended.status).toBe(204);
      // secondId was the second newest: the one `second` holds.
      expect((await me(second)).status).toBe(401);
      expect((await me(third)).status).toBe(200);

      const others = await h.call('POST', '/v1/account/sessions/revoke-others', { token });
      expect(others).toMatchObject({ status: 200, body: { revoked: 1 } });
      expect((await me(third)).status).toBe(401);
      expect((await me(token)).status).toBe(200);
      expect((await me(stranger.token)).status).toBe(200);
      const left = await h.call('GET', '/v1/account/sessions', { token });
      expect(left.body.total).toBe(1);
    });

    it('ending the current session logs out and clears the cookie', async () => {
      const { email } = await account('self');
      const cookie = await cookieLogin(email);
      const list = await h.call('GET', '/v1/account/sessions', { headers: { cookie } });
      const current = list.body.sessions.find((s: { current: boolean }) => s.current);
      const ended = await h.call('DELETE', `/v1/account/sessions/${current.id}`, {
        headers: { cookie },
      });
      expect(ended.status).toBe(204);
      expect(ended.headers.get('set-cookie')).toMatch(/hs_session=;/);
      expect((await h.call('GET', '/v1/me', { headers: { cookie } })).status).toBe(401);
    });

    it('refuses a cookie-authenticated change from another origin', async () => {
      const { email } = await account('origin');
      const cookie = await cookieLogin(email);
      const forged = await h.call('POST', '/v1/account/sessions/revoke-others', {
        headers: { cookie, origin: 'https://evil.example.com' },
      });
      expect(forged.status).toBe(403);
      expect(forged.body.error.message).toContain('Cross-site request refused');
      const forgedDelete = await h.call('POST', '/v1/account/delete', {
        headers: { cookie, origin: 'https://evil.example.com' },
        body: { email, password: PASSWORD },
      });
      expect(forgedDelete.status).toBe(403);
      expect((await login(email)).status).toBe(200);
    });
  });

  describe('change email', () => {
    it('mails a link to the new address; the old one stays in force until it is opened', async () => {
      const { email: oldEmail, token, accountId } = await account('old');
      const wanted = newEmail('New');

      const wrong = await h.call('POST', '/v1/account/email', {
        token,
        body: { email: wanted, password: 'not my password' },
      });
      expect(wrong.status).toBe(403);
      expect(wrong.body.error.code).toBe('WRONG_PASSWORD');
      const bad = await h.call('POST', '/v1/account/email', {
        token,
        body: { email: 'not-an-email', password: PASSWORD },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details).toContainEqual(expect.objectContaining({ path: '/email' }));
      const same = await h.call('POST', '/v1/account/email', {
        token,
        body: { email: oldEmail.toUpperCase(), password: PASSWORD },
      });
      expect(same.status).toBe(400);
      expect(same.body.error.message).toContain("already this account's email address");
      // No link was issued for any of them.
      expect(
        await h.db.prisma.accountToken.count({ where: { accountId, purpose: 'change_email' } }),
      ).toBe(0);

      const asked = await h.call('POST', '/v1/account/email', {
        token,
        body: { email: wanted, password: PASSWORD },
      });
      expect(asked.status).toBe(202);
      const lower = wanted.toLowerCase();
      expect(asked.body).toEqual({
        message: `We have sent a link to ${lower}. Your account keeps ${oldEmail} until the link is opened.`,
        pendingEmail: lower,
      });

      const mail = await mailbox.next(lower);
      expect(mail.subject).toBe('Confirm your new email address for Hubstream');
      const link = tokenIn(mail);
      expect(link).toMatch(/^hse_/);
      const notice = await mailbox.next(oldEmail);
      expect(notice.subject).toBe('Your Hubstream email address is about to change');
      expect(notice.text).toContain(lower);
      expect(notice.text).not.toContain(link);

      // Until the link is opened: the old address logs in, the new one does not.
      expect((await me(token)).body.account).toMatchObject({
        email: oldEmail,
        pendingEmail: lower,
      });
      expect((await login(oldEmail)).status).toBe(200);
      expect((await login(lower)).status).toBe(401);

      const opened = await h.call('POST', '/v1/email/verify', { body: { token: link } });
      expect(opened.status).toBe(200);
      expect(opened.body.account).toMatchObject({ email: lower, emailVerified: true });
      expect((await me(token)).body.account).toEqual(
        expect.not.objectContaining({ pendingEmail: expect.anything() }),
      );
      expect((await login(lower)).status).toBe(200);
      expect((await login(oldEmail)).status).toBe(401);
      const again = await h.call('POST', '/v1/email/verify', { body: { token: link } });
      expect(again.status).toBe(400);
      expect(again.body.error).toMatchObject({
        code: 'INVALID_TOKEN',
        message: expect.stringContaining('email change link has already been used'),
      });
      // The old address is free again.
      expect((await login(oldEmail)).status).toBe(401);
      const audit = await h.db.prisma.auditEvent.findFirst({
        where: { accountId, action: 'account.email_changed' },
      });
      expect(audit?.details).toEqual({ from: oldEmail, to: lower });
    });

    it("refuses another account's address in any case, as sign-up does", async () => {
      const { token } = await account('dup');
      const other = await account('taken');
      const res = await h.call('POST', '/v1/account/email', {
        token,
        body: { email: other.email.toUpperCase(), password: PASSWORD },
      });
      expect(res.status).toBe(409);
      // What sign-up says of a taken address, and nothing more (only a
      // caller who knows the password gets this far).
      const signup = await h.call('POST', '/v1/signup', {
        body: { email: other.email, password: PASSWORD },
      });
      expect(signup.status).toBe(409);
      expect(res.body.error).toEqual({
        code: signup.body.error.code,
        message: 'An account with this email already exists.',
        details: [],
      });
    });

    it('refuses the link when another account took the address meanwhile, and keeps the old one', async () => {
      const { email, token } = await account('race');
      const wanted = newEmail('contested');
      expect(
        (
          await h.call('POST', '/v1/account/email', {
            token,
            body: { email: wanted, password: PASSWORD },
          })
        ).status,
      ).toBe(202);
      const link = tokenIn(await mailbox.next(wanted));
      await mailbox.next(email);
      const taker = await h.call('POST', '/v1/signup', {
        body: { email: wanted, password: PASSWORD },
      });
      expect(taker.status).toBe(201);
      await mailbox.next(wanted);
      const opened = await h.call('POST', '/v1/email/verify', { body: { token: link } });
      expect(opened.status).toBe(409);
      expect(opened.body.error.message).toContain(`Your account keeps ${email}`);
      expect((await me(token)).body.account.email).toBe(email);
    });

    it('a new request or a cancel kills the earlier link', async () => {
      const { email, token } = await account('cancel');
      const first = newEmail('first');
      const second = newEmail('second');
      for (const to of [first, second]) {
        const res = await h.call('POST', '/v1/account/email', {
          token,
          body: { email: to, password: PASSWORD },
        });
        expect(res.status).toBe(202);
      }
      const firstLink = tokenIn(await mailbox.next(first));
      const secondLink = tokenIn(await mailbox.next(second));
      expect((await me(token)).body.account.pendingEmail).toBe(second);
      const stale = await h.call('POST', '/v1/email/verify', { body: { token: firstLink } });
      expect(stale.status).toBe(400);
      const cancel = await h.call('DELETE', '/v1/account/email/pending', { token });
      expect(cancel.status).toBe(204);
      expect((await me(token)).body.account.pendingEmail).toBeUndefined();
      const cancelled = await h.call('POST', '/v1/email/verify', { body: { token: secondLink } });
      expect(cancelled.status).toBe(400);
      expect((await me(token)).body.account.email).toBe(email);
    });
  });

  describe('delete account', () => {
    it('needs the typed email and the password, then deletes the account and purges its apps', async () => {
      const { email, token, accountId } = await account('gone');
      const other = await account('bystander');
      const otherApp = await createApp(h, other.token, 'Not mine');
      const apps = [await createApp(h, token, 'One'), await createApp(h, token, 'Two')];
      const key = await h.call('POST', `/v1/apps/${apps[0]!.id}/keys`, {
        token,
        body: { name: 'Backend' },
      });
      expect(key.status).toBe(201);
      const apiKey = key.body.key as string;
      const user = await h.call('POST', `/v1/apps/${apps[0]!.id}/users`, {
        token: apiKey,
        body: { email: 'user@example.com', password: PASSWORD },
      });
      expect(user.status).toBe(201);

      const mistyped = await h.call('POST', '/v1/account/delete', {
        token,
        body: { email: other.email, password: PASSWORD },
      });
      expect(mistyped.status).toBe(400);
      expect(mistyped.body.error.message).toContain(`Type the account's email address, ${email}`);
      const wrong = await h.call('POST', '/v1/account/delete', {
        token,
        body: { email, password: 'not my password' },
      });
      expect(wrong.status).toBe(403);
      expect(wrong.body.error.code).toBe('WRONG_PASSWORD');
      expect((await me(token)).status).toBe(200);
      expect(await h.db.prisma.app.count({ where: { accountId } })).toBe(2);

      const deleted = await h.call('POST', '/v1/account/delete', {
        token,
        body: { email: email.toUpperCase(), password: PASSWORD },
      });
      expect(deleted.status).toBe(204);

      // Logged out, can't log in, the address is free.
      expect((await me(token)).status).toBe(401);
      expect((await login(email)).status).toBe(401);
      // The API key is gone with its app.
      const keyUse = await h.call('GET', `/v1/apps/${apps[0]!.id}/users`, { token: apiKey });
      expect(keyUse.status).toBe(401);
      const { prisma } = h.db;
      expect(await prisma.account.count({ where: { id: accountId } })).toBe(0);
      expect(await prisma.session.count({ where: { accountId } })).toBe(0);
      const ids = apps.map((a) => a.id);
      expect(await prisma.app.count({ where: { id: { in: ids } } })).toBe(0);
      expect(await prisma.apiKey.count({ where: { appId: { in: ids } } })).toBe(0);
      expect(await prisma.appUser.count({ where: { appId: { in: ids } } })).toBe(0);
      // Each app's purge went through the job queue, and the nodes heard.
      for (const id of ids) {
        expect(purged).toContainEqual({ appId: id });
        expect(h.announced.map((m) => [m.appId, m.payload])).toContainEqual([
          id,
          { what: 'deleted' },
        ]);
      }
      expect(purged).not.toContainEqual({ appId: otherApp.id });
      // The audit trail keeps who deleted what.
      const trail = await prisma.auditEvent.findMany({
        where: { accountId, action: { in: ['account.deleted', 'app.deleted'] } },
        orderBy: { id: 'asc' },
      });
      expect(trail.map((e) => [e.action, e.target, e.actor])).toEqual([
        ['app.deleted', ids[0], email],
        ['app.deleted', ids[1], email],
        ['account.deleted', accountId, email],
      ]);
      // Someone else's app and session are untouched.
      expect((await h.call('GET', `/v1/apps/${otherApp.id}`, { token: other.token })).status).toBe(
        200,
      );
      // The address can sign up afresh.
      const again = await h.call('POST', '/v1/signup', { body: { email, password: PASSWORD } });
      expect(again.status).toBe(201);
      await mailbox.next(email);
    });
  });
});

// The single process (standalone) keeps its data in PGlite: the same flows
// on it, with the mails recorded instead of sent.
describe('account settings on PGlite', () => {
  let h: Harness;
  const mails: SendEmail[] = [];
  beforeAll(async () => {
    h = await startControlPlane('pglite', {
      jobs: [
        defineJob({
          name: 'send-email',
          payload: SendEmailPayload,
          attempts: 1,
          backoffMs: 0,
          handle: async (mail) => {
            mails.push(mail);
          },
        }),
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('changes the email through its link, lists sessions and deletes the account', async () => {
    const signup = await h.call('POST', '/v1/signup', {
      body: { email: 'lite@example.com', password: PASSWORD },
    });
    const token = signup.body.token as string;
    const asked = await h.call('POST', '/v1/account/email', {
      token,
      body: { email: 'lite2@example.com', password: PASSWORD },
    });
    expect(asked.status).toBe(202);
    const link = /verify-email\?token=(hse_[A-Za-z0-9_-]+)/.exec(
      mails.find((m) => m.to === 'lite2@example.com')?.text ?? '',
    )?.[1];
    const opened = await h.call('POST', '/v1/email/verify', { body: { token: link } });
    expect(opened.body.account).toMatchObject({ email: 'lite2@example.com', emailVerified: true });
    const sessions = await h.call('GET', '/v1/account/sessions', { token });
    expect(sessions.body).toMatchObject({ total: 1, sessions: [{ current: true }] });
    const app = await createApp(h, token, 'Lite');
    const deleted = await h.call('POST', '/v1/account/delete', {
      token,
      body: { email: 'lite2@example.com', password: PASSWORD },
    });
    expect(deleted.status).toBe(204);
    expect(await h.db.prisma.app.count({ where: { id: app.id } })).toBe(0);
    expect((await h.call('GET', '/v1/me', { token })).status).toBe(401);
  });
});
