import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '@hubstream/config';
import { createLogger, resolveSelfSigned } from '@hubstream/service';
import { TEMPLATE_NAMES, TEMPLATES } from '@hubstream/valve';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificatesOnly } from '../src/routes/local-setup/routes.ts';
import { type Harness, signUp, startControlPlane } from './harness.ts';

// Issue 13's first run, as the API sees it: apps created from a starter
// template, the local CA to trust, and the client bundle for <script> tags.

describe('starter templates on app creation', () => {
  let h: Harness;
  let token: string;
  beforeAll(async () => {
    h = await startControlPlane('pglite');
    token = (await signUp(h)).token;
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each(TEMPLATE_NAMES)(
    'creates an app whose active version 1 is the %s template',
    async (name) => {
      const created = await h.call('POST', '/v1/apps', {
        token,
        body: { name: 'T', template: name },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        activePermissionVersion: 1,
        activePermissionTemplate: name,
      });
      const id = created.body.id as string;
      const active = await h.call('GET', `/v1/apps/${id}/permissions`, { token });
      expect(active.body).toMatchObject({
        version: 1,
        template: name,
        active: true,
        format: 'yaml',
      });
      expect(active.body.valve).toBe(TEMPLATES[name].valve);
      const versions = await h.call('GET', `/v1/apps/${id}/permissions/versions`, { token });
      expect(versions.body.versions).toEqual([
        expect.objectContaining({ version: 1, template: name }),
      ]);
      expect((await h.call('GET', `/v1/apps/${id}`, { token })).body.activePermissionTemplate).toBe(
        name,
      );
      const audit = await h.call('GET', `/v1/apps/${id}/audit`, { token });
      expect(audit.body.events.map((e: { action: string }) => e.action)).toEqual(
        expect.arrayContaining(['app.created', 'permissions.published']),
      );
    },
  );

  it('keeps the default fail-closed: no template, no rules', async () => {
    const created = await h.call('POST', '/v1/apps', { token, body: { name: 'Bare' } });
    expect(created.body).toMatchObject({
      activePermissionVersion: null,
      activePermissionTemplate: null,
    });
    const active = await h.call('GET', `/v1/apps/${created.body.id}/permissions`, { token });
    expect(active.status).toBe(404);
  });

  it('refuses an unknown template and creates nothing', async () => {
    const before = (await h.call('GET', '/v1/apps', { token })).body.apps.length;
    const res = await h.call('POST', '/v1/apps', { token, body: { name: 'X', template: 'open' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect((await h.call('GET', '/v1/apps', { token })).body.apps.length).toBe(before);
    // Renaming takes no template.
    const app = (await h.call('POST', '/v1/apps', { token, body: { name: 'Y' } })).body;
    const rename = await h.call('PATCH', `/v1/apps/${app.id}`, {
      token,
      body: { name: 'Z', template: 'locked' },
    });
    expect(rename.status).toBe(400);
  });

  it('forgets the template once a version written by hand is active', async () => {
    const app = (
      await h.call('POST', '/v1/apps', { token, body: { name: 'D', template: 'development' } })
    ).body;
    const upload = await h.call('PUT', `/v1/apps/${app.id}/permissions`, {
      token,
      body: { valve: TEMPLATES.locked.valve },
    });
    expect(upload.body).toEqual({ version: 2 });
    const now = (await h.call('GET', `/v1/apps/${app.id}`, { token })).body;
    expect(now).toMatchObject({ activePermissionVersion: 2, activePermissionTemplate: null });
    // Rolling back to version 1 brings the template (and the dashboard's warning) back.
    await h.call('POST', `/v1/apps/${app.id}/permissions/versions/1/activate`, { token });
    expect((await h.call('GET', `/v1/apps/${app.id}`, { token })).body).toMatchObject({
      activePermissionTemplate: 'development',
    });
  });

  it('serves the official client bundle for <script> tags', async () => {
    const res = await fetch(`${h.url}/sdk/deepstream-client.min.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/javascript');
    expect(await res.text()).toContain('DeepstreamClient');
  });

  it('says there is no local CA when the server does not use one', async () => {
    expect((await h.call('GET', '/v1/local-ca', { token })).body).toEqual({
      selfSigned: false,
      caUrl: null,
      caFile: null,
      fingerprint256: null,
    });
    expect((await h.call('GET', '/v1/local-ca/ca.pem')).status).toBe(404);
  });
});

describe('the local CA', () => {
  let dataDir: string;
  let h: Harness;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'hs-cp-ca-'));
    // The config as `pnpm start` hands it to the servers: the pair made in DATA_DIR/tls.
    const resolved = await resolveSelfSigned(
      loadConfig({ DATA_DIR: dataDir, TLS_SELF_SIGNED: 'true' }),
      {
        standalone: true,
        hosts: ['127.0.0.1'],
        logger: createLogger({ level: 'silent', name: 'test' }),
      },
    );
    h = await startControlPlane('pglite', {
      env: {
        DATA_DIR: dataDir,
        TLS_SELF_SIGNED: 'true',
        TLS_CERT_FILE: resolved.TLS_CERT_FILE ?? '',
        TLS_KEY_FILE: resolved.TLS_KEY_FILE ?? '',
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('names the CA to trust, and serves its certificate only, never a key', async () => {
    expect((await h.call('GET', '/v1/local-ca')).status).toBe(401);
    const { token } = await signUp(h);
    const info = await h.call('GET', '/v1/local-ca', { token });
    expect(info.body).toEqual({
      selfSigned: true,
      caUrl: '/v1/local-ca/ca.pem',
      caFile: path.join(dataDir, 'tls', 'ca.pem'),
      fingerprint256: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/),
    });
    // Public: a browser downloads it without signing in.
    const res = await fetch(`${h.url}/v1/local-ca/ca.pem`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain('hubstream-local-ca.pem');
    const pem = await res.text();
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
    expect(pem).not.toContain('PRIVATE KEY');

    // Were a key ever put into ca.pem, it is still not sent.
    const caFile = path.join(dataDir, 'tls', 'ca.pem');
    const key = await readFile(path.join(dataDir, 'tls', 'ca-key.pem'), 'utf8');
    await writeFile(caFile, `${pem}${key}`);
    const again = await (await fetch(`${h.url}/v1/local-ca/ca.pem`)).text();
    expect(again).toBe(pem);
    expect(certificatesOnly(key)).toBeNull();
  });
});
