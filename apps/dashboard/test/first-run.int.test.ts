import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DeepstreamClient } from '@deepstream/client';
import { type RunningHubstream, startHubstream } from '@hubstream/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard, launchChromium, screenshots } from './e2e-stack.ts';

// Issue 13's "done when", as a newcomer goes: `pnpm start`'s process with its
// own local CA (TLS_SELF_SIGNED=auto, as pnpm start runs), sign up in
// Chromium, create an app with the development rules, copy the Node.js code
// from the page, run it with node exactly as copied, and see its event and
// its record write reach the server.

const run = promisify(execFile);
const require = createRequire(import.meta.url);

describe('first run: from sign-up to a working client (Chromium)', { timeout: 240_000 }, () => {
  let dataDir: string;
  let workDir: string;
  let hub: RunningHubstream;
  let browser: Browser;
  let page: Page;
  let origin: string;
  let appUrl = '';
  let caPem = '';
  const observers: DeepstreamClient[] = [];
  const shot = screenshots('first-run');

  beforeAll(async () => {
    await buildDashboard();
    dataDir = await mkdtemp(path.join(tmpdir(), 'hs-first-run-'));
    workDir = await mkdtemp(path.join(tmpdir(), 'hs-first-run-app-'));
    // A port of its own: the app URL on the page names REALTIME_PORT.
    hub = await startHubstream(
      { DATA_DIR: dataDir, TLS_SELF_SIGNED: 'auto' },
      { freePorts: ['REALTIME_PORT'] },
    );
    // Each port answers TLS and, on loopback, plain http too: Chromium (which
    // does not trust the CA) uses plain http; the snippet uses wss:// with the CA.
    origin = hub.controlPlaneUrl.replace(/^https:/, 'http:');
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  }, 240_000);
  afterAll(async () => {
    for (const client of observers) client.close();
    await browser?.close();
    await hub?.stop();
    for (const dir of [dataDir, workDir]) if (dir) await rm(dir, { recursive: true, force: true });
  });
  afterEach(async (context) => {
    if (context.task.result?.state === 'fail' && page) await shot(page, 'FAILED');
  });

  it('runs the copied Node.js code against the server: its event and record write succeed', async () => {
    expect(hub.controlPlaneUrl).toMatch(/^https:/);
    await page.goto(`${origin}/signup`);
    await page.getByLabel('Email').fill('newcomer@example.com');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByLabel('New app name').fill('First app');
    await page.getByRole('radio', { name: /Development/ }).check();
    await shot(page, 'create-app');
    await page.getByRole('button', { name: 'Create app' }).click();
    await page.getByRole('heading', { name: 'First app', level: 1 }).waitFor();

    // The development rules are active, and the page warns about them.
    await page.getByRole('region', { name: 'Development rules warning' }).waitFor();
    appUrl = (await page.getByTestId('app-url').textContent()) ?? '';
    expect(appUrl).toMatch(/^wss:\/\/localhost:\d+\/[\w-]+$/);

    // The page says the server runs on a local CA, names its file and serves
    // the same certificate for download.
    const caCard = page.getByTestId('local-ca');
    await caCard.waitFor();
    const caFile = (await page.getByTestId('ca-file').textContent()) ?? '';
    expect(caFile).toBe(path.join(await realpath(dataDir), 'tls', 'ca.pem'));
    caPem = await readFile(caFile, 'utf8');
    const href =
      (await caCard.getByRole('link', { name: 'Download ca.pem' }).getAttribute('href')) ?? '';
    const download = await page.request.get(new URL(href, origin).toString());
    expect((await download.text()).trim()).toBe(caPem.trim());
    expect(await caCard.textContent()).toContain(`NODE_EXTRA_CA_CERTS=${caFile}`);
    await shot(page, 'overview');

    // Copy the Node.js code as a developer would.
    await page.getByRole('tab', { name: 'Node.js' }).click();
    const shown = page.getByTestId('snippet-node');
    await expect.poll(() => shown.textContent()).toContain("type: 'open'");
    await page.getByRole('button', { name: 'Copy code' }).click();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toBe(await shown.textContent());
    expect(copied).toContain(`new DeepstreamClient('${appUrl}', { socketOptions: { ca } })`);

    // Someone else already listening: they see the event and the record.
    const ca = Buffer.from(caPem);
    const observer = new DeepstreamClient(appUrl, { socketOptions: { ca } });
    observers.push(observer);
    observer.on('error', () => {});
    await observer.login({ type: 'open', username: 'observer' });
    const greetings: unknown[] = [];
    observer.event.subscribe('greetings', (data: unknown) => greetings.push(data));
    const subscribed = await observer.record.getRecord('hello/world').whenReady();
    expect(subscribed.get()).toEqual({});

    // A project with the client installed, the copied code in hello.mjs.
    const clientDir = path.dirname(require.resolve('@deepstream/client/package.json'));
    await mkdir(path.join(workDir, 'node_modules', '@deepstream'), { recursive: true });
    await symlink(clientDir, path.join(workDir, 'node_modules', '@deepstream', 'client'), 'dir');
    await writeFile(path.join(workDir, 'hello.mjs'), copied);
    const { stdout, stderr } = await run(process.execPath, ['hello.mjs'], {
      cwd: workDir,
      timeout: 60_000,
      // Nothing of the test's environment: no NODE_EXTRA_CA_CERTS, the code passes the CA itself.
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(stderr).toBe('');
    expect(stdout).toContain('Logged in as open:ada');
    expect(stdout).toContain('Event sent and record written: it works.');

    await expect.poll(() => greetings).toEqual([{ text: 'Hello from Node' }]);
    await expect.poll(() => subscribed.get('text')).toBe('Hello from Node');

    // The permissions page says where the active version came from.
    await page
      .getByRole('navigation', { name: 'App sections' })
      .getByRole('link', { name: 'Permissions' })
      .click();
    await page.getByRole('cell', { name: 'development template' }).waitFor();
    await shot(page, 'permissions');
  });

  it('runs the copied script-tag code in a browser page, with the bundle served by Hubstream', async () => {
    await page
      .getByRole('navigation', { name: 'App sections' })
      .getByRole('link', { name: 'Overview' })
      .click();
    await page.getByRole('tab', { name: 'Browser (script tag)' }).click();
    await expect.poll(() => page.getByTestId('snippet-browser').textContent()).toContain('<script');
    await page.getByRole('button', { name: 'Copy code' }).click();
    const html = await page.evaluate(() => navigator.clipboard.readText());
    expect(html).toContain(`<script src="${origin}/sdk/deepstream-client.min.js"></script>`);

    const observer = new DeepstreamClient(appUrl, { socketOptions: { ca: Buffer.from(caPem) } });
    observers.push(observer);
    observer.on('error', () => {});
    await observer.login({ type: 'open', username: 'watcher' });
    const greetings: unknown[] = [];
    observer.event.subscribe('greetings', (data: unknown) => greetings.push(data));
    const record = await observer.record.getRecord('hello/world').whenReady();

    // A browser that trusts the local CA (as the page tells one how to); here
    // Chromium is told to accept the certificate instead.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const tab = await context.newPage();
      const logs: string[] = [];
      tab.on('console', (message) => logs.push(message.text()));
      await tab.setContent(`<!doctype html><html><body>${html}</body></html>`);
      await expect
        .poll(() => logs.join('\n'), { timeout: 30_000 })
        .toContain('Event sent and record written: it works.');
      expect(logs.join('\n')).not.toContain('Hubstream error');
    } finally {
      await context.close();
    }
    await expect.poll(() => greetings).toEqual([{ text: 'Hello from the browser' }]);
    await expect.poll(() => record.get('text')).toBe('Hello from the browser');
  });

  it('links to the API reference, a Hubstream page that shows its text as written', async () => {
    // The apps list marks the app whose development rules allow everything.
    await page
      .getByRole('navigation', { name: 'Account' })
      .getByRole('link', { name: 'Apps' })
      .click();
    await page.getByText('development rules: everything allowed').waitFor();
    await page
      .getByRole('navigation', { name: 'Account' })
      .getByRole('link', { name: 'API reference' })
      .click();
    await page.waitForURL(/\/docs/);
    await expect.poll(() => page.title()).toBe('Hubstream API reference');
    await page.getByText('Authorization: Bearer <token>').waitFor();
    expect(await page.locator('.topbar img').getAttribute('src')).toMatch(
      /^data:image\/svg\+xml;base64,/,
    );
    await shot(page, 'api-reference');
  });
});
