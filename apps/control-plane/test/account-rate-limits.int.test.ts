import { defineJob } from '@hubstream/cluster';
import { type SendEmail, SendEmailPayload } from '@hubstream/jobs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, signUp, startControlPlane } from './harness.ts';

// With ACCOUNT_RATE_LIMIT_MAX=3, the fourth request to a limited account
// route from one client within the window is refused in our error format,
// and does nothing. Each route counts on its own. The limiter keeps its
// counts in memory, so one backend is enough here.

const PASSWORD = 'correct horse battery';

describe('account rate limits', () => {
  let h: Harness;
  let queued: SendEmail[];

  beforeEach(async () => {
    queued = [];
    h = await startControlPlane('postgres', {
      env: { ACCOUNT_RATE_LIMIT_MAX: '3', ACCOUNT_RATE_LIMIT_WINDOW_MS: '60000' },
      // Records the mails instead of sending them; same payload schema as the worker's job.
      jobs: [
        defineJob({
          name: 'send-email',
          payload: SendEmailPayload,
          attempts: 1,
          backoffMs: 0,
          handle: async (mail) => {
            queued.push(mail);
          },
        }),
      ],
    });
  });
  afterEach(async () => {
    await h?.close();
  });

  async function expectFourthRefused(send: (i: number) => ReturnType<Harness['call']>) {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(i)).status);
    const fourth = await send(3);
    expect(fourth.status).toBe(429);
    expect(fourth.body).toEqual({
      error: {
        code: 'RATE_LIMITED',
        // The limiter names the time left in the window, which depends on the clock.
        message: expect.stringMatching(
          /^Too many requests from this address \(at most 3 in a row\)\. Try again in \d+ (seconds?|minutes?)\.$/,
        ),
        details: [],
      },
    });
    expect(Number(fourth.headers.get('retry-after'))).toBeGreaterThan(0);
    return statuses;
  }

  it('refuses the fourth sign-up and creates no account for it', async () => {
    const statuses = await expectFourthRefused((i) =>
      h.call('POST', '/v1/signup', { body: { email: `dev${i}@example.com`, password: PASSWORD } }),
    );
    expect(statuses).toEqual([201, 201, 201]);
    expect(await h.db.prisma.account.count()).toBe(3);
    expect(queued.map((mail) => mail.to)).toEqual([
      'dev0@example.com',
      'dev1@example.com',
      'dev2@example.com',
    ]);
    // Log-ins count separately.
    const login = await h.call('POST', '/v1/login', {
      body: { email: 'dev0@example.com', password: PASSWORD },
    });
    expect(login.status).toBe(200);
  });

  it('refuses the fourth log-in, even with the right password', async () => {
    const { email } = await signUp(h);
    const statuses = await expectFourthRefused(() =>
      h.call('POST', '/v1/login', { body: { email, password: PASSWORD } }),
    );
    expect(statuses).toEqual([200, 200, 200]);
    expect(await h.db.prisma.session.count()).toBe(4); // sign-up's and three log-ins
  });

  it('refuses the fourth forgot-password and mails nothing for it', async () => {
    const { email } = await signUp(h);
    const statuses = await expectFourthRefused(() =>
      h.call('POST', '/v1/password/forgot', { body: { email } }),
    );
    expect(statuses).toEqual([202, 202, 202]);
    const resets = queued.filter((mail) => mail.subject === 'Reset your Hubstream password');
    expect(resets).toHaveLength(3);
    expect(await h.db.prisma.accountToken.count({ where: { purpose: 'reset_password' } })).toBe(3);
  });

  it('refuses the fourth password reset', async () => {
    const statuses = await expectFourthRefused((i) =>
      h.call('POST', '/v1/password/reset', {
        body: { token: `hsr_guess-${i}`, password: 'a brand new passphrase' },
      }),
    );
    expect(statuses).toEqual([400, 400, 400]);
  });

  it('refuses the fourth request for a new verification link', async () => {
    const { token } = await signUp(h);
    const statuses = await expectFourthRefused(() =>
      h.call('POST', '/v1/email/verify/resend', { token }),
    );
    expect(statuses).toEqual([202, 202, 202]);
    expect(queued).toHaveLength(4); // sign-up's mail and three resent
  });

  it('refuses the fourth guess of the current password on each account settings route', async () => {
    const { token, email } = await signUp(h);
    const guesses = {
      '/v1/account/password': { currentPassword: 'guess', newPassword: 'a brand new passphrase' },
      '/v1/account/email': { email: 'elsewhere@example.com', password: 'guess' },
      '/v1/account/delete': { email, password: 'guess' },
    };
    for (const [path, body] of Object.entries(guesses)) {
      const statuses = await expectFourthRefused(() => h.call('POST', path, { token, body }));
      expect(statuses, path).toEqual([403, 403, 403]);
    }
    // Each was refused before doing anything: the account and its password stand.
    const login = await h.call('POST', '/v1/login', { body: { email, password: PASSWORD } });
    expect(login.status).toBe(200);
  });
});
