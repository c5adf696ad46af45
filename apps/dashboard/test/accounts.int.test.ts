import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildDashboard,
  type E2EStack,
  launchChromium,
  screenshots,
  startE2EStack,
} from './e2e-stack.ts';

// The account pages in real Chromium against a real control plane: sign up,
// verify the email from the mailed link, log out, log in, reset the password.

const PASSWORD = 'correct horse battery';

describe('dashboard accounts (Chromium)', { timeout: 180_000 }, () => {
  let stack: E2EStack;
  let browser: Browser;
  let page: Page;
  const shot = screenshots('accounts');
  const email = `ada-${Date.now()}@example.com`;

  beforeAll(async () => {
    await buildDashboard();
    stack = await startE2EStack();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  const linkIn = (to: string, pagePath: string) => {
    const mail = [...stack.mails].reverse().find((m) => m.to === to && m.text.includes(pagePath));
    const token = mail && new RegExp(`/${pagePath}\\?token=([^\\s&]+)`).exec(mail.text)?.[1];
    if (!token) throw new Error(`no ${pagePath} mail to ${to}`);
    return `${stack.controlPlaneUrl}/${pagePath}?token=${token}`;
  };

  it('serves the dashboard without shadowing the API', async () => {
    const index = await fetch(`${stack.controlPlaneUrl}/apps/some-client-route`, {
      headers: { accept: 'text/html,application/xhtml+xml' },
    });
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(await index.text()).toContain('<div id="root">');
    // Not for API clients, and never under the API's own prefixes.
    expect((await fetch(`${stack.controlPlaneUrl}/apps/some-client-route`)).status).toBe(404);
    const api = await fetch(`${stack.controlPlaneUrl}/v1/no-such-route`, {
      headers: { accept: 'text/html' },
    });
    expect(api.status).toBe(404);
    expect((await api.json()).error.code).toBe('NOT_FOUND');
    expect(
      (await fetch(`${stack.controlPlaneUrl}/openapi.json`)).headers.get('content-type'),
    ).toContain('application/json');
    expect((await fetch(`${stack.controlPlaneUrl}/health`)).status).toBe(200);
    expect((await fetch(`${stack.controlPlaneUrl}/assets/missing.js`)).status).toBe(404);
  });

  it('signs up, and shows the apps page with the verification banner', async () => {
    await page.goto(stack.controlPlaneUrl);
    await page.getByRole('heading', { name: 'Log in to Hubstream' }).waitFor();
    await shot(page, 'login');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByRole('heading', { name: 'Create your Hubstream account' }).waitFor();
    // A bad address is refused with a message next to the field.
    await page.getByLabel('Email').fill('not-an-email');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByText('Enter a valid email address.').waitFor();
    await shot(page, 'signup-error');
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/apps');
    await page.getByText('No apps yet').waitFor();
    const banner = page.getByRole('region', { name: 'Email verification' });
    await banner.waitFor();
    await shot(page, 'apps-empty');
    // A second link can be asked for; the newest one is used below.
    await banner.getByRole('button', { name: 'Send the link again' }).click();
    await banner.getByText(`We have sent a new verification link to ${email}.`).waitFor();
    expect(stack.mails.filter((m) => m.to === email)).toHaveLength(2);
  });

  it('verifies the email address from the mailed link', async () => {
    await page.goto(linkIn(email, 'verify-email'));
    await page.getByText('Your email address is verified').waitFor();
    await shot(page, 'verified');
    await page.getByRole('link', { name: 'Go to your apps' }).click();
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    expect(await page.getByRole('region', { name: 'Email verification' }).count()).toBe(0);
    // A spent link says so.
    await page.goto(linkIn(email, 'verify-email'));
    await page.getByRole('alert').waitFor();
  });

  it('logs out, refuses a wrong password, and logs in', async () => {
    await page.goto(`${stack.controlPlaneUrl}/apps`);
    await page.getByRole('button', { name: /^Account menu/ }).click();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in to Hubstream' }).waitFor();
    // The session cookie is gone: the apps page sends us back to log in.
    await page.goto(`${stack.controlPlaneUrl}/apps`);
    await page.getByRole('heading', { name: 'Log in to Hubstream' }).waitFor();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').waitFor();
    await shot(page, 'login-refused');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
  });

  it('resets a forgotten password from the mailed link', async () => {
    await page.getByRole('button', { name: /^Account menu/ }).click();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByText('If an account uses this email address').waitFor();
    await shot(page, 'forgot-password');
    await page.goto(linkIn(email, 'reset-password'));
    await page.getByLabel('New password', { exact: true }).fill('a brand new password');
    await page.getByLabel('Repeat the new password').fill('a brand new passwordX');
    await page.getByText('The passwords differ.').waitFor();
    await page.getByLabel('Repeat the new password').fill('a brand new password');
    await shot(page, 'reset-password');
    await page.getByRole('button', { name: 'Change the password' }).click();
    await page.getByText('Your password was changed').waitFor();
    await page.getByRole('link', { name: 'Log in' }).click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('a brand new password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
  });
});
