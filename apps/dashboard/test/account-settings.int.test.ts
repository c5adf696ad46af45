import { api } from '@hubstream/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildDashboard,
  type E2EStack,
  launchChromium,
  screenshots,
  startE2EStack,
} from './e2e-stack.ts';

// The Account page in real Chromium (issue 18 item 4): /settings leads to
// it; changing the password ends the session of another browser and a
// script's token while this one stays; the email moves to a new address
// once the mailed link is opened; deleting the account (typed email and
// password) logs out, refuses the login and deletes the apps.

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a brand new passphrase';

describe('dashboard account settings (Chromium)', { timeout: 180_000 }, () => {
  let stack: E2EStack;
  let browser: Browser;
  let page: Page;
  let other: BrowserContext;
  const shot = screenshots('account');
  let email = `grace-${Date.now()}@example.com`;
  let scriptToken = '';
  let appId = '';

  const call = (method: string, path: string, token: string, body?: unknown) =>
    api(stack.controlPlaneUrl, method, `/v1${path}`, { token, body });

  async function logIn(target: Page, password = PASSWORD) {
    await target.goto(`${stack.controlPlaneUrl}/login`);
    await target.getByRole('heading', { name: 'Log in to Hubstream' }).waitFor();
    await target.getByLabel('Email').fill(email);
    await target.getByLabel('Password').fill(password);
    await target.getByRole('button', { name: 'Log in' }).click();
  }

  beforeAll(async () => {
    await buildDashboard();
    stack = await startE2EStack();
    browser = await launchChromium();
    // Signed up by a script: its session token is one of the sessions listed.
    const signup = await fetch(`${stack.controlPlaneUrl}/v1/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'curl/8.5.0' },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    expect(signup.status).toBe(201);
    scriptToken = ((await signup.json()) as { token: string }).token;
    const app = await call('POST', '/apps', scriptToken, { name: 'Doomed app' });
    expect(app.status).toBe(201);
    appId = app.body.id;
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    other = await browser.newContext();
  }, 180_000);
  afterAll(async () => {
    await other?.close();
    await browser?.close();
    await stack?.close();
  });

  it('reaches the Account page from the account menu and from /settings', async () => {
    await logIn(page);
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    await page.getByRole('button', { name: /^Account menu/ }).click();
    await page.getByRole('link', { name: 'Account settings' }).click();
    await page.getByRole('heading', { name: 'Account settings', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/account');
    await page.goto(`${stack.controlPlaneUrl}/settings`);
    await page.getByRole('heading', { name: 'Account settings', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/account');
  });

  it('changes the password: the other browser and the script are signed out, this one stays', async () => {
    const otherPage = await other.newPage();
    await logIn(otherPage);
    await otherPage.getByRole('heading', { name: 'Your apps' }).waitFor();

    await page.reload();
    const sessions = page.getByRole('table', { name: 'Your sessions' });
    // The script's, the other browser's and this one, marked.
    await expect.poll(() => sessions.getByRole('row').count()).toBe(4);
    const current = page.getByTestId('current-session');
    await current.getByText('This session').waitFor();
    await current.getByText(/Chrom/).waitFor();
    await sessions.getByRole('cell', { name: 'curl', exact: true }).waitFor();
    await shot(page, 'sessions');

    const form = page.getByRole('form', { name: 'Change the password' });
    await form.getByLabel('Current password').fill('not my password');
    await form.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await form.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
    await form.getByRole('button', { name: 'Change the password' }).click();
    await form.getByText('The current password is wrong. Nothing was changed.').waitFor();
    await shot(page, 'password-wrong');
    expect((await call('GET', '/me', scriptToken)).status).toBe(200);

    await form.getByLabel('Current password').fill(PASSWORD);
    await form.getByRole('button', { name: 'Change the password' }).click();
    await page.getByText('Your password was changed. 2 other sessions were ended.').waitFor();
    await expect.poll(() => sessions.getByRole('row').count()).toBe(2);
    await shot(page, 'password-changed');

    // The other browser is out at its next request; the script too.
    await otherPage.reload();
    await otherPage.getByRole('heading', { name: 'Log in to Hubstream' }).waitFor();
    expect((await call('GET', '/me', scriptToken)).status).toBe(401);
    // This one is still in.
    await page.reload();
    await page.getByRole('heading', { name: 'Account settings', level: 1 }).waitFor();
    await otherPage.close();
  });

  it('changes the email address once the link mailed to the new one is opened', async () => {
    const newEmail = `grace-new-${Date.now()}@example.com`;
    const form = page.getByRole('form', { name: 'Change the email address' });
    await form.getByLabel('New email address').fill(newEmail);
    await form.getByLabel('Current password').fill(NEW_PASSWORD);
    await form.getByRole('button', { name: 'Change the email address' }).click();
    await page.getByText(`We have sent a link to ${newEmail}.`).waitFor();
    await page.getByText('Waiting for confirmation').waitFor();
    await shot(page, 'email-pending');
    const mail = stack.mails.find((m) => m.to === newEmail);
    const token = mail && /\/verify-email\?token=([^\s&]+)/.exec(mail.text)?.[1];
    expect(token).toMatch(/^hse_/);
    expect(stack.mails.some((m) => m.to === email && m.text.includes(newEmail))).toBe(true);

    await page.goto(`${stack.controlPlaneUrl}/verify-email?token=${token}`);
    await page.getByText(`Your account's address is ${newEmail}.`).waitFor();
    email = newEmail;
    await page.goto(`${stack.controlPlaneUrl}/account`);
    await page.getByRole('heading', { name: 'Account settings', level: 1 }).waitFor();
    await page.getByRole('button', { name: `Account menu for ${newEmail}` }).waitFor();
    expect(await page.getByText('Waiting for confirmation').count()).toBe(0);
  });

  it('works at 390 px: nothing scrolls sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await page.getByRole('heading', { name: 'Account settings', level: 1 }).waitFor();
    await page.getByTestId('current-session').waitFor();
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, 'account-390');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('deletes the account after the typed email and the password, and its apps with it', async () => {
    await page.getByRole('button', { name: 'Delete my account' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete your account?' });
    await dialog.waitFor();
    await dialog.getByLabel('Your email address').fill('someone-else@example.com');
    await dialog.getByLabel('Password').fill(NEW_PASSWORD);
    await dialog.getByRole('button', { name: 'Delete the account' }).click();
    await dialog.getByText(`Type ${email} to confirm.`).waitFor();
    await dialog.getByLabel('Your email address').fill(email);
    await dialog.getByLabel('Password').fill('not my password');
    await dialog.getByRole('button', { name: 'Delete the account' }).click();
    await dialog.getByText('The current password is wrong. Nothing was changed.').waitFor();
    await shot(page, 'delete-dialog');
    await dialog.getByLabel('Password').fill(NEW_PASSWORD);
    await dialog.getByRole('button', { name: 'Delete the account' }).click();

    await page.getByText('Your account was deleted, with its apps. Goodbye.').waitFor();
    await shot(page, 'deleted');
    // The app went with it: announced to the realtime nodes, purged by the queue.
    expect(stack.announced.map((m) => [m.appId, m.payload])).toContainEqual([
      appId,
      { what: 'deleted' },
    ]);
    await logIn(page, NEW_PASSWORD);
    await page.getByRole('alert').getByText('The email or the password is wrong.').waitFor();
    await page.goto(`${stack.controlPlaneUrl}/account`);
    await page.getByRole('heading', { name: 'Log in to Hubstream' }).waitFor();
  });
});
