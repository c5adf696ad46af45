import { createHash } from 'node:crypto';
import { type Mailbox, type ReceivedMail, startMailbox } from '@hubstream/testing';
import { workerJobDefinitions } from '@hubstream/testing/apps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, signUp, startControlPlane } from './harness.ts';

// Invitations end to end (issue 18 item 5): the control plane queues the
// mail, the worker's real send-email job delivers it over SMTP to a local
// server, and the test follows the link in what arrived, as an existing
// account and as someone who signs up from it.

const PUBLIC_URL = 'https://hub.example.test';
const PASSWORD = 'correct horse battery';
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

function invitationToken(mail: ReceivedMail): string {
  const link = /https:\/\/hub\.example\.test\/invitation\?token=([A-Za-z0-9_-]+)/.exec(
    mail.text ?? '',
  );
  if (!link?.[1]) throw new Error(`no invitation link in the mail: ${mail.text}`);
  expect(mail.html).toContain(`href="${link[0]}"`);
  return link[1];
}

describe('organisation invitations over SMTP', () => {
  let h: Harness;
  let mailbox: Mailbox;
  let owner: { token: string; email: string; accountId: string };
  let orgId: string;
  let appId: string;

  beforeAll(async () => {
    mailbox = await startMailbox();
    h = await startControlPlane('postgres', {
      env: {
        SMTP_URL: mailbox.url,
        MAIL_FROM: 'Hubstream <no-reply@hub.example.test>',
        PUBLIC_HTTP_URL: PUBLIC_URL,
      },
      jobs: workerJobDefinitions,
    });
    owner = await signUp(h, `owner-${Date.now()}@example.com`);
    await mailbox.next(owner.email); // its verification mail
    const org = await h.call('POST', '/v1/orgs', { token: owner.token, body: { name: 'Acme' } });
    orgId = org.body.id;
    const app = await h.call('POST', '/v1/apps', {
      token: owner.token,
      body: { name: 'Team app', organisationId: orgId },
    });
    expect(app.status).toBe(201);
    expect(app.body.organisationId).toBe(orgId);
    appId = app.body.id;
  });
  afterAll(async () => {
    await h?.close();
    await mailbox?.close();
  });

  it('gives every new account its own organisation, which holds its apps by default', async () => {
    const orgs = await h.call('GET', '/v1/orgs', { token: owner.token });
    expect(
      orgs.body.organisations.map((o: { name: string; role: string; personal: boolean }) => [
        o.name,
        o.role,
        o.personal,
      ]),
    ).toEqual([
      [owner.email, 'owner', true],
      ['Acme', 'owner', false],
    ]);
    const own = orgs.body.organisations[0].id;
    const app = await h.call('POST', '/v1/apps', { token: owner.token, body: { name: 'Mine' } });
    expect(app.body.organisationId).toBe(own);
    const listed = await h.call('GET', '/v1/apps', { token: owner.token });
    expect(listed.body.apps.map((a: { name: string }) => a.name).sort()).toEqual([
      'Mine',
      'Team app',
    ]);
  });

  it('invites an existing account, which accepts through the mailed link and sees the apps', async () => {
    const dev = await signUp(h, `dev-${Date.now()}@example.com`);
    await mailbox.next(dev.email);
    const invite = await h.call('POST', `/v1/orgs/${orgId}/invitations`, {
      token: owner.token,
      body: { email: dev.email.toUpperCase(), role: 'developer' },
    });
    expect(invite.status).toBe(201);
    expect(invite.body).toMatchObject({
      email: dev.email,
      role: 'developer',
      invitedBy: owner.email,
    });

    const mail = await mailbox.next(dev.email);
    expect(mail.envelope).toEqual({ from: 'no-reply@hub.example.test', to: [dev.email] });
    expect(mail.subject).toBe(`${owner.email} invited you to Acme on Hubstream`);
    expect(mail.text).toContain('as a developer');
    const token = invitationToken(mail);
    expect(token).toMatch(/^hsi_/);
    // Only the hash is stored.
    const row = await h.db.prisma.invitation.findUniqueOrThrow({ where: { id: invite.body.id } });
    expect(row.tokenHash).toBe(sha256(token));
    expect(JSON.stringify(row)).not.toContain(token);

    // The page reads the link before anyone logs in.
    const preview = await h.call('POST', '/v1/invitations/preview', { body: { token } });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({
      organisation: { id: orgId, name: 'Acme' },
      email: dev.email,
      role: 'developer',
      invitedBy: owner.email,
      accountExists: true,
    });
    // Another account cannot use the link.
    const stranger = await signUp(h);
    const wrong = await h.call('POST', '/v1/invitations/accept', {
      token: stranger.token,
      body: { token },
    });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.message).toContain(`This invitation is for ${dev.email}`);
    expect((await h.call('GET', `/v1/apps/${appId}`, { token: stranger.token })).status).toBe(404);

    expect((await h.call('GET', `/v1/apps/${appId}`, { token: dev.token })).status).toBe(404);
    const accepted = await h.call('POST', '/v1/invitations/accept', {
      token: dev.token,
      body: { token },
    });
    expect(accepted.status).toBe(200);
    expect(accepted.body.organisation).toMatchObject({
      id: orgId,
      name: 'Acme',
      role: 'developer',
    });
    expect((await h.call('GET', `/v1/apps/${appId}`, { token: dev.token })).status).toBe(200);
    const apps = await h.call('GET', '/v1/apps', { token: dev.token });
    expect(apps.body.apps.map((a: { id: string }) => a.id)).toContain(appId);
    const members = await h.call('GET', `/v1/orgs/${orgId}/members`, { token: dev.token });
    expect(
      members.body.members.map((m: { email: string; role: string }) => [m.email, m.role]),
    ).toEqual([
      [owner.email, 'owner'],
      [dev.email, 'developer'],
    ]);
    // Once only.
    const again = await h.call('POST', '/v1/invitations/accept', {
      token: dev.token,
      body: { token },
    });
    expect(again.status).toBe(400);
    expect(again.body.error).toMatchObject({ code: 'INVALID_TOKEN' });
    const pending = await h.call('GET', `/v1/orgs/${orgId}/invitations`, { token: owner.token });
    expect(pending.body.invitations).toEqual([]);
    // Inviting a member again says so.
    const twice = await h.call('POST', `/v1/orgs/${orgId}/invitations`, {
      token: owner.token,
      body: { email: dev.email, role: 'viewer' },
    });
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('ALREADY_MEMBER');
  });

  it('lets someone without an account sign up from the link, verified by it', async () => {
    const email = `newcomer-${Date.now()}@example.com`;
    const invite = await h.call('POST', `/v1/orgs/${orgId}/invitations`, {
      token: owner.token,
      body: { email, role: 'viewer' },
    });
    expect(invite.status).toBe(201);
    const token = invitationToken(await mailbox.next(email));
    const preview = await h.call('POST', '/v1/invitations/preview', { body: { token } });
    expect(preview.body.accountExists).toBe(false);

    const signup = await h.call('POST', '/v1/signup', { body: { email, password: PASSWORD } });
    expect(signup.status).toBe(201);
    expect(signup.body.account.emailVerified).toBe(false);
    const accepted = await h.call('POST', '/v1/invitations/accept', {
      token: signup.body.token,
      body: { token },
    });
    expect(accepted.status).toBe(200);
    expect(accepted.body.organisation.role).toBe('viewer');
    const me = await h.call('GET', '/v1/me', { token: signup.body.token });
    expect(me.body.account.emailVerified).toBe(true);
    // A viewer: reads the app, cannot change its rules.
    expect(
      (await h.call('GET', `/v1/apps/${appId}/permissions/versions`, { token: signup.body.token }))
        .status,
    ).toBe(200);
    const put = await h.call('PUT', `/v1/apps/${appId}/permissions`, {
      token: signup.body.token,
      body: { valve: 'record:\n  "*":\n    read: true\n' },
    });
    expect(put.status).toBe(403);
  });

  it('withdraws an invitation, a new one replaces the old link, and expired links say so', async () => {
    const email = `maybe-${Date.now()}@example.com`;
    const first = await h.call('POST', `/v1/orgs/${orgId}/invitations`, {
      token: owner.token,
      body: { email, role: 'viewer' },
    });
    const firstToken = invitationToken(await mailbox.next(email));
    const second = await h.call('POST', `/v1/orgs/${orgId}/invitations`, {
      token: owner.token,
      body: { email, role: 'admin' },
    });
    const secondToken = invitationToken(await mailbox.next(email));
    const replaced = await h.call('POST', '/v1/invitations/preview', {
      body: { token: firstToken },
    });
    expect(replaced.status).toBe(400);
    expect(replaced.body.error.message).toContain('withdrawn');
    const pending = await h.call('GET', `/v1/orgs/${orgId}/invitations`, { token: owner.token });
    expect(
      pending.body.invitations.map((i: { id: string; role: string }) => [i.id, i.role]),
    ).toEqual([[second.body.id, 'admin']]);
    expect(first.body.id).not.toBe(second.body.id);

    const revoke = await h.call('DELETE', `/v1/orgs/${orgId}/invitations/${second.body.id}`, {
      token: owner.token,
    });
    expect(revoke.status).toBe(204);
    const gone = await h.call('POST', '/v1/invitations/preview', { body: { token: secondToken } });
    expect(gone.status).toBe(400);
    expect(gone.body.error.message).toContain('withdrawn');

    const third = await h.call('POST', `/v1/orgs/${orgId}/invitations`, {
      token: owner.token,
      body: { email, role: 'viewer' },
    });
    const thirdToken = invitationToken(await mailbox.next(email));
    await h.db.prisma.invitation.update({
      where: { id: third.body.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const expired = await h.call('POST', '/v1/invitations/preview', {
      body: { token: thirdToken },
    });
    expect(expired.status).toBe(400);
    expect(expired.body.error.message).toContain('expired');
    const audit = await h.db.prisma.auditEvent.findMany({
      where: {
        target: orgId,
        action: { in: ['org.member_invited', 'org.invitation_revoked', 'org.member_joined'] },
      },
    });
    expect(new Set(audit.map((a) => a.action))).toEqual(
      new Set(['org.member_invited', 'org.invitation_revoked', 'org.member_joined']),
    );
  });
});
