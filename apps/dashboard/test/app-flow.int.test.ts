import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { DeepstreamClient } from '@deepstream/client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sideways } from './a11y.ts';
import {
  buildDashboard,
  type E2EStack,
  launchChromium,
  screenshots,
  startE2EStack,
} from './e2e-stack.ts';

// The flow in real Chromium against a real control plane and realtime
// node: sign up, create an app, switch on email auth, add a user, upload
// permissions with an error and see it underlined, fix and save, simulate an
// allowed and a denied request, then connect the official deepstream client
// as that user to the app's URL and see a permitted and a denied action.

const PASSWORD = 'correct horse battery';
const USER_EMAIL = 'writer@example.com';
const USER_PASSWORD = 'user password 1';

const rules = (notesWrite: string) => `record:
  "*":
    create: true
    read: true
    write: false
    delete: false
    listen: false
    notify: false
  "notes/*":
    write: "${notesWrite}"
event:
  "*":
    publish: false
    subscribe: false
    listen: false
rpc:
  "*":
    provide: false
    request: false
presence:
  "*":
    allow: false
`;

describe('dashboard app flow (Chromium)', { timeout: 240_000 }, () => {
  let stack: E2EStack;
  let browser: Browser;
  let page: Page;
  let appUrl = '';
  const shot = screenshots('flow');
  const clients: DeepstreamClient[] = [];

  beforeAll(async () => {
    await buildDashboard();
    stack = await startE2EStack();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // Copy buttons write to the clipboard.
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: stack.controlPlaneUrl,
    });
  }, 180_000);
  afterAll(async () => {
    for (const client of clients) client.close();
    await browser?.close();
    await stack?.close();
  });

  // What the page showed when a step failed, next to the other screenshots.
  afterEach(async (context) => {
    if (context.task.result?.state === 'fail' && page) await shot(page, 'FAILED');
  });

  const tab = async (name: string) => {
    await page
      .getByRole('navigation', { name: 'App sections' })
      .getByRole('link', { name })
      .click();
  };

  it('signs up and creates an app, which shows its URL, client code and API keys', async () => {
    await page.goto(`${stack.controlPlaneUrl}/signup`);
    await page.getByLabel('Email').fill(`dev-${Date.now()}@example.com`);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();

    await page.getByLabel('New app name').fill('Notes');
    await page.getByRole('button', { name: 'Create app' }).click();
    await page.getByRole('heading', { name: 'Notes', level: 1 }).waitFor();
    appUrl = (await page.getByTestId('app-url').textContent()) ?? '';
    expect(appUrl).toMatch(new RegExp(`^${stack.realtimeUrl}/[\\w-]+$`));
    await expect
      .poll(() => page.locator('pre.snippet').textContent())
      .toContain(`new DeepstreamClient('${appUrl}')`);
    await page.getByText('No API keys yet').waitFor();

    await page.getByLabel('Key name').fill('Backend');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.getByTestId('new-key').textContent()) ?? '';
    expect(key).toMatch(/^hsk_/);
    await page.getByRole('cell', { name: 'Backend', exact: true }).waitFor();
    expect(await page.getByTestId(`scopes-${key.slice(0, 12)}`).textContent()).toBe('Manage users');
    // The data API's curl example names this app's realtime node over http(s).
    const dataUrl = `${appUrl.replace(/^ws/, 'http')}/api`;
    expect(await page.getByTestId('data-api-curl').textContent()).toContain(dataUrl);
    await shot(page, 'app-overview');
    // A data-only key, with the user data rules will see; it may not manage users.
    await page.getByLabel('Key name').fill('Worker');
    await page.getByLabel('Manage users', { exact: true }).uncheck();
    await page.getByLabel('Data API', { exact: true }).check();
    await page.getByLabel('Server data (optional JSON object)').fill('{"role": "backend"}');
    await page.getByRole('button', { name: 'Create key' }).click();
    await expect.poll(() => page.getByTestId('new-key').textContent()).not.toBe(key);
    const dataKey = (await page.getByTestId('new-key').textContent()) ?? '';
    expect(await page.getByTestId(`scopes-${dataKey.slice(0, 12)}`).textContent()).toBe(
      'Data API as api-key:Worker',
    );
    const usersWithDataKey = await fetch(
      `${stack.controlPlaneUrl}/v1/apps/${appUrl.split('/').pop()}/users`,
      { headers: { authorization: `Bearer ${dataKey}` } },
    );
    // The curl command as copied reaches the realtime node with the data key: no rules
    // yet, so each command is denied in deepstream's format (a refused key is a plain 401/403).
    const copied = (await page.getByTestId('data-api-curl').textContent()) ?? '';
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'bash',
        ['-c', copied],
        { env: { ...process.env, HUBSTREAM_KEY: dataKey } },
        (error, stdout, stderr) =>
          error ? reject(new Error(`${error} ${stderr}`)) : resolve(stdout),
      ),
    );
    expect(JSON.parse(out)).toMatchObject({
      result: 'FAILURE',
      body: [
        { success: false, errorEvent: 'MESSAGE_DENIED' },
        { success: false, errorEvent: 'MESSAGE_DENIED' },
      ],
    });
    expect(usersWithDataKey.status).toBe(403);
    expect(
      ((await usersWithDataKey.json()) as { error: { message: string } }).error.message,
    ).toContain('lacks the "users" scope');
    // The key works once shown, and stops working when revoked.
    const appId = appUrl.split('/').pop();
    const withKey = () =>
      fetch(`${stack.controlPlaneUrl}/v1/apps/${appId}/users`, {
        headers: { authorization: `Bearer ${key}` },
      });
    expect((await withKey()).status).toBe(200);
    await page.getByRole('button', { name: 'Revoke Backend' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke the key' }).click();
    await page.getByText('revoked').waitFor();
    expect((await withKey()).status).toBe(401);

    // Rename from the list, and delete another app after confirming.
    await page
      .getByRole('navigation', { name: 'Account' })
      .getByRole('link', { name: 'Apps' })
      .click();
    await page.getByRole('button', { name: 'Rename Notes' }).click();
    await page.getByLabel('New name for Notes').fill('Team notes');
    await page.getByRole('button', { name: 'Save' }).click();
    // The app's own link in the list (the sidebar names it too).
    await page.getByRole('main').getByRole('link', { name: 'Team notes' }).waitFor();
    await page.getByLabel('New app name').fill('Scratch');
    await page.getByRole('button', { name: 'Create app' }).click();
    await page.getByRole('heading', { name: 'Scratch', level: 1 }).waitFor();
    await page
      .getByRole('navigation', { name: 'Account' })
      .getByRole('link', { name: 'Apps' })
      .click();
    await page.getByRole('button', { name: 'Delete Scratch' }).click();
    await shot(page, 'apps-delete-confirm');
    await page.getByRole('dialog').getByRole('button', { name: 'Delete the app' }).click();
    await page.getByRole('link', { name: 'Scratch' }).first().waitFor({ state: 'detached' });
    await shot(page, 'apps-list');
    await page.getByRole('main').getByRole('link', { name: 'Team notes' }).click();
    await page.getByRole('heading', { name: 'Team notes', level: 1 }).waitFor();
  });

  it('switches on email auth, with validation of the webhook settings', async () => {
    await tab('Auth');
    await page.getByRole('switch', { name: 'Email login' }).check();
    await page.getByRole('switch', { name: 'Open login' }).uncheck();
    // A webhook without a URL is refused before anything is sent.
    await page.getByRole('switch', { name: 'Webhook login' }).check();
    await page.getByRole('button', { name: 'Save auth settings' }).click();
    await page.getByText('A webhook needs a URL.').waitFor();
    await shot(page, 'auth-invalid');
    await page.getByRole('switch', { name: 'Webhook login' }).uncheck();
    await page.getByRole('button', { name: 'Save auth settings' }).click();
    await page.getByText('Saved. New logins use these settings at once.').waitFor();
    await shot(page, 'auth-saved');
    await tab('Overview');
    await expect.poll(() => page.locator('pre.snippet').textContent()).toContain("type: 'email'");
  });

  it('adds a user with serverData, checking the JSON', async () => {
    await tab('Users');
    await page.getByText('No users yet').waitFor();
    await shot(page, 'users-empty');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.getByLabel('User email').fill(USER_EMAIL);
    await page.getByLabel('User password').fill(USER_PASSWORD);
    await page.getByLabel('serverData (JSON)').fill('{"role": "writer"');
    await page
      .getByRole('form', { name: 'Add user' })
      .getByRole('button', { name: 'Add user' })
      .click();
    await page.getByText(/Not valid JSON/).waitFor();
    await page.getByLabel('serverData (JSON)').fill('{"role": "writer"}');
    await page
      .getByRole('form', { name: 'Add user' })
      .getByRole('button', { name: 'Add user' })
      .click();
    await page.getByText(`Added ${USER_EMAIL}.`).waitFor();
    await page.getByRole('cell', { name: USER_EMAIL, exact: true }).waitFor();
    await shot(page, 'users-list');
    await page.getByLabel('Search by email').fill('nobody');
    await page.getByText('No user matches “nobody”').waitFor();
    await page.getByLabel('Search by email').fill('writer');
    await page.getByRole('cell', { name: USER_EMAIL, exact: true }).waitFor();
  });

  it('underlines an error in the rules as they are typed, then saves the fixed rules', async () => {
    await tab('Permissions');
    await page.getByText('No permissions yet').waitFor();
    const editor = page.locator('.cm-content');
    await editor.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(rules("user.data.role == 'writer' &&"));
    // The checker runs in the browser: the error is underlined and listed.
    const underline = page.locator('.cm-lintRange-error');
    await underline.first().waitFor();
    const problems = page.getByRole('list', { name: 'Problems in the rules' });
    await expect.poll(() => problems.textContent()).toContain('Line 10');
    expect(await underline.first().textContent()).not.toBe('');
    expect(await page.getByRole('button', { name: 'Save and activate' }).isDisabled()).toBe(true);
    await shot(page, 'permissions-error');

    await editor.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(rules("user.data.role == 'writer'"));
    await page.getByText(/No problems: \d+ patterns/).waitFor();
    await expect.poll(() => underline.count()).toBe(0);
    await page.getByRole('button', { name: 'Save and activate' }).click();
    await page.getByText('Saved as version 1; it is active now.').waitFor();
    await page.getByRole('cell', { name: /v1\s*active/ }).waitFor();
    // Nothing left to save until the rules change again.
    await page.getByText(/Version 1 is active\./).waitFor();
    await expect
      .poll(() => page.getByRole('button', { name: 'Save and activate' }).isDisabled())
      .toBe(true);
    await shot(page, 'permissions-saved');
  });

  it('simulates an allowed and a denied request with the trace', async () => {
    const sim = page.getByRole('form', { name: 'Simulator' });
    await sim.getByLabel('Section').selectOption('record');
    await sim.getByLabel('Action', { exact: true }).selectOption('write');
    await sim.getByLabel('Name', { exact: true }).fill('notes/today');
    await sim.getByLabel('User id').fill('u1');
    await sim.getByLabel('User serverData (JSON)').fill('{"role": "writer"}');
    await sim.getByLabel('data (JSON)', { exact: true }).fill('{"text": "hello"}');
    await sim.getByRole('button', { name: 'Run simulation' }).click();
    const result = page.getByTestId('simulation-result');
    await expect.poll(() => result.textContent()).toMatch(/^allowed/);
    expect(await result.textContent()).toContain('record "notes/*" write');
    expect(await result.locator('.trace li').count()).toBeGreaterThan(1);
    await shot(page, 'simulator-allowed');

    await sim.getByLabel('Name', { exact: true }).fill('secrets/today');
    await sim.getByRole('button', { name: 'Run simulation' }).click();
    await expect.poll(() => result.textContent()).toMatch(/^denied/);
    expect(await result.textContent()).toContain('record "*" write');
    await shot(page, 'simulator-denied');
  });

  it('lets the official client log in as that user: a permitted and a denied write', async () => {
    const client = new DeepstreamClient(appUrl, { maxReconnectAttempts: 1 });
    clients.push(client);
    client.on('error', () => {});
    const login = await client.login({ type: 'email', email: USER_EMAIL, password: USER_PASSWORD });
    expect(login).toMatchObject({ id: expect.any(String) });
    await client.record.setDataWithAck('notes/today', { text: 'hello' });
    await expect(client.record.setDataWithAck('secrets/today', { text: 'no' })).rejects.toBe(
      'MESSAGE_DENIED',
    );
    // The permitted write is stored: a second client reads it back.
    const note = client.record.getRecord('notes/today');
    await note.whenReady();
    expect(note.get()).toEqual({ text: 'hello' });
    // The app's other strategies are off: an open login is refused.
    const stranger = new DeepstreamClient(appUrl, { maxReconnectAttempts: 1 });
    clients.push(stranger);
    stranger.on('error', () => {});
    await expect(stranger.login({ username: 'someone' })).rejects.toBeDefined();
  });

  it('compares versions and rolls back', async () => {
    const editor = page.locator('.cm-content');
    await editor.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(
      rules("user.data.role == 'writer' || user.data.role == 'admin'"),
    );
    await page.getByRole('button', { name: 'Save and activate' }).click();
    await page.getByText('Saved as version 2; it is active now.').waitFor();
    await page.getByRole('button', { name: 'Compare version 2 with version 1' }).click();
    const diff = page.getByRole('region', { name: 'Changes from version 1 to version 2' });
    await diff.locator('.diff-added').first().waitFor();
    expect(await diff.locator('.diff-added').textContent()).toContain("user.data.role == 'admin'");
    expect(await diff.locator('.diff-removed').textContent()).toContain(
      'write: "user.data.role == \'writer\'"',
    );
    await shot(page, 'permissions-diff');
    await page.getByRole('button', { name: 'Roll back to version 1' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Roll back' }).click();
    await page.getByRole('cell', { name: /v1\s*active/ }).waitFor();
    await expect.poll(() => editor.textContent()).not.toContain("'admin'");
  });

  it('simulates cross-referenced records and oldData against unsaved rules', async () => {
    const editor = page.locator('.cm-content');
    await editor.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(
      rules("_('roles/' + user.id) == 'admin' || (oldData != null && oldData.owner == user.id)"),
    );
    await page.getByText(/No problems/).waitFor();
    const sim = page.getByRole('form', { name: 'Simulator' });
    await sim.getByLabel('Name', { exact: true }).fill('notes/x');
    await sim.getByLabel('User id').fill('u1');
    await sim.getByLabel('oldData (JSON)').fill('');
    await sim.getByLabel(/Cross-referenced records/).fill('{"roles/u1": "admin"}');
    const result = page.getByTestId('simulation-result');
    await sim.getByRole('button', { name: 'Run simulation' }).click();
    await expect.poll(() => result.textContent()).toMatch(/^allowed/);
    expect(await result.textContent()).toContain('Loaded record roles/u1');
    await shot(page, 'simulator-cross-reference');
    await sim.getByLabel(/Cross-referenced records/).fill('{}');
    await sim.getByRole('button', { name: 'Run simulation' }).click();
    await expect.poll(() => result.textContent()).toMatch(/^denied/);
    // The stored record's owner is the user: allowed through oldData.
    await sim.getByLabel('oldData (JSON)').fill('{"owner": "u1"}');
    await sim.getByRole('button', { name: 'Run simulation' }).click();
    await expect.poll(() => result.textContent()).toMatch(/^allowed/);
    // Unsaved: the active rules are still version 1.
    await page.getByRole('cell', { name: /v1\s*active/ }).waitFor();
  });

  it('charts the app’s usage', async () => {
    await tab('Usage');
    // The client above connected and wrote; the node reports every second.
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Refresh' }).click();
          return page.getByRole('heading', { name: 'Messages per minute' }).count();
        },
        { timeout: 30_000, interval: 1000 },
      )
      .toBe(1);
    await page.getByRole('heading', { name: 'Connections per minute (peak)' }).waitFor();
    await shot(page, 'usage');
  });

  it('tests the saved webhook and shows its verdict, clientData and serverData', async () => {
    const received: unknown[] = [];
    const hook: Server = createServer(async (request, response) => {
      let text = '';
      for await (const chunk of request) text += chunk;
      const { authData } = JSON.parse(text) as { authData: { token?: string } };
      received.push(authData);
      const ok = authData.token === 'good';
      response.writeHead(ok ? 200 : 403, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify(
          ok
            ? { id: 'hook-user', clientData: { theme: 'dark' }, serverData: { plan: 'team' } }
            : { reason: 'bad token' },
        ),
      );
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    try {
      const address = hook.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      await tab('Auth');
      await page.getByLabel('Webhook URL').fill(`http://127.0.0.1:${port}/auth`);
      await page.getByLabel('Retry attempts').fill('0');
      await page.getByRole('button', { name: 'Save auth settings' }).click();
      await page.getByText('Saved. New logins use these settings at once.').waitFor();
      await page.getByLabel('Sample authData (JSON object)').fill('{"token": "good"}');
      await page.getByRole('button', { name: 'Test webhook' }).click();
      const result = page.locator('.result');
      await expect.poll(() => result.textContent()).toContain('allowed');
      expect(await result.textContent()).toContain('hook-user');
      expect(await result.textContent()).toContain('"theme": "dark"');
      expect(await result.textContent()).toContain('"plan": "team"');
      // The exact request that was sent: method and URL, headers, body.
      const sent = await page.getByLabel('Request sent').textContent();
      expect(sent).toContain(`POST http://127.0.0.1:${port}/auth`);
      expect(sent).toContain('content-type: application/json');
      expect(sent).toContain('"authData":{"token":"good"}');
      await shot(page, 'webhook-allowed');
      await page.getByLabel('Sample authData (JSON object)').fill('{"token": "bad"}');
      await page.getByRole('button', { name: 'Test webhook' }).click();
      await expect.poll(() => result.textContent()).toContain('denied');
      expect(await result.textContent()).toContain('bad token');
      await shot(page, 'webhook-denied');
      expect(received).toEqual([{ token: 'good' }, { token: 'bad' }]);
    } finally {
      hook.close();
    }
  });

  it('edits and deletes a user, after confirming', async () => {
    await tab('Users');
    await page.getByRole('button', { name: `Edit ${USER_EMAIL}` }).click();
    await page.getByLabel('serverData (JSON)').fill('{"role": "reader"}');
    await page.getByRole('button', { name: 'Save user' }).click();
    await page.getByText(`Saved ${USER_EMAIL}.`).waitFor();
    await page.getByRole('cell', { name: '{"role":"reader"}' }).waitFor();
    // Escape closes the confirmation without deleting.
    await page.getByRole('button', { name: `Delete ${USER_EMAIL}` }).click();
    await page.getByRole('dialog').waitFor();
    await shot(page, 'users-delete-confirm');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: `Delete ${USER_EMAIL}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete the user' }).click();
    await page.getByText(`Deleted ${USER_EMAIL}.`).waitFor();
    await page.getByText('No users yet').waitFor();
  });

  it('pages through many users', async () => {
    // Created through the API with the browser's own session cookie.
    const appId = appUrl.split('/').pop();
    for (let i = 1; i <= 25; i++) {
      const res = await page.request.post(`${stack.controlPlaneUrl}/v1/apps/${appId}/users`, {
        data: { email: `user${String(i).padStart(2, '0')}@example.com`, password: 'password 123' },
      });
      expect(res.status()).toBe(201);
    }
    await page.reload();
    const pager = page.getByRole('navigation', { name: 'Pages of users' });
    await pager.getByText('1–20 of 25').waitFor();
    expect(await pager.getByRole('button', { name: 'Previous' }).isDisabled()).toBe(true);
    await pager.getByRole('button', { name: 'Next' }).click();
    await pager.getByText('21–25 of 25').waitFor();
    expect(await pager.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
    await shot(page, 'users-page-2');
  });

  it('can be used from the keyboard', async () => {
    await page.goto(`${stack.controlPlaneUrl}/apps`);
    // A new page focuses its heading, so screen readers announce it.
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Your apps');
    // Create an app with the keyboard alone: Tab to the field, type, Enter.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('placeholder'))).toBe(
      'My chat app',
    );
    await page.keyboard.type('Keyboard app');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Keyboard app', level: 1 }).waitFor();
    // The skip link shows when focused and jumps past the header.
    const skip = page.getByRole('link', { name: 'Skip to content' });
    await skip.focus();
    expect((await skip.boundingBox())?.x).toBeGreaterThanOrEqual(0);
    await page.keyboard.press('Enter');
    expect(new URL(page.url()).hash).toBe('#content');
  });

  it('works on a phone-sized screen', async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    await tab('Overview');
    await page.getByTestId('app-url').waitFor();
    // The page never scrolls sideways (wide tables and code scroll in their
    // own box); the offenders are named when it does.
    expect(await sideways(page)).toEqual([]);
    await shot(page, 'mobile-overview');
  });
});
