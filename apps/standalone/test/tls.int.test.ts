import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { DeepstreamClient } from '@deepstream/client';
import { type Config, loadConfig, loadTestConfig } from '@hubstream/config';
import { createTestDatabase, type TestDatabase } from '@hubstream/db/testing';
import { createLogger } from '@hubstream/service';
import { fingerprint256, issueServerCertificate } from '@hubstream/service/certificates';
import {
  allowAllApp,
  request,
  runRoleUntilExit,
  servedFingerprint,
  startHubstream,
  startRole,
  trustingClient,
  until,
  writeTestCertificates,
} from '@hubstream/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Standalone, startStandalone } from '../src/index.ts';

// TLS in the servers themselves: the official client over wss:// trusting a
// test CA, TLS 1.2 as the minimum, certificates rotated under open
// connections, the control plane over https://, the refusal to serve
// plaintext on a non-loopback address, and `pnpm start`'s self-signed default.

const logger = createLogger({ level: 'silent', name: 'tls-test' });
const clients: DeepstreamClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

describe('both servers with TLS_CERT_FILE and TLS_KEY_FILE', { timeout: 60_000 }, () => {
  let dir: string;
  let testDb: TestDatabase;
  let hub: Standalone;
  let certs: Awaited<ReturnType<typeof writeTestCertificates>>;
  let config: Config;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hs-tls-'));
    certs = await writeTestCertificates(dir);
    testDb = await createTestDatabase('tls');
    config = loadConfig({
      DATABASE_URL: testDb.url,
      DATA_DIR: dir,
      HTTP_PORT: '0',
      REALTIME_PORT: '0',
      TLS_CERT_FILE: certs.certFile,
      TLS_KEY_FILE: certs.keyFile,
      TLS_RELOAD_INTERVAL_MS: '100',
      ACCOUNT_RATE_LIMIT_MAX: '1000',
    });
    hub = await startStandalone(config, logger);
  });
  afterAll(async () => {
    await hub?.stop();
    await testDb?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves the control plane over https:// and gives wss:// app URLs', async () => {
    expect(hub.controlPlaneUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(hub.realtimeUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    const health = await request(`${hub.controlPlaneUrl}/health`, { ca: certs.ca.cert });
    expect(health).toMatchObject({ status: 200, encrypted: true });
    // Without the CA the certificate is not trusted.
    await expect(request(`${hub.controlPlaneUrl}/health`)).rejects.toThrow(/certificate/);
    const app = await allowAllApp(hub.controlPlaneUrl, certs.ca.cert);
    // The default public URL, made wss:// by TLS. REALTIME_PORT is 0 here:
    // the URL names the port the node really listens on.
    expect(config.REALTIME_PORT).toBe(0);
    expect(app.url).toBe(`wss://localhost:${new URL(hub.realtimeUrl).port}/${app.id}`);
  });

  it('lets the official client run records, events and RPCs over wss:// trusting the test CA', async () => {
    const { id } = await allowAllApp(hub.controlPlaneUrl, certs.ca.cert);
    const url = `${hub.realtimeUrl.replace('127.0.0.1', 'localhost')}/${id}`;
    const [a, b] = [trustingClient(url, certs.ca.cert), trustingClient(url, certs.ca.cert)] as [
      DeepstreamClient,
      DeepstreamClient,
    ];
    clients.push(a, b);
    await Promise.all([a.login({}), b.login({})]);

    const record = a.record.getRecord('tls/record');
    await record.whenReady();
    await record.setWithAck({ secret: 'over tls' });
    const seen = b.record.getRecord('tls/record');
    await seen.whenReady();
    expect(seen.get()).toEqual({ secret: 'over tls' });

    const events: unknown[] = [];
    b.event.subscribe('tls/event', (data) => events.push(data));
    await until(async () => {
      a.event.emit('tls/event', 42);
      return events.length > 0 ? true : undefined;
    }, 'the event');
    expect(events[0]).toBe(42);

    b.rpc.provide('tls/double', (data, response) => response.send((data as number) * 2));
    const answer = await until(async () => {
      try {
        return await a.rpc.make('tls/double', 21);
      } catch {
        return undefined; // the provider's registration may still be on its way
      }
    }, 'the RPC');
    expect(answer).toBe(42);
  });

  it('refuses a client that offers only TLS 1.1 and accepts TLS 1.2', async () => {
    const { port } = new URL(hub.realtimeUrl);
    const old = tls.connect({
      host: '127.0.0.1',
      port: Number(port),
      ca: certs.ca.cert,
      servername: 'localhost',
      minVersion: 'TLSv1.1',
      maxVersion: 'TLSv1.1',
      // OpenSSL 3 would not even offer TLS 1.1 at its default security level.
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    const [error] = (await once(old, 'error')) as [NodeJS.ErrnoException];
    // The server's protocol_version alert, not a client-side refusal.
    expect(error.code).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    old.destroy();

    const modern = tls.connect({
      host: '127.0.0.1',
      port: Number(port),
      ca: certs.ca.cert,
      servername: 'localhost',
      maxVersion: 'TLSv1.2',
    });
    await once(modern, 'secureConnect');
    expect(modern.getProtocol()).toBe('TLSv1.2');
    modern.end();
  });

  it('serves a rotated certificate to new connections while open ones stay up', async () => {
    const { id } = await allowAllApp(hub.controlPlaneUrl, certs.ca.cert);
    const url = `${hub.realtimeUrl.replace('127.0.0.1', 'localhost')}/${id}`;
    const before = fingerprint256(await readFile(certs.certFile));
    expect(await servedFingerprint(hub.realtimeUrl, certs.ca.cert)).toBe(before);
    expect(await servedFingerprint(hub.controlPlaneUrl, certs.ca.cert)).toBe(before);

    // An open TLS connection and an open client, from before the rotation.
    const { port } = new URL(hub.realtimeUrl);
    const open = tls.connect({
      host: '127.0.0.1',
      port: Number(port),
      ca: certs.ca.cert,
      servername: 'localhost',
    });
    await once(open, 'secureConnect');
    const [a, b] = [trustingClient(url, certs.ca.cert), trustingClient(url, certs.ca.cert)] as [
      DeepstreamClient,
      DeepstreamClient,
    ];
    clients.push(a, b);
    await Promise.all([a.login({}), b.login({})]);

    // Rotation as a deployment does it: the key first, then the certificate.
    const next = await issueServerCertificate(certs.ca, { hosts: ['localhost', '127.0.0.1'] });
    await writeFile(certs.keyFile, next.key);
    await writeFile(certs.certFile, next.cert);
    const after = fingerprint256(next.cert);
    expect(after).not.toBe(before);
    await until(
      async () =>
        (await servedFingerprint(hub.realtimeUrl, certs.ca.cert)) === after ? true : undefined,
      'the new certificate',
    );
    await until(
      async () =>
        (await servedFingerprint(hub.controlPlaneUrl, certs.ca.cert)) === after ? true : undefined,
      'the new control plane certificate',
    );

    // The connections from before are still up, on the old certificate.
    expect(open.destroyed).toBe(false);
    expect(open.getPeerCertificate().fingerprint256).toBe(before);
    open.end();
    expect(a.getConnectionState()).toBe('OPEN');
    const events: unknown[] = [];
    b.event.subscribe('after/rotation', (data) => events.push(data));
    await until(async () => {
      a.event.emit('after/rotation', 'still here');
      return events.length > 0 ? true : undefined;
    }, 'an event after the rotation');
    // A new client connects with the new certificate.
    const late = trustingClient(url, certs.ca.cert);
    clients.push(late);
    await late.login({});
    expect(late.getConnectionState()).toBe('OPEN');
  });

  it('keeps the current certificate while the files do not make a pair', async () => {
    const served = await servedFingerprint(hub.realtimeUrl, certs.ca.cert);
    const other = await issueServerCertificate(certs.ca, { hosts: ['localhost'] });
    const cert = await readFile(certs.certFile, 'utf8');
    await writeFile(certs.keyFile, other.key); // the key of another certificate
    expect(await hub.tls.realtime.reload()).toBe(false);
    expect(await servedFingerprint(hub.realtimeUrl, certs.ca.cert)).toBe(served);
    await writeFile(certs.certFile, other.cert);
    expect(cert).not.toBe(other.cert);
    await until(
      async () =>
        (await servedFingerprint(hub.realtimeUrl, certs.ca.cert)) === fingerprint256(other.cert)
          ? true
          : undefined,
      'the completed rotation',
    );
  });
});

describe('the control plane and realtime role processes', { timeout: 120_000 }, () => {
  let dir: string;
  let testDb: TestDatabase;
  const stops: (() => Promise<unknown>)[] = [];
  const keyPrefix = `test:tls:${Date.now()}:`;
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    // The roles' Redis keys go with the test.
    const redis = new Redis(loadTestConfig().TEST_REDIS_URL);
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    await testDb?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serve only https:// and wss:// on 0.0.0.0 with a certificate', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hs-tls-roles-'));
    const certs = await writeTestCertificates(dir);
    testDb = await createTestDatabase('tlsroles');
    const env = {
      DATABASE_URL: testDb.url,
      REDIS_URL: loadTestConfig().TEST_REDIS_URL,
      REDIS_KEY_PREFIX: keyPrefix,
      HTTP_HOST: '0.0.0.0',
      REALTIME_HOST: '0.0.0.0',
      TLS_CERT_FILE: certs.certFile,
      TLS_KEY_FILE: certs.keyFile,
    };
    const controlPlane = startRole('control-plane', env);
    stops.push(() => controlPlane.stop());
    const cpUrl = await controlPlane.listening;
    expect(cpUrl).toMatch(/^https:\/\/0\.0\.0\.0:\d+$/);
    const realtime = startRole('realtime', env);
    stops.push(() => realtime.stop());
    const rtUrl = await realtime.listening;
    expect(rtUrl).toMatch(/^wss:\/\/0\.0\.0\.0:\d+$/);
    const cpBase = `https://localhost:${new URL(cpUrl).port}`;
    const rtBase = `wss://localhost:${new URL(rtUrl).port}`;

    const ca = certs.ca.cert;
    expect(await request(`${cpBase}/health`, { ca })).toMatchObject({
      status: 200,
      encrypted: true,
    });
    // Not loopback, no ALLOW_PLAINTEXT: the port speaks nothing but TLS.
    await expect(request(`${cpBase.replace('https', 'http')}/health`)).rejects.toThrow();
    await expect(request(`${rtBase.replace('wss', 'http')}/health`)).rejects.toThrow();

    const app = await allowAllApp(cpBase, ca);
    expect(app.url).toMatch(/^wss:\/\//);
    const [a, b] = [
      trustingClient(`${rtBase}/${app.id}`, ca),
      trustingClient(`${rtBase}/${app.id}`, ca),
    ] as [DeepstreamClient, DeepstreamClient];
    clients.push(a, b);
    await Promise.all([a.login({}), b.login({})]);
    const events: unknown[] = [];
    b.event.subscribe('roles/tls', (data) => events.push(data));
    await until(async () => {
      a.event.emit('roles/tls', 'across the role');
      return events.length > 0 ? true : undefined;
    }, 'the event');
  });
});

describe('secure by default', { timeout: 60_000 }, () => {
  it('refuses to serve plaintext on a non-loopback address, naming the settings, before it opens the database', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'hs-insecure-'));
    const config = loadConfig({
      HTTP_HOST: '0.0.0.0',
      HTTP_PORT: '0',
      REALTIME_PORT: '0',
      DATA_DIR: dataDir,
    });
    const error = await startStandalone(config, logger).then(
      () => new Error('started'),
      (e: Error) => e,
    );
    // No database was made in DATA_DIR (the control plane's thread refused first).
    expect(await readdir(dataDir)).not.toContain('pgdata');
    await rm(dataDir, { recursive: true, force: true });
    expect(error.name).toBe('InsecureListenError');
    expect(error.message).toContain('control plane');
    expect(error.message).toContain('0.0.0.0 (HTTP_HOST)');
    for (const setting of ['TLS_CERT_FILE', 'TLS_TERMINATED_BY_PROXY=true', 'ALLOW_PLAINTEXT=true'])
      expect(error.message).toContain(setting);
  });

  it('stops a realtime node process on 0.0.0.0 without TLS, proxy or plaintext opt-in', async () => {
    // It refuses before it opens the database or Redis.
    const exited = await runRoleUntilExit('realtime', {
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/unused',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REALTIME_HOST: '0.0.0.0',
    });
    expect(exited.code).toBe(1);
    expect(exited.stdout).toContain('realtime node would serve unencrypted');
    expect(exited.stdout).toContain('(REALTIME_HOST)');
    expect(exited.stdout).toContain('TLS_TERMINATED_BY_PROXY=true');
  });
});

