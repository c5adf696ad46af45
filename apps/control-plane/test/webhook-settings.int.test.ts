import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Harness, signUp, startControlPlane } from './harness.ts';

// Issue 13.5: a private-address webhook is refused when saved (422 naming
// the setting that allows it), the test button shows the exact request, and
// the README's signature check, run as written, accepts a real signed call.

type Call = { headers: IncomingHttpHeaders; body: string };

async function startHook(): Promise<{ server: Server; url: string; calls: Call[] }> {
  const calls: Call[] = [];
  const server = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    calls.push({ headers: request.headers, body });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: 'ada' }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}/auth`, calls };
}

/** The README's verification code block, as a module of its own. */
async function readmeVerifier(): Promise<
  (header: string, body: string, secret: string) => boolean
> {
  const readme = await readFile(
    fileURLToPath(new URL('../../../README.md', import.meta.url)),
    'utf8',
  );
  const block = [...readme.matchAll(/```js\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .find((code) => code.includes('verifyHubstreamSignature'));
  expect(block, 'README has the verification example').toBeDefined();
  const dir = await mkdtemp(path.join(tmpdir(), 'hs-verify-'));
  const file = path.join(dir, 'verify.mjs');
  await writeFile(file, block!);
  try {
    const module = (await import(pathToFileURL(file).href)) as {
      verifyHubstreamSignature(header: string, body: string, secret: string): boolean;
    };
    return module.verifyHubstreamSignature;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('webhook settings with the private-address guard on (the separate roles)', () => {
  let h: Harness;
  beforeAll(async () => {
    // auto, outside pnpm start: the guard is on.
    h = await startControlPlane('postgres');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses a loopback or private webhook URL with 422 naming WEBHOOK_ALLOW_PRIVATE_ADDRESSES', async () => {
    const { token } = await signUp(h);
    const app = await createApp(h, token);
    for (const url of [
      'http://127.0.0.1:8080/auth',
      'http://localhost:8080/auth',
      'http://[::1]/auth',
      'http://10.1.2.3/auth',
      'http://169.254.169.254/latest/meta-data',
    ]) {
      const saved = await h.call('PUT', `/v1/apps/${app.id}/auth`, {
        token,
        body: { webhook: { enabled: true, url } },
      });
      expect(saved.status, url).toBe(422);
      expect(saved.body.error.code).toBe('INVALID_SETTINGS');
      expect(saved.body.error.message).toContain('WEBHOOK_ALLOW_PRIVATE_ADDRESSES=true');
      expect(saved.body.error.details[0]).toMatchObject({
        path: '/webhook/url',
        setting: 'WEBHOOK_ALLOW_PRIVATE_ADDRESSES',
        value: 'true',
      });
    }
    // Nothing was saved.
    const current = await h.call('GET', `/v1/apps/${app.id}/auth`, { token });
    expect(current.body.webhook).toMatchObject({ enabled: false, url: null });
    // A public address is fine.
    const ok = await h.call('PUT', `/v1/apps/${app.id}/auth`, {
      token,
      body: { webhook: { enabled: true, url: 'https://203.0.113.10/auth' } },
    });
    expect(ok.status).toBe(200);
  });
});

describe('webhook test button and signature (private addresses allowed)', () => {
  let h: Harness;
  let hook: Awaited<ReturnType<typeof startHook>>;
  beforeAll(async () => {
    h = await startControlPlane('postgres', { env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true' } });
    hook = await startHook();
  });
  afterAll(async () => {
    hook?.server.close();
    await h?.close();
  });

  it('shows the exact request it sent, which the README code verifies', async () => {
    const { token } = await signUp(h);
    const app = await createApp(h, token);
    const saved = await h.call('PUT', `/v1/apps/${app.id}/auth`, {
      token,
      body: { webhook: { enabled: true, url: hook.url, retryAttempts: 0 } },
    });
    expect(saved.status).toBe(200);
    const secret = saved.body.webhook.signingSecret as string;

    const tested = await h.call('POST', `/v1/apps/${app.id}/auth/webhook/test`, {
      token,
      body: { authData: { token: 'abc' } },
    });
    expect(tested.status).toBe(200);
    expect(tested.body.verdict).toBe('allowed');
    const shown = tested.body.request as {
      method: string;
      url: string;
      headers: Record<string, string>;
      body: string;
    };
    const received = hook.calls.at(-1)!;
    expect(shown.method).toBe('POST');
    expect(shown.url).toBe(hook.url);
    expect(shown.body).toBe(received.body);
    for (const [name, value] of Object.entries(shown.headers))
      expect(received.headers[name.toLowerCase()], name).toBe(value);
    expect(JSON.parse(shown.body)).toMatchObject({ authData: { token: 'abc' } });

    const verify = await readmeVerifier();
    const signature = received.headers['x-hubstream-signature'] as string;
    expect(verify(signature, received.body, secret)).toBe(true);
    expect(verify(signature, received.body.replace('abc', 'abd'), secret)).toBe(false);
    expect(verify(signature, received.body, `${secret}x`)).toBe(false);
    const old = signature.replace(/^t=\d+/, `t=${Math.floor(Date.now() / 1000) - 3600}`);
    expect(verify(old, received.body, secret)).toBe(false);
  });
});
