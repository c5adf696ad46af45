import { DeepstreamClient } from '@deepstream/client';

type JSONObject = Parameters<DeepstreamClient['login']>[0] & object;

import { InlineJobQueue, LocalBus } from '@hubstream/cluster';
import { loadConfig } from '@hubstream/config';
import { buildApp as buildControlPlane } from '@hubstream/control-plane';
import { type Database, openDatabase } from '@hubstream/db';
import { createTestDatabase, type TestDatabase } from '@hubstream/db/testing';
import { createLogger } from '@hubstream/service';
import type { FastifyInstance } from 'fastify';
import type { AppRuntime } from '../src/core/app-runtime.ts';
import { buildApp } from '../src/index.ts';

// A control plane and a realtime node on one fresh database and one bus, on
// real sockets. Apps are configured through the control plane's HTTP API;
// clients are the official @deepstream/client.

export const ALLOW_ALL = `record:\n  "*":\n    create: true\n    read: true\n    write: true\n    delete: true\n    listen: true\n    notify: true\nevent:\n  "*":\n    publish: true\n    subscribe: true\n    listen: true\nrpc:\n  "*":\n    provide: true\n    request: true\npresence:\n  "*":\n    allow: true\n`;

export type Stack = {
  db: Database;
  controlPlaneUrl: string;
  realtimeUrl: string;
  token: string;
  /** Calls the control plane as the test's developer. */
  // biome-ignore lint/suspicious/noExplicitAny: replies are asserted field by field
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** A new app with the given rules (allow-all by default) and auth settings. */
  createApp(options?: { permissions?: string; auth?: unknown }): Promise<string>;
  /** A logged-in official client (open auth by default). */
  client(appId: string, authData?: JSONObject, options?: object): Promise<DeepstreamClient>;
  /** A client that has not logged in yet. */
  rawClient(appId: string, options?: object): DeepstreamClient;
  /** The node's runtime of an app (loaded by a client's connection). */
  runtime(appId: string): Promise<AppRuntime | null>;
  /** Stops the realtime node and starts a new one on the same database. */
  restartRealtime(): Promise<void>;
  close(): Promise<void>;
};

const portOf = (server: FastifyInstance) => {
  const address = server.server.address();
  return typeof address === 'object' && address ? address.port : 0;
};

export async function startStack(options: { env?: Record<string, string> } = {}): Promise<Stack> {
  const testDb: TestDatabase = await createTestDatabase('rt');
  const db = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 10 });
  await db.migrate();
  const config = loadConfig({
    ACCOUNT_RATE_LIMIT_MAX: '1000',
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true',
    ...options.env,
  });
  const logger = createLogger({ level: 'silent', name: 'test' });
  const bus = new LocalBus({ nodeId: 'test' });
  const jobs = new InlineJobQueue([], logger);
  const controlPlane = await buildControlPlane({ config, db, bus, jobs, logger });
  await controlPlane.listen({ host: '127.0.0.1', port: 0 });
  let realtime = await buildApp({ config, db, bus, logger });
  await realtime.listen({ host: '127.0.0.1', port: 0 });
  const controlPlaneUrl = `http://127.0.0.1:${portOf(controlPlane)}`;
  const clients = new Set<DeepstreamClient>();

  const call = async (method: string, path: string, body: unknown, token?: string) => {
    const response = await fetch(`${controlPlaneUrl}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
  const signup = await call('POST', '/v1/signup', {
    email: `dev-${Date.now()}-${Math.random()}@example.com`,
    password: 'correct horse battery',
  });
  const token = signup.body.token as string;

  const stack: Stack = {
    db,
    controlPlaneUrl,
    get realtimeUrl() {
      return `ws://127.0.0.1:${portOf(realtime)}`;
    },
    token,
    api: (method, path, body) => call(method, path, body, token),
    async createApp({ permissions = ALLOW_ALL, auth } = {}) {
      const app = await call('POST', '/v1/apps', { name: 'test app' }, token);
      if (app.status !== 201) throw new Error(JSON.stringify(app.body));
      const rules = await call(
        'PUT',
        `/v1/apps/${app.body.id}/permissions`,
        { valve: permissions },
        token,
      );
      if (rules.status !== 200) throw new Error(JSON.stringify(rules.body));
      if (auth) {
        const settings = await call('PUT', `/v1/apps/${app.body.id}/auth`, auth, token);
        if (settings.status !== 200) throw new Error(JSON.stringify(settings.body));
      }
      return app.body.id as string;
    },
    rawClient(appId, clientOptions = {}) {
      const client = new DeepstreamClient(`${stack.realtimeUrl}/${appId}`, {
        maxReconnectAttempts: 3,
        reconnectIntervalIncrement: 200,
        ...clientOptions,
      });
      client.on('error', () => {});
      clients.add(client);
      return client;
    },
    async client(appId, authData = {}, clientOptions = {}) {
      const client = stack.rawClient(appId, clientOptions);
      await client.login(authData);
      return client;
    },
    runtime: (appId) => realtime.hubstream.registry.get(appId),
    async restartRealtime() {
      const port = portOf(realtime);
      await realtime.close();
      realtime = await buildApp({ config, db, bus, logger });
      await realtime.listen({ host: '127.0.0.1', port });
    },
    async close() {
      for (const client of clients) client.close();
      await realtime.close();
      await controlPlane.close();
      await jobs.close();
      await bus.close();
      await db.close();
      await testDb.drop();
    },
  };
  return stack;
}

/** Resolves with the next value the callback receives. */
export function nextValue<T>(register: (callback: (value: T) => void) => void): Promise<T> {
  return new Promise((resolve) => register(resolve));
}

/**
 * Waits until the node's state satisfies the condition (e.g. a batched
 * subscription arrived). Polls the in-process state; fails after 5 s.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export type ClientError = { event: string; topic: string; meta: unknown };

/** Resolves with the next error the client reports with this event name (e.g. MESSAGE_DENIED). */
export function nextError(client: DeepstreamClient, event: string): Promise<ClientError> {
  return new Promise((resolve) => {
    const onError = (meta: unknown, name: string, topic: string) => {
      if (name !== event) return;
      client.off('error', onError);
      resolve({ event: name, topic, meta });
    };
    client.on('error', onError);
  });
}
