import { createHash } from 'node:crypto';
import type { JobDefinition } from '@hubstream/cluster';
import type { SendEmail } from '@hubstream/jobs';
import { type Mailbox, type ReceivedMail, startMailbox } from '@hubstream/testing';
import { workerJobDefinitions } from '@hubstream/testing/apps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, type Harness, startControlPlane } from './harness.ts';

// Email verification and password reset end to end: the control plane
// queues the mail, the worker's real send-email job delivers it over SMTP
// to a local server, and the test follows the link in what arrived.

const PUBLIC_URL = 'https://hub.example.test';
const PASSWORD = 'correct horse battery';
const HOUR_MS = 3600_000;

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** The token of the link to `page` in the mail's text, checked against its html. */
function tokenIn(mail: ReceivedMail, page: 'verify-email' | 'reset-password'): string {
  const link = new RegExp(`${PUBLIC_URL}/${page}\\?token=([A-Za-z0-9_-]+)`).exec(mail.text ?? '');
  if (!link?.[1]) throw new Error(`no ${page} link in the mail: ${mail.text}`);
  expect(mail.html).toContain(`href="${link[0]}"`);
  return link[1];
}

describe.each<Backend>(['postgres', 'pglite'])('account emails on %s', (backend) => {
  let h: Harness;
  let mailbox: Mailbox;
  // Every send-email payload, recorded when the job starts. The inline queue
  // starts it before enqueue returns, so this is complete once a reply is in.
  const queued: SendEmail[] = [];
  let counter = 0;
  const newEmail = (name: string) => `${name}-${++counter}-${backend}@example.com`;

  const signUp = async (email: string) => {
    const res = await h.call('POST', '/v1/signup', { body: { email, password: PASSWORD } });
    expect(res.status).toBe(201);
    return { token: res.body.token as string, accountId: res.body.account.id as string };
  };
  const login = (email: string, password: string) =>
    h.call('POST', '/v1/login', { body: { email, password } });

  beforeAll(async () => {
    mailbox = await startMailbox();
    h = await startControlPlane(backend, {
      env: {
        SMTP_URL: mailbox.url,
        MAIL_FROM: 'Hubstream <no-reply@hub.example.test>',
        PUBLIC_HTTP_URL: PUBLIC_URL,
      },
      jobs: (context) =>
        workerJobDefinitions(context).map(
          (definition): JobDefinition => ({
            ...definition,
            handle(payload) {
              queued.push(payload as SendEmail);
              return definition.handle(payload);
            },
          }),
        ),
    });
  });
  afterAll(async () => {
    await h?.close();
    await mailbox?.close();
  });

  it('mails a verification link on sign-up that verifies the email, once', async () => {
    const email = newEmail('ada');
    const { token: session, accountId } = await signUp(email);

    const mail = await mailbox.next(email);
    expect(mail.envelope).toEqual({ from: 'no-reply@hub.example.test', to: [email] });
    expect(mail.subject).toBe('Verify your email address for Hubstream');
    expect(mail.text).toContain('expires in 24 hours');
    const token = tokenIn(mail, 'verify-email');
    expect(token).toMatch(/^hsv_/);

    // Only the hash is stored, and the link lives 24 hours.
    const rows = await h.db.prisma.accountToken.findMany({ where: { accountId } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      purpose: 'verify_email',
      tokenHash: sha256(token),
      usedAt: null,
    });
    expect(rows[0]!.expiresAt.getTime() - rows[0]!.createdAt.getTime()).toBe(24 * HOUR_MS);
    expect(JSON.stringify(rows)).not.toContain(token);

    const before = await h.call('GET', '/v1/me', { token: session });
    expect(before.body.account.emailVerified).toBe(false);

    const verified = await h.call('POST', '/v1/email/verify', { body: { token } });
    expect(verified.status).toBe(200);
    expect(verified.body).toEqual({
      account: { id: accountId, email, emailVerified: true, createdAt: expect.any(String) },
    });
    const after = await h.call('GET', '/v1/me', { token: session });
    expect(after.body.account.emailVerified).toBe(true);

    const reused = await h.call('POST', '/v1/email/verify', { body: { token } });
    expect(reused.status).toBe(400);
    expect(reused.body).toEqual({
      error: {
        code: 'INVALID_TOKEN',
        message:
          'This email verification link has already been used. Ask for a new one if you need it.',
        details: [],
      },
    });
  });

  it('mails a fresh link on request, retires the older one, and refuses once verified', async () => {
    const email = newEmail('grace');
    const { token: session } = await signUp(email);
    const first = tokenIn(await mailbox.next(email), 'verify-email');

    const anonymous = await h.call('POST', '/v1/email/verify/resend');
    expect(anonymous).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });

    const resent = await h.call('POST', '/v1/email/verify/resend', { token: session });
    expect(resent).toMatchObject({
      status: 202,
      body: { message: `We have sent a new verification link to ${email}.` },
    });
    const second = tokenIn(await mailbox.next(email), 'verify-email');
    expect(second).not.toBe(first);

    expect((await h.call('POST', '/v1/email/verify', { body: { token: second } })).status).toBe(
      200,
    );
    const older = await h.call('POST', '/v1/email/verify', { body: { token: first } });
    expect(older).toMatchObject({ status: 400, body: { error: { code: 'INVALID_TOKEN' } } });

    const again = await h.call('POST', '/v1/email/verify/resend', { token: session });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      error: {
        code: 'EMAIL_ALREADY_VERIFIED',
        message: `The email address ${email} is already verified.`,
        details: [],
      },
    });
  });

  it('answers forgot-password alike for unknown addresses and mails only real accounts', async () => {
    const email = newEmail('linus');
    await signUp(email);
    await mailbox.next(email); // the verification mail
    const start = queued.length;

    const unknown = await h.call('POST', '/v1/password/forgot', {
      body: { email: newEmail('nobody') },
    });
    const known = await h.call('POST', '/v1/password/forgot', {
      body: { email: email.toUpperCase() },
    });
    expect(unknown.status).toBe(202);
    expect(known.status).toBe(202);
    expect(unknown.body).toEqual(known.body);
    expect(known.body).toEqual({
      message:
        'If an account uses this email address, we have sent it a link to reset the password. The link works once, for 1 hour.',
    });

    expect(queued.slice(start).map((mail) => [mail.to, mail.subject])).toEqual([
      [email, 'Reset your Hubstream password'],
    ]);
    const mail = await mailbox.next(email);
    expect(mail.subject).toBe('Reset your Hubstream password');
    expect(mail.text).toContain('expires in 1 hour');
    expect(tokenIn(mail, 'reset-password')).toMatch(/^hsr_/);
  });

  it('sets the new password through the mailed link and ends every session', async () => {
    const email = newEmail('margaret');
    const { token: fromSignup, accountId } = await signUp(email);
    await mailbox.next(email);
    const fromLogin = (await login(email, PASSWORD)).body.token as string;

    expect((await h.call('POST', '/v1/password/forgot', { body: { email } })).status).toBe(202);
    const token = tokenIn(await mailbox.next(email), 'reset-password');
    const row = await h.db.prisma.accountToken.findUniqueOrThrow({
      where: { tokenHash: sha256(token) },
    });
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBe(HOUR_MS);

    // A refused password spends nothing.
    const weak = await h.call('POST', '/v1/password/reset', { body: { token, password: 'short' } });
    expect(weak).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });

    const reset = await h.call('POST', '/v1/password/reset', {
      body: { token, password: 'a brand new passphrase' },
    });
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual({
      account: { id: accountId, email, emailVerified: true, createdAt: expect.any(String) },
    });

    for (const session of [fromSignup, fromLogin]) {
      const me = await h.call('GET', '/v1/me', { token: session });
      expect(me).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
    }
    const old = await login(email, PASSWORD);
    expect(old).toMatchObject({ status: 401, body: { error: { code: 'INVALID_CREDENTIALS' } } });
    const fresh = await login(email, 'a brand new passphrase');
    expect(fresh.status).toBe(200);
    expect((await h.call('GET', '/v1/me', { token: fresh.body.token })).status).toBe(200);

    const reused = await h.call('POST', '/v1/password/reset', {
      body: { token, password: 'yet another passphrase' },
    });
    expect(reused).toMatchObject({
      status: 400,
      body: {
        error: {
          code: 'INVALID_TOKEN',
          message:
            'This password reset link has already been used. Ask for a new one if you need it.',
        },
      },
    });
    expect((await login(email, 'yet another passphrase')).status).toBe(401);
    expect((await login(email, 'a brand new passphrase')).status).toBe(200);
  });

  it('refuses expired, unknown and misdirected tokens, and changes nothing', async () => {
    const email = newEmail('barbara');
    const { token: session, accountId } = await signUp(email);
    const verifyToken = tokenIn(await mailbox.next(email), 'verify-email');
    const expire = (purpose: 'verify_email' | 'reset_password') =>
      h.db.prisma.accountToken.updateMany({
        where: { accountId, purpose },
        data: { expiresAt: new Date(Date.now() - 1000) },
      });

    await expire('verify_email');
    const expiredVerify = await h.call('POST', '/v1/email/verify', {
      body: { token: verifyToken },
    });
    expect(expiredVerify.status).toBe(400);
    expect(expiredVerify.body.error).toEqual({
      code: 'INVALID_TOKEN',
      message: 'This email verification link has expired. Ask for a new one.',
      details: [],
    });
    expect((await h.call('GET', '/v1/me', { token: session })).body.account.emailVerified).toBe(
      false,
    );

    await h.call('POST', '/v1/password/forgot', { body: { email } });
    const resetToken = tokenIn(await mailbox.next(email), 'reset-password');
    await expire('reset_password');
    const expiredReset = await h.call('POST', '/v1/password/reset', {
      body: { token: resetToken, password: 'a brand new passphrase' },
    });
    expect(expiredReset.status).toBe(400);
    expect(expiredReset.body.error.message).toBe(
      'This password reset link has expired. Ask for a new one.',
    );
    expect((await login(email, PASSWORD)).status).toBe(200);
    expect((await login(email, 'a brand new passphrase')).status).toBe(401);

    const unknown = await h.call('POST', '/v1/password/reset', {
      body: { token: 'hsr_not-a-real-token', password: 'a brand new passphrase' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({
      code: 'INVALID_TOKEN',
      message:
        'This password reset link is not valid. Check that you used the whole link, or ask for a new one.',
    });

    // A verification token is no reset token, and trying it does not spend it.
    await h.call('POST', '/v1/email/verify/resend', { token: session });
    const fresh = tokenIn(await mailbox.next(email), 'verify-email');
    const misdirected = await h.call('POST', '/v1/password/reset', {
      body: { token: fresh, password: 'a brand new passphrase' },
    });
    expect(misdirected).toMatchObject({ status: 400, body: { error: { code: 'INVALID_TOKEN' } } });
    expect((await login(email, PASSWORD)).status).toBe(200);
    expect((await h.call('POST', '/v1/email/verify', { body: { token: fresh } })).status).toBe(200);

    const missing = await h.call('POST', '/v1/email/verify', { body: {} });
    expect(missing).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
  });
});