describe('pnpm start on a fresh machine', { timeout: 180_000 }, () => {
  let dataDir: string;
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('makes a self-signed CA and certificate once, gives wss:// app URLs, and answers plaintext too', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'hs-fresh-'));
    const hub = await startHubstream({ DATA_DIR: dataDir, TLS_SELF_SIGNED: 'auto' });
    try {
      const tlsLog = hub.logs.find(
        (entry) => entry.tls && (entry.tls as { selfSigned?: boolean }).selfSigned,
      );
      const info = tlsLog?.tls as {
        caFile: string;
        certFile: string;
        fingerprint256: string;
        created: boolean;
      };
      expect(info.created).toBe(true);
      expect(info.caFile).toBe(path.join(dataDir, 'tls', 'ca.pem'));
      expect(String(tlsLog?.msg)).toContain(info.fingerprint256);
      expect(info.fingerprint256).toBe(fingerprint256(await readFile(info.certFile)));
      const ca = await readFile(info.caFile, 'utf8');

      expect(hub.realtimeUrl).toMatch(/^wss:\/\//);
      expect(hub.controlPlaneUrl).toMatch(/^https:\/\//);
      // Plain http:// on the same port, for local development.
      const plainBase = hub.controlPlaneUrl.replace(/^https/, 'http');
      expect(await request(`${plainBase}/health`)).toMatchObject({ status: 200, encrypted: false });
      expect(await request(`${hub.controlPlaneUrl}/health`, { ca })).toMatchObject({
        status: 200,
        encrypted: true,
      });
      const app = await allowAllApp(plainBase);
      expect(app.url).toMatch(/^wss:\/\/localhost:\d+\//);

      // The app URL's wss:// works for a client that trusts the printed CA,
      // and plain ws:// answers on the same port.
      const wssUrl = `${hub.realtimeUrl.replace('127.0.0.1', 'localhost')}/${app.id}`;
      const secure = trustingClient(wssUrl, ca);
      const plain = trustingClient(`${wssUrl.replace(/^wss/, 'ws')}`, ca);
      clients.push(secure, plain);
      await Promise.all([secure.login({}), plain.login({})]);
      const events: unknown[] = [];
      plain.event.subscribe('fresh', (data) => events.push(data));
      await until(async () => {
        secure.event.emit('fresh', 'hello');
        return events.length > 0 ? true : undefined;
      }, 'the event');
    } finally {
      for (const client of clients.splice(0)) client.close();
      expect(await hub.stop()).toBe(0);
    }

    // The next start reuses the pair: a CA trusted once stays trusted.
    const again = await startHubstream({ DATA_DIR: dataDir, TLS_SELF_SIGNED: 'auto' });
    try {
      const tlsLog = again.logs.find(
        (entry) => entry.tls && (entry.tls as { selfSigned?: boolean }).selfSigned,
      );
      expect(tlsLog?.tls).toMatchObject({ created: false });
    } finally {
      await again.stop();
    }
  });
});
