import { type Mailbox, startMailbox } from '@hubstream/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axe, inEachLook, sideways } from './a11y.ts';
import {
  buildDashboard,
  type E2EStack,
  launchChromium,
  screenshots,
  startE2EStack,
} from './e2e-stack.ts';

// Teams in real Chromium (issue 18 item 5): the owner makes an organisation
// and an app in it on the dashboard, invites a viewer from the Team page;
// the mail arrives on a real SMTP server; its link opens the invitation
// page, where the invited person signs up and joins, and sees the app. As a
// viewer the Permissions page is read-only (Save disabled, the reason
// shown) and the API refuses the same change (403); promoted to developer on
// the Team page, the same person may save. axe-core finds no serious
// violation on the new pages at 1280 px and 390 px; screenshots of both.

const PASSWORD = 'correct horse battery';
const RULES = `record:
  "*":
    read: true
event:
  "*":
    publish: true
rpc:
  "*":
    request: true
presence:
  "*":
    allow: true
`;

describe('team and invitations (Chromium)', { timeout: 300_000 }, () => {
  let stack: E2EStack;
  let mailbox: Mailbox;
  let browser: Browser;
  let ownerContext: BrowserContext;
  let memberContext: BrowserContext;
  let owner: Page;
  let member: Page;
  let appId = '';
  let invitationPath = '';
  const shot = screenshots('team');
  const ownerEmail = `owner-${Date.now()}@example.com`;
  const memberEmail = `viewer-${Date.now()}@example.com`;

  beforeAll(async () => {
    await buildDashboard();
    mailbox = await startMailbox();
    stack = await startE2EStack({ smtpUrl: mailbox.url });
    browser = await launchChromium();
    ownerContext = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      bypassCSP: true,
    });
    memberContext = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      bypassCSP: true,
    });
    owner = await ownerContext.newPage();
    member = await memberContext.newPage();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await mailbox?.close();
  });

  it('makes an organisation and an app in it, and invites a viewer by email', async () => {
    await owner.goto(`${stack.controlPlaneUrl}/signup`);
    await owner.getByLabel('Email').fill(ownerEmail);
    await owner.getByLabel('Password').fill(PASSWORD);
    await owner.getByRole('button', { name: 'Sign up' }).click();
    await owner.getByRole('heading', { name: 'Your apps' }).waitFor();
    // The account's own organisation is chosen at first.
    await expect
      .poll(() =>
        owner.locator('.sidebar').getByLabel('Organisation', { exact: true }).inputValue(),
      )
      .not.toBe('');
    await owner.getByRole('button', { name: /^Account menu/ }).click();
    await owner.locator('.account-panel').getByRole('link', { name: 'Team', exact: true }).click();
    await owner.getByRole('heading', { name: 'Team', level: 1 }).waitFor();
    const create = owner.getByRole('form', { name: 'Create an organisation' });
    await create.getByLabel('Organisation name').fill('Acme');
    await create.getByRole('button', { name: 'Create organisation' }).click();
    await owner.getByText('Organisation Acme').waitFor();
    await expect
      .poll(
        async () =>
          (await owner
            .locator('.sidebar')
            .getByLabel('Organisation', { exact: true })
            .textContent()) ?? '',
      )
      .toContain('Acme');

    await owner.getByRole('link', { name: 'All apps' }).click();
    await owner.getByText('The apps of Acme').waitFor();
    await owner.getByLabel('New app name').fill('Shared app');
    await owner.getByRole('button', { name: 'Create app' }).click();
    await owner.getByRole('heading', { name: 'Shared app', level: 1 }).waitFor();
    appId = new URL(owner.url()).pathname.split('/')[2] ?? '';
    expect(appId).not.toBe('');
    const rules = await owner.request.put(`${stack.controlPlaneUrl}/v1/apps/${appId}/permissions`, {
      headers: { origin: stack.controlPlaneUrl },
      data: { valve: RULES },
    });
    expect(rules.status()).toBe(200);

    await owner.goto(`${stack.controlPlaneUrl}/team`);
    const invite = owner.getByRole('form', { name: 'Invite a member' });
    await invite.getByLabel('Email address').fill(memberEmail);
    await invite.getByLabel('Role').selectOption('viewer');
    await invite.getByRole('button', { name: 'Send invitation' }).click();
    await owner.getByText(`We have mailed an invitation to ${memberEmail}.`).waitFor();
    const pending = owner.getByRole('table', { name: 'Pending invitations' });
    await pending.getByRole('cell', { name: memberEmail, exact: true }).waitFor();

    // The mail, as the SMTP server received it.
    const mail = await mailbox.next(memberEmail);
    expect(mail.subject).toBe(`${ownerEmail} invited you to Acme on Hubstream`);
    const link = /https?:\/\/[^\s/]+(\/invitation\?token=[A-Za-z0-9_-]+)/.exec(mail.text ?? '');
    expect(link?.[1]).toBeTruthy();
    invitationPath = link?.[1] ?? '';
    expect(mail.html).toContain(invitationPath);
  });

  it('opens the mailed link, signs up there and joins; the member sees the app', async () => {
    await member.goto(`${stack.controlPlaneUrl}${invitationPath}`);
    await member.getByRole('heading', { name: 'Join an organisation' }).waitFor();
    await member.getByText(`${ownerEmail} invited`).waitFor();
    const form = member.getByRole('form', { name: 'Sign up to accept' });
    expect(await form.getByLabel('Email').inputValue()).toBe(memberEmail);
    await form.getByLabel('Password').fill(PASSWORD);
    await form.getByRole('button', { name: 'Sign up and join' }).click();
    await member.getByRole('heading', { name: 'Your apps' }).waitFor();
    await member.getByRole('link', { name: 'Shared app' }).first().waitFor();
    await member.getByText('where you are a viewer').waitFor();
    // Nothing a viewer may not do is offered.
    expect(await member.getByRole('button', { name: 'Create app' }).isDisabled()).toBe(true);
    expect(await member.getByRole('button', { name: 'Delete Shared app' }).isDisabled()).toBe(true);

    // The owner's Team page lists the new member; the invitation is gone.
    await owner.reload();
    const members = owner.getByRole('table', { name: 'Members of Acme' });
    await members.getByRole('cell', { name: memberEmail, exact: true }).waitFor();
    await owner.getByText('No invitations are waiting.').waitFor();
  });

  it("a viewer's Permissions page is read-only, and the API refuses the change too", async () => {
    await member.goto(`${stack.controlPlaneUrl}/apps/${appId}/permissions`);
    await member.getByRole('heading', { name: 'Permissions', level: 2 }).waitFor();
    await member.getByText(/Read-only: You are a viewer of "Acme"/).waitFor();
    const save = member.getByRole('button', { name: 'Save and activate' });
    expect(await save.isDisabled()).toBe(true);
    expect(await member.getByRole('button', { name: /^Roll back/ }).count()).toBe(0);
    // The editor takes no typing.
    const editor = member.locator('.cm-content');
    expect(await editor.getAttribute('aria-readonly')).toBe('true');
    await editor.click();
    await member.keyboard.type('junk');
    expect(await editor.textContent()).not.toContain('junk');
    await shot(member, 'permissions-viewer-1280');
    await member.setViewportSize({ width: 390, height: 844 });
    await member.getByText(/Read-only: You are a viewer of "Acme"/).waitFor();
    expect(await axe(member), 'read-only permissions page at 390').toEqual([]);
    await shot(member, 'permissions-viewer-390');
    await member.setViewportSize({ width: 1280, height: 900 });

    const put = await member.request.put(`${stack.controlPlaneUrl}/v1/apps/${appId}/permissions`, {
      headers: { origin: stack.controlPlaneUrl },
      data: { valve: RULES.replace('publish: true', 'publish: false') },
    });
    expect(put.status()).toBe(403);
    const body = (await put.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('FORBIDDEN');
    expect(body.error.message).toContain('You are a viewer of "Acme"');
    // The viewer's Team page: managing members is disabled, with the reason.
    await member.goto(`${stack.controlPlaneUrl}/team`);
    await member.getByText(/is for admins and above/).waitFor();
    const invite = member.getByRole('form', { name: 'Invite a member' });
    expect(await invite.getByRole('button', { name: 'Send invitation' }).isDisabled()).toBe(true);
  });

  it('promoted to developer on the Team page, the member may save rules', async () => {
    await owner.goto(`${stack.controlPlaneUrl}/team`);
    await owner.getByLabel(`Role of ${memberEmail}`).selectOption('developer');
    await owner.getByText(`${memberEmail} is now a developer.`).waitFor();

    await member.goto(`${stack.controlPlaneUrl}/apps/${appId}/permissions`);
    await member.getByRole('heading', { name: 'Permissions', level: 2 }).waitFor();
    await member.getByText(/Version \d+ is active/).waitFor();
    expect(await member.getByText(/Read-only:/).count()).toBe(0);
    const editor = member.locator('.cm-content');
    await editor.click();
    await member.keyboard.press('Control+End');
    await member.keyboard.type('\n# checked by the new developer');
    const save = member.getByRole('button', { name: 'Save and activate' });
    await expect.poll(() => save.isDisabled()).toBe(false);
    await save.click();
    await member.getByText(/Saved as version 2/).waitFor();
  });

  it('passes axe-core on the Team and invitation pages at 1280 px and 390 px, with screenshots', async () => {
    // An invitation still pending, for its page and the Team page's table.
    await owner.goto(`${stack.controlPlaneUrl}/team`);
    const invite = owner.getByRole('form', { name: 'Invite a member' });
    const later = `later-${Date.now()}@example.com`;
    await invite.getByLabel('Email address').fill(later);
    await invite.getByRole('button', { name: 'Send invitation' }).click();
    await owner.getByText(`We have mailed an invitation to ${later}.`).waitFor();
    const mail = await mailbox.next(later);
    const path = /(\/invitation\?token=[A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1] ?? '';
    const anonymous = await browser.newContext({ bypassCSP: true });
    const visitor = await anonymous.newPage();
    try {
      await inEachLook([owner, member, visitor], async ({ width }) => {
        await owner.goto(`${stack.controlPlaneUrl}/team`);
        await owner.getByRole('table', { name: 'Members of Acme' }).waitFor();
        await owner.getByRole('table', { name: 'Pending invitations' }).waitFor();
        expect(await axe(owner), `team page at ${width}`).toEqual([]);
        expect(await sideways(owner), `team page at ${width}`).toEqual([]);
        await shot(owner, `team-owner-${width}`);

        await member.goto(`${stack.controlPlaneUrl}/team`);
        await member.getByRole('table', { name: 'Members of Acme' }).waitFor();
        expect(await axe(member), `member's team page at ${width}`).toEqual([]);
        await shot(member, `team-member-${width}`);

        await visitor.goto(`${stack.controlPlaneUrl}${path}`);
        await visitor.getByRole('form', { name: 'Sign up to accept' }).waitFor();
        expect(await axe(visitor), `invitation page at ${width}`).toEqual([]);
        expect(await sideways(visitor), `invitation page at ${width}`).toEqual([]);
        await shot(visitor, `invitation-${width}`);

        await member.goto(`${stack.controlPlaneUrl}/apps/${appId}/permissions`);
        await member.getByRole('heading', { name: 'Permissions', level: 2 }).waitFor();
        await member.getByText(/Version \d+ is active/).waitFor();
        expect(await axe(member), `permissions page at ${width}`).toEqual([]);
      });
    } finally {
      await anonymous.close();
    }
  });
});
