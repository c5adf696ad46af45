import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeepstreamClient } from '@deepstream/client';
import { freePort, type RunningHubstream, startHubstream } from '@hubstream/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard, launchChromium, screenshots } from './e2e-stack.ts';

// The dashboard against `pnpm start`'s process (apps/standalone on embedded
// PGlite): the pages work there too, and the app they set up takes logins.

const RULES = `record:
  "*":
    create: true
    read: true
    write: "user.data.plan == 'pro'"
    delete: false
    listen: false
    notify: false
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

describe('dashboard on the standalone process (Chromium)', { timeout: 240_000 }, () => {
  let dataDir: string;
  let hub: RunningHubstream;
  let browser: Browser;
  let page: Page;
  const shot = screenshots('standalone');

  beforeAll(async () => {
    await buildDashboard();
    dataDir = await mkdtemp(path.join(tmpdir(), 'hs-dashboard-'));
    const realtimePort = await freePort();
    hub = await startHubstream({
      DATA_DIR: dataDir,
      REALTIME_PORT: String(realtimePort),
      PUBLIC_REALTIME_URL: `ws://127.0.0.1:${realtimePort}`,
      // Plain http and ws: the test's clients would not trust a self-signed CA.
      TLS_SELF_SIGNED: 'false',
      // The usage page charts what the node reported; report every second.
      USAGE_REPORT_INTERVAL_MS: '1000',
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('loads its pages without a 404, the favicon included', async () => {
    const missing: string[] = [];
    const onResponse = (response: { status(): number; url(): string }) => {
      if (response.status() === 404) missing.push(response.url());
    };
    page.on('response', onResponse);
    await page.goto(`${hub.controlPlaneUrl}/login`);
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    const icon = await page.locator('link[rel="icon"]').getAttribute('href');
    expect(icon).toBe('/favicon.svg');
    const served = await fetch(`${hub.controlPlaneUrl}${icon}`);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toContain('image/svg+xml');
    expect(await served.text()).toContain('<svg');
    page.off('response', onResponse);
    expect(missing).toEqual([]);
  });

  it('sets up an app whose user the official client logs in as', async () => {
    await page.goto(`${hub.controlPlaneUrl}/signup`);
    await page.getByLabel('Email').fill('solo@example.com');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByLabel('New app name').fill('Solo');
    await page.getByRole('button', { name: 'Create app' }).click();
    const url = (await page.getByTestId('app-url').textContent()) ?? '';
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/[\w-]+$/);

    const tab = (name: string) =>
      page.getByRole('navigation', { name: 'App sections' }).getByRole('link', { name }).click();
    await tab('Auth');
    await page.getByRole('switch', { name: 'Email login' }).check();
    await page.getByRole('button', { name: 'Save auth settings' }).click();
    await page.getByText('Saved.', { exact: false }).waitFor();

    await tab('Users');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.getByLabel('User email').fill('pro@example.com');
    await page.getByLabel('User password').fill('pro password');
    await page.getByLabel('serverData (JSON)').fill('{"plan": "pro"}');
    await page
      .getByRole('form', { name: 'Add user' })
      .getByRole('button', { name: 'Add user' })
      .click();
    await page.getByRole('cell', { name: 'pro@example.com', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.getByLabel('User email').fill('free@example.com');
    await page.getByLabel('User password').fill('free password');
    await page
      .getByRole('form', { name: 'Add user' })
      .getByRole('button', { name: 'Add user' })
      .click();
    await page.getByRole('cell', { name: 'free@example.com', exact: true }).waitFor();
    await shot(page, 'users');

    await tab('Permissions');
    await page.locator('.cm-content').click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(RULES);
    await page.getByRole('button', { name: 'Save and activate' }).click();
    await page.getByText('Saved as version 1; it is active now.').waitFor();
    await shot(page, 'permissions');

    const clients: DeepstreamClient[] = [];
    try {
      const as = async (email: string, password: string) => {
        const client = new DeepstreamClient(url, { maxReconnectAttempts: 1 });
        clients.push(client);
        client.on('error', () => {});
        await client.login({ type: 'email', email, password });
        return client;
      };
      const pro = await as('pro@example.com', 'pro password');
      await pro.record.setDataWithAck('doc/1', { by: 'pro' });
      const free = await as('free@example.com', 'free password');
      await expect(free.record.setDataWithAck('doc/1', { by: 'free' })).rejects.toBe(
        'MESSAGE_DENIED',
      );
    } finally {
      for (const client of clients) client.close();
    }
  });

  it('serves version history, the simulator, API keys and usage of that app too', async () => {
    const tab = (name: string) =>
      page.getByRole('navigation', { name: 'App sections' }).getByRole('link', { name }).click();
    // Version history: save a second version, compare it with the first, roll back.
    const editor = page.locator('.cm-content');
    await editor.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(RULES.replace("'pro'", "'pro' || user.data.plan == 'team'"));
    await page.getByRole('button', { name: 'Save and activate' }).click();
    await page.getByText('Saved as version 2; it is active now.').waitFor();
    await page.getByRole('button', { name: 'Compare version 2 with version 1' }).click();
    const diff = page.getByRole('region', { name: 'Changes from version 1 to version 2' });
    await diff.locator('.diff-added').first().waitFor();
    expect(await diff.locator('.diff-added').textContent()).toContain("'team'");
    await shot(page, 'versions');
    await page.getByRole('button', { name: 'Roll back to version 1' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Roll back' }).click();
    await page.getByRole('cell', { name: /v1\s*active/ }).waitFor();
    await expect.poll(() => editor.textContent()).not.toContain("'team'");

    // The simulator runs the rules in the browser: pro may write, free may not.
    const sim = page.getByRole('form', { name: 'Simulator' });
    const simulate = async (plan: string) => {
      await sim.getByLabel('Section').selectOption('record');
      await sim.getByLabel('Action', { exact: true }).selectOption('write');
      await sim.getByLabel('Name', { exact: true }).fill('doc/1');
      await sim.getByLabel('User id').fill(`${plan}-user`);
      await sim.getByLabel('User serverData (JSON)').fill(JSON.stringify({ plan }));
      await sim.getByLabel('data (JSON)', { exact: true }).fill('{"by": "sim"}');
      await sim.getByRole('button', { name: 'Run simulation' }).click();
      return page.getByTestId('simulation-result');
    };
    const allowed = await simulate('pro');
    await expect.poll(() => allowed.textContent()).toMatch(/^allowed/);
    await shot(page, 'simulator');
    const denied = await simulate('free');
    await expect.poll(() => denied.textContent()).toMatch(/^denied/);

    await tab('Overview');
    await page.getByLabel('Key name').fill('Server');
    await page.getByRole('button', { name: 'Create key' }).click();
    expect((await page.getByTestId('new-key').textContent()) ?? '').toMatch(/^hsk_/);
    await page.getByRole('cell', { name: 'Server', exact: true }).waitFor();
    await shot(page, 'overview');

    await tab('Usage');
    // The clients of the first test connected and wrote; the node reports every second.
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Refresh' }).click();
          return page.getByRole('heading', { name: 'Messages per minute' }).count();
        },
        { timeout: 30_000, interval: 1000 },
      )
      .toBe(1);
    await shot(page, 'usage');
  });

  it("browses that app's records through the process' own realtime node; its rules judge edits", async () => {
    await page
      .getByRole('navigation', { name: 'App sections' })
      .getByRole('link', { name: 'Data' })
      .click();
    // Written by the pro client of the first test, read here from PGlite and the node.
    const table = page.getByTestId('records-table');
    await table.getByRole('link', { name: 'doc/1' }).click();
    await expect.poll(() => page.getByTestId('record-version').textContent()).toBe('Version 1');
    expect(JSON.parse((await page.getByTestId('record-json').textContent()) ?? '')).toEqual({
      by: 'pro',
    });
    // The rules let only "pro" users write: the dashboard's user is refused, and told why.
    await page.getByLabel(/^Edit as JSON/).fill('{"by": "dashboard"}');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('refused this for user "hubstream:dashboard"').waitFor();
    expect(await page.getByTestId('record-version').textContent()).toBe('Version 1');
    await shot(page, 'data-denied');
  });
});
