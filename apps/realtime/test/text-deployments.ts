import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '@hubstream/config';
import { createTestDatabase, type TestDatabase } from '@hubstream/db/testing';
import { createLogger } from '@hubstream/service';
import { request, writeTestCertificates } from '@hubstream/testing';
import { type Standalone, startStandalone } from '@hubstream/testing/apps';
import { ALLOW_ALL, startEchoWebhook, startStack } from './harness.ts';
import { type V2, v2Connect } from './text-client.ts';

// The deployments the 2.x feature tests run against (issue 19's "Done
// when"): Hubstream as `pnpm start` runs it, and two realtime nodes over
// Redis with a test's clients spread across them.

/** Hubstream as `pnpm start` runs it: apps/standalone in this process, over TLS. */
export type TextStandalone = {
  hub: Standalone;
  /** The test CA the certificate is issued by. */
  ca: string;
  /** The realtime URL by the name the certificate holds (localhost). */
  base: string;
  /** What the 2.x client needs to trust the certificate. */
  tls: Record<string, unknown>;
  stop(): Promise<void>;
};

/**
 * Starts the standalone (on the test Postgres rather than PGlite, to start
 * quickly) with a test certificate; `env` adds settings.
 */
export async function startTextStandalone(
  env: Record<string, string> = {},
): Promise<TextStandalone> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hs-text-'));
  let testDb: TestDatabase | undefined;
  try {
    const certs = await writeTestCertificates(dir);
    testDb = await createTestDatabase('text');
    const config = loadConfig({
      DATABASE_URL: testDb.url,
      DATA_DIR: dir,
      HTTP_PORT: '0',
      REALTIME_PORT: '0',
      TLS_CERT_FILE: certs.certFile,
      TLS_KEY_FILE: certs.keyFile,
      ...env,
    });
    const hub = await startStandalone(config, createLogger({ level: 'silent', name: 'text-test' }));
    const ca = certs.ca.cert;
    const db = testDb;
    return {
      hub,
      ca,
      base: hub.realtimeUrl.replace('127.0.0.1', 'localhost'),
      tls: { nodeSocketOptions: { ca } },
      async stop() {
        try {
          await hub.stop();
        } finally {
          await db.drop();
          await rm(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await testDb?.drop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

export type AppOptions = { permissions?: string; namedUsers?: boolean };

/** One deployment as the 2.x feature tests see it. */
export type TextDeployment = {
  /** A new app with these rules (allow-all by default); `namedUsers` as in the harness' createApp. */
  createApp(options?: AppOptions): Promise<string>;
  /**
   * A logged-in 2.x client of the app, the `index`-th of its test: on two
   * nodes, even ones on node 0 and odd ones on node 1, so that what the
   * first client does reaches the second across nodes.
   */
  connect(appId: string, authParams?: object, index?: number): Promise<V2>;
  close(): Promise<void>;
};

export const DEPLOYMENTS = ['pnpm start', 'two nodes over Redis'] as const;
export type DeploymentName = (typeof DEPLOYMENTS)[number];

/** Starts a deployment; `env` adds the realtime node's settings. */
export async function startDeployment(
  name: DeploymentName,
  env: Record<string, string> = {},
): Promise<TextDeployment> {
  if (name === 'two nodes over Redis') {
    const stack = await startStack({ redis: true, nodes: 2, env });
    return {
      createApp: (options) => stack.createApp(options),
      connect: (appId, authParams = {}, index = 0) =>
        v2Connect(`${stack.nodeUrl(index % 2)}/${appId}`, authParams),
      close: () => stack.close(),
    };
  }
  const echo = await startEchoWebhook();
  let standalone: TextStandalone;
  try {
    standalone = await startTextStandalone({
      ...env,
      ACCOUNT_RATE_LIMIT_MAX: '1000',
      WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true',
    });
  } catch (error) {
    echo.close();
    throw error;
  }
  const { hub, ca, base, tls } = standalone;
  const call = async (method: string, route: string, body: unknown, token?: string) => {
    const reply = await request(`${hub.controlPlaneUrl}${route}`, {
      ca,
      method,
      body,
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    });
    if (reply.status >= 300) throw new Error(`${method} ${route}: ${JSON.stringify(reply)}`);
    return reply.body as Record<string, unknown>;
  };
  const signup = await call('POST', '/v1/signup', {
    email: `text-${Date.now()}-${Math.random()}@example.com`,
    password: 'correct horse battery',
  });
  const token = signup.token as string;
  return {
    async createApp({ permissions = ALLOW_ALL, namedUsers = false } = {}) {
      const app = await call('POST', '/v1/apps', { name: 'text app' }, token);
      const id = app.id as string;
      await call('PUT', `/v1/apps/${id}/permissions`, { valve: permissions }, token);
      if (namedUsers) {
        const webhook = { enabled: true, url: echo.url, retryAttempts: 0 };
        await call('PUT', `/v1/apps/${id}/auth`, { webhook }, token);
      }
      return id;
    },
    connect: (appId, authParams = {}) => v2Connect(`${base}/${appId}`, authParams, tls),
    async close() {
      try {
        await standalone.stop();
      } finally {
        echo.close();
      }
    },
  };
}
