import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DeepstreamClient } from '@deepstream/client';
import { api } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App, AuthSettings } from '../src/api.ts';
import { nodeSnippet, v2NodeSnippet } from '../src/lib/snippet.ts';
import { type E2EStack, startE2EStack } from './e2e-stack.ts';

// The starter templates on a real control plane and realtime node, with the
// official client: "signed-in" lets an email user own users/<id>/ and keeps
// open logins (whatever username they claim) and other users out; "locked"
// denies. And the app page's Node.js code for signed-in rules works once the
// placeholder credentials are those of a user the developer added, in its
// v7 form and its deepstream.io-client-js 2.x form.

const run = promisify(execFile);
const require = createRequire(import.meta.url);

describe('starter rules with the official client', { timeout: 120_000 }, () => {
  let stack: E2EStack;
  let token: string;
  let workDir: string;
  const clients: DeepstreamClient[] = [];

  const call = async <T>(method: string, url: string, body?: unknown): Promise<T> => {
    const reply = await api(stack.controlPlaneUrl, method, `/v1${url}`, {
      token,
      ...(body === undefined ? {} : { body }),
    });
    if (reply.status < 200 || reply.status > 299) {
      throw new Error(`${method} ${url}: ${reply.status} ${reply.text}`);
    }
    return reply.body as T;
  };
  const connect = (url: string) => {
    const client = new DeepstreamClient(url, { maxReconnectAttempts: 1 });
    clients.push(client);
    client.on('error', () => {});
    return client;
  };

  beforeAll(async () => {
    stack = await startE2EStack();
    workDir = await mkdtemp(path.join(tmpdir(), 'hs-starter-'));
    const res = await fetch(`${stack.controlPlaneUrl}/v1/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `starter-${Date.now()}@example.com`,
        password: 'password 123',
      }),
    });
    token = ((await res.json()) as { token: string }).token;
  }, 120_000);
  afterAll(async () => {
    for (const client of clients) client.close();
    await stack?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('signed-in: each email user owns users/<id>/; open logins and other users are denied', async () => {
    const app = await call<App>('POST', '/apps', { name: 'Signed in', template: 'signed-in' });
    await call('PUT', `/apps/${app.id}/auth`, { email: { enabled: true } });
    const ada = await call<{ id: string }>('POST', `/apps/${app.id}/users`, {
      email: 'ada@example.com',
      password: 'ada password',
    });
    await call('POST', `/apps/${app.id}/users`, {
      email: 'bob@example.com',
      password: 'bob password',
    });

    const asAda = connect(app.url);
    expect(
      await asAda.login({ type: 'email', email: 'ada@example.com', password: 'ada password' }),
    ).toMatchObject({ id: ada.id });
    await asAda.record.setDataWithAck(`users/${ada.id}/notes`, { text: 'mine' });

    const asBob = connect(app.url);
    await asBob.login({ type: 'email', email: 'bob@example.com', password: 'bob password' });
    await expect(
      asBob.record.setDataWithAck(`users/${ada.id}/notes`, { text: 'hers?' }),
    ).rejects.toBe('MESSAGE_DENIED');
    await expect(asBob.record.setDataWithAck('shared/notes', { text: 'x' })).rejects.toBe(
      'MESSAGE_DENIED',
    );

    // An open login that claims Ada's id as its username is neither
    // authenticated nor Ada.
    const impostor = connect(app.url);
    await impostor.login({ type: 'open', username: ada.id });
    await expect(
      impostor.record.setDataWithAck(`users/${ada.id}/notes`, { text: 'x' }),
    ).rejects.toBe('MESSAGE_DENIED');
  });

  it("signed-in: the app page's Node.js code works with a user's real credentials", async () => {
    const app = await call<App>('POST', '/apps', { name: 'Snippet', template: 'signed-in' });
    const auth = await call<AuthSettings>('PUT', `/apps/${app.id}/auth`, {
      email: { enabled: true },
    });
    await call('POST', `/apps/${app.id}/users`, {
      email: 'grace@example.com',
      password: 'grace password',
    });
    const code = nodeSnippet({
      url: app.url,
      auth,
      rules: 'signed-in',
      caFile: null,
      caUrl: null,
      bundleUrl: `${stack.controlPlaneUrl}/sdk/deepstream-client.min.js`,
    });
    // What the code's comment asks the developer to fill in.
    const filled = code
      .replace("email: 'user@example.com'", "email: 'grace@example.com'")
      .replace("password: 'their password'", "password: 'grace password'");
    expect(filled).not.toBe(code);

    const clientDir = path.dirname(require.resolve('@deepstream/client/package.json'));
    await mkdir(path.join(workDir, 'node_modules', '@deepstream'), { recursive: true });
    await symlink(clientDir, path.join(workDir, 'node_modules', '@deepstream', 'client'), 'dir');
    await writeFile(path.join(workDir, 'hello.mjs'), filled);
    const { stdout, stderr } = await run(process.execPath, ['hello.mjs'], {
      cwd: workDir,
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(stderr).toBe('');
    expect(stdout).toContain('Event sent and record written: it works.');

    // The 2.x form, filled in the same way, against the same URL. The client
    // is a devDependency of packages/protocol (its tests run it).
    const protocolRequire = createRequire(
      path.resolve(import.meta.dirname, '../../../packages/protocol/package.json'),
    );
    const v2Dir = path.dirname(protocolRequire.resolve('deepstream.io-client-js/package.json'));
    await symlink(v2Dir, path.join(workDir, 'node_modules', 'deepstream.io-client-js'), 'dir');
    const v2Code = v2NodeSnippet({
      url: app.url,
      auth,
      rules: 'signed-in',
      caFile: null,
      caUrl: null,
      bundleUrl: '',
    })
      .replace("email: 'user@example.com'", "email: 'grace@example.com'")
      .replace("password: 'their password'", "password: 'grace password'");
    await writeFile(path.join(workDir, 'hello-v2.cjs'), v2Code);
    const v2 = await run(process.execPath, ['hello-v2.cjs'], {
      cwd: workDir,
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(v2.stderr).toBe('');
    // (Before them, the 2.x client's own notice that deepstream 3 is in maintenance mode.)
    expect(v2.stdout).toMatch(/\nLogged in as \S+\nEvent sent and record written: it works\.\n$/);
    // Its write is the record the v7 user of the same id reads.
    const userId = /Logged in as (\S+)/.exec(v2.stdout)?.[1];
    const reader = connect(app.url);
    await reader.login({ type: 'email', email: 'grace@example.com', password: 'grace password' });
    expect(await reader.record.snapshot(`users/${userId}/hello`)).toMatchObject({
      text: 'Hello from deepstream.io-client-js 2.x',
    });

    // Left as it is, the code with open login is refused by these rules, and says so.
    const open = nodeSnippet({
      url: app.url,
      auth: { ...auth, email: { enabled: false }, open: { enabled: true } },
      rules: 'signed-in',
      caFile: null,
      caUrl: null,
      bundleUrl: '',
    });
    await writeFile(path.join(workDir, 'open.mjs'), open);
    await call('PUT', `/apps/${app.id}/auth`, {
      email: { enabled: false },
      open: { enabled: true },
    });
    const refused = await run(process.execPath, ['open.mjs'], {
      cwd: workDir,
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '' },
    }).catch((error: { code: number; stderr: string }) => error);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('MESSAGE_DENIED') });
  });

  it('locked: everything is denied', async () => {
    const app = await call<App>('POST', '/apps', { name: 'Locked', template: 'locked' });
    const client = connect(app.url);
    await client.login({ type: 'open', username: 'ada' });
    await expect(client.record.setDataWithAck('hello/world', { text: 'x' })).rejects.toBe(
      'MESSAGE_DENIED',
    );
  });
});
