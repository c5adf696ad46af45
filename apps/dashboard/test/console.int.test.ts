import { DeepstreamClient } from '@deepstream/client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { axe, inEachLook, sideways } from './a11y.ts';
import {
  buildDashboard,
  type E2EStack,
  launchChromium,
  screenshots,
  startE2EStack,
} from './e2e-stack.ts';

// The live console (issue 18 item 3) in real Chromium beside the official
// client: an event published in the console reaches the client, the
// client's events show up in the console, a denied client action shows in
// the denial feed with its rule, the client is listed online, an RPC gets
// the client's answer, bad JSON is caught in the form; axe-core finds no
// serious violation at 1280 px (light) or 390 px (dark), where the page must
// not scroll sideways; screenshots of both in test-artifacts/.

const PASSWORD = 'correct horse battery';

/** Events under chat/ may be published (also by the console's user), nothing else. */
const RULES = `event:
  "*":
    publish: false
    subscribe: true
    listen: true
  "chat/*":
    publish: true
    subscribe: true
rpc:
  "*":
    provide: true
    request: true
presence:
  "*":
    allow: true
record:
  "*":
    create: true
    read: true
    write: true
    delete: true
    listen: true
    notify: true
`;

describe('live console (Chromium)', { timeout: 240_000 }, () => {
  let stack: E2EStack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let appId = '';
  let ada: DeepstreamClient | undefined;
  const shot = screenshots('console');

  beforeAll(async () => {
    await buildDashboard();
    stack = await startE2EStack();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    page = await context.newPage();
    await page.goto(`${stack.controlPlaneUrl}/signup`);
    await page.getByLabel('Email').fill(`console-${Date.now()}@example.com`);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    await page.getByLabel('New app name').fill('Console');
    await page.getByRole('button', { name: 'Create app' }).click();
    await page.getByRole('heading', { name: 'Console', level: 1 }).waitFor();
    appId = new URL(page.url()).pathname.split('/')[2] ?? '';
    expect(appId).not.toBe('');
    const rules = await page.request.put(`${stack.controlPlaneUrl}/v1/apps/${appId}/permissions`, {
      data: { valve: RULES },
      headers: { origin: stack.controlPlaneUrl },
    });
    expect(rules.status()).toBe(200);
  }, 180_000);
  afterAll(async () => {
    ada?.close();
    await browser?.close();
    await stack?.close();
  });
  afterEach(async (test) => {
    if (test.task.result?.state === 'fail' && page) await shot(page, 'FAILED');
  });

  it('publishes to a client, shows its events, denials, presence and RPC answers', async () => {
    await page
      .getByRole('navigation', { name: 'App sections' })
      .getByRole('link', { name: 'Console' })
      .click();
    await page.getByRole('heading', { name: 'Console', level: 2 }).waitFor();
    await expect.poll(() => page.locator('.console-status').textContent()).toBe('Live');

    ada = new DeepstreamClient(`${stack.realtimeUrl}/${appId}`, { maxReconnectAttempts: 1 });
    ada.on('error', () => {});
    await ada.login({ username: 'ada' });
    const received: unknown[] = [];
    ada.event.subscribe('chat/lobby', (data: unknown) => received.push(data));
    ada.rpc.provide('add', (data: { a: number; b: number }, response: { send(v: unknown): void }) =>
      response.send({ sum: data.a + data.b }),
    );

    // Who is online, and the connection on the node.
    await expect
      .poll(() => page.getByTestId('online-users').textContent(), { timeout: 15_000 })
      .toContain('open:ada');

    // Published in the console: the client receives it.
    const publish = page.getByRole('form', { name: 'Publish' });
    await publish.getByLabel('Event name').fill('chat/lobby');
    const data = publish.getByLabel('Data (JSON, optional)');
    await data.fill('{oops');
    await publish.getByText('The data is not valid JSON').waitFor();
    expect(await publish.getByRole('button', { name: 'Publish' }).isDisabled()).toBe(true);
    await data.fill('{"text": "hello from the console"}');
    await publish.getByRole('button', { name: 'Publish' }).click();
    await publish.getByText('Published chat/lobby.').waitFor();
    await expect.poll(() => received).toContainEqual({ text: 'hello from the console' });

    // The client's event shows up in the console (the default watch is every name).
    ada.event.emit('chat/lobby', { text: 'hello from ada' });
    const events = page.getByTestId('console-events');
    await events.getByText('hello from ada').waitFor();
    expect(await events.textContent()).toContain('by open:ada');

    // A denied client action, with the rule that denied it.
    ada.event.emit('secret/plans', { x: 1 });
    const problems = page.getByTestId('console-problems');
    await problems.getByText('secret/plans').waitFor();
    expect(await problems.textContent()).toContain('event "*" publish (line 3)');
    expect(await problems.textContent()).toContain('open:ada');

    // An RPC answered by the client.
    const rpc = page.getByRole('form', { name: 'RPC' });
    await rpc.getByLabel('RPC name').fill('add');
    await rpc.getByLabel('Data (JSON, optional)').fill('{"a": 1, "b": 2}');
    await rpc.getByRole('button', { name: 'Make RPC' }).click();
    await expect
      .poll(async () => JSON.parse((await page.getByTestId('rpc-answer').textContent()) ?? 'null'))
      .toEqual({ sum: 3 });

    // Pause holds new events back; resume shows them.
    await page.getByRole('button', { name: 'Pause' }).click();
    ada.event.emit('chat/lobby', { text: 'while paused' });
    await page.getByRole('button', { name: 'Resume (1 new)' }).waitFor();
    expect(await events.textContent()).not.toContain('while paused');
    await page.getByRole('button', { name: 'Resume (1 new)' }).click();
    await events.getByText('while paused').waitFor();
  });

  it('passes axe-core at 1280 px (light) and 390 px (dark), fits 390 px, leaves screenshots', async () => {
    await inEachLook([page], async ({ width }) => {
      await page.getByRole('heading', { name: 'Console', level: 2 }).waitFor();
      expect(await axe(page)).toEqual([]);
      expect(await sideways(page)).toEqual([]);
      await shot(page, `console-${width}`);
    });
  });
});
