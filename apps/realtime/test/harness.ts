import type { DeepstreamClient } from '@deepstream/client';

type JSONObject = Parameters<DeepstreamClient['login']>[0] & object;

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { type ClusterBus, InlineJobQueue, LocalBus, RedisBus } from '@hubstream/cluster';
import { loadConfig, loadTestConfig } from '@hubstream/config';
import { type Database, openDatabase } from '@hubstream/db';
import { createTestDatabase, type TestDatabase } from '@hubstream/db/testing';
import { createLogger, type Logger } from '@hubstream/service';
import { ALLOW_ALL, api, Clients } from '@hubstream/testing';
import { buildControlPlane, injectTransport, workerJobDefinitions } from '@hubstream/testing/apps';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from '../src/index.ts';
import type { AppRuntime } from '../src/runtime/app-runtime.ts';

// A control plane and a realtime node on one fresh database and one bus, on
// real sockets (the control plane and the worker's jobs come from
// @hubstream/testing/apps: no app imports another). Apps are configured through the control plane's HTTP API;
// clients are the official @deepstream/client.

export { ALLOW_ALL };

export type Stack = {
  db: Database;
  /** The stack's own database, for processes started beside it. */
  databaseUrl: string;
  /** The Redis the stack uses (`redis` stacks) and its key prefix. */
  redisUrl: string;
  keyPrefix: string;
  controlPlaneUrl: string;
  realtimeUrl: string;
  token: string;
  /** Calls the control plane as the test's developer. */
  // biome-ignore lint/suspicious/noExplicitAny: replies are asserted field by field
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /**
   * A new app with the given rules (allow-all by default) and auth settings.
   * `namedUsers`: a login with `{ username }` is the user of exactly that id
   * (authenticated, through the stack's own echo webhook), for tests whose
   * rules or presence name users; open auth would make it `open:<username>`.
   */
  createApp(options?: {
    permissions?: string;
    auth?: Record<string, unknown>;
    namedUsers?: boolean;
  }): Promise<string>;
  /** A logged-in official client (open auth by default), on node `options.node` (default 0). */
  client(appId: string, authData?: JSONObject, options?: ClientOptions): Promise<DeepstreamClient>;
  /** A client that has not logged in yet. */
  rawClient(appId: string, options?: ClientOptions): DeepstreamClient;
  /** The URL of realtime node `index`. */
  nodeUrl(index: number): string;
  /** Realtime node `index` itself (its lifecycle, its server). */
  node(index: number): FastifyInstance;
  /** A node's runtime of an app (loaded by a client's connection). */
  runtime(appId: string, node?: number): Promise<AppRuntime | null>;
  /** Stops a realtime node and starts a new one on the same port and database. */
  restartRealtime(node?: number): Promise<void>;
  close(): Promise<void>;
};

const portOf = (server: FastifyInstance) => {
  const address = server.server.address();
  return typeof address === 'object' && address ? address.port : 0;
};

/** The official client's options, plus which node to connect to. */
export type ClientOptions = { node?: number } & Record<string, unknown>;

export type StackOptions = {
  env?: Record<string, string>;
  /** Realtime nodes (default 1). More than one needs `redis`. */
  nodes?: number;
  /** A RedisBus per process (own connections, one key prefix per stack) instead of one LocalBus. */
  redis?: boolean;
  /** The Redis of a `redis` stack (default TEST_REDIS_URL), e.g. one a fault test restarts. */
  redisUrl?: string;
  /** The servers' logger (default: silent). */
  logger?: Logger;
};

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const testDb: TestDatabase = await createTestDatabase('rt');
  const db = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 10 });
  await db.migrate();
  const config = loadConfig({
    ACCOUNT_RATE_LIMIT_MAX: '1000',
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true',
    ...options.env,
  });
  const logger = options.logger ?? createLogger({ level: 'silent', name: 'test' });
  const keyPrefix = `test:${randomBytes(4).toString('hex')}:`;
  const redisUrl = options.redisUrl ?? loadTestConfig().TEST_REDIS_URL;
  const buses: ClusterBus[] = [];
  const makeBus = async (nodeId: string): Promise<ClusterBus> => {
    if (!options.redis) {
      if (buses[0]) return buses[0];
      const local = new LocalBus({ nodeId });
      buses.push(local);
      return local;
    }
    const bus = new RedisBus({ nodeId, url: redisUrl, keyPrefix });
    await bus.ready();
    buses.push(bus);
    return bus;
  };
  const jobs = new InlineJobQueue([], logger);
  const controlPlane = await buildControlPlane({
    config,
    db,
    bus: await makeBus('control-plane'),
    jobs,
    logger,
    // The data browser's record routes reach node 0 (built below) in-process.
    realtimeData: injectTransport(() => nodes[0]),
  });
  await controlPlane.listen({ host: '127.0.0.1', port: 0 });
  const redisConnections: Redis[] = [];
  // The nodes' queue runs the worker's jobs here (record persistence
  // batches), on the stack's key prefix and a connection of its own.
  const jobsRedis = options.redis ? new Redis(redisUrl) : undefined;
  jobsRedis?.on('error', () => {});
  if (jobsRedis) redisConnections.push(jobsRedis);
  const nodeJobs = new InlineJobQueue(
    workerJobDefinitions({
      config: { ...config, REDIS_KEY_PREFIX: keyPrefix },
      logger,
      prisma: db.prisma,
      ...(jobsRedis ? { redis: jobsRedis } : {}),
    }),
    logger,
  );
  const startNode = async (index: number, port = 0) => {
    const nodeId = `node-${index}-${randomBytes(2).toString('hex')}`;
    let redis: Redis | undefined;
    if (options.redis) {
      redis = new Redis(redisUrl);
      // ioredis retries on its own; a fault test may restart Redis under it.
      redis.on('error', () => {});
      redisConnections.push(redis);
    }
    const node = await buildApp({
      config,
      db,
      bus: await makeBus(nodeId),
      jobs: nodeJobs,
      logger,
      cluster: redis ? { kind: 'redis', connection: redis, keyPrefix } : { kind: 'local' },
    });
    await node.listen({ host: '127.0.0.1', port });
    return node;
  };
  const nodes: FastifyInstance[] = [];
  for (let i = 0; i < (options.nodes ?? 1); i++) nodes.push(await startNode(i));
  const controlPlaneUrl = `http://127.0.0.1:${portOf(controlPlane)}`;
  const clients = new Clients({ maxReconnectAttempts: 3, reconnectIntervalIncrement: 200 });

  const call = (method: string, path: string, body: unknown, token?: string) =>
    api(controlPlaneUrl, method, path, { body, ...(token ? { token } : {}) });
  const echo = await startEchoWebhook();
  const echoUrl = echo.url;

  const signup = await call('POST', '/v1/signup', {
    email: `dev-${Date.now()}-${Math.random()}@example.com`,
    password: 'correct horse battery',
  });
  const token = signup.body.token as string;

  const stack: Stack = {
    db,
    databaseUrl: testDb.url,
    redisUrl,
    keyPrefix,
    controlPlaneUrl,
    get realtimeUrl() {
      return stack.nodeUrl(0);
    },
    nodeUrl: (index) => `ws://127.0.0.1:${portOf(nodes[index]!)}`,
    token,
    api: (method, path, body) => call(method, path, body, token),
    async createApp({ permissions = ALLOW_ALL, auth: given, namedUsers = false } = {}) {
      const auth = namedUsers
        ? {
            ...given,
            webhook: {
              enabled: true,
              url: echoUrl,
              retryAttempts: 0,
              ...(given?.webhook as object | undefined),
            },
          }
        : given;
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
    rawClient(appId, { node = 0, ...clientOptions }: ClientOptions = {}) {
      return clients.open(`${stack.nodeUrl(node)}/${appId}`, clientOptions);
    },
    async client(appId, authData = {}, clientOptions = {}) {
      const client = stack.rawClient(appId, clientOptions);
      await client.login(authData);
      return client;
    },
    node: (index) => nodes[index]!,
    runtime: (appId, node = 0) => nodes[node]!.hubstream.registry.get(appId),
    async restartRealtime(node = 0) {
      const port = portOf(nodes[node]!);
      await nodes[node]!.close();
      nodes[node] = await startNode(node, port);
    },
    async close() {
      clients.closeAll();
      for (const node of nodes) await node.close();
      echo.close();
      await controlPlane.close();
      await jobs.close();
      await nodeJobs.close();
      for (const bus of buses) await bus.close();
      for (const redis of redisConnections) await redis.quit();
      await db.close();
      await testDb.drop();
    },
  };
  return stack;
}

/**
 * The echo webhook of `namedUsers` apps: a login with `{ username }` is the
 * user of that id, any other is refused.
 */
export async function startEchoWebhook(): Promise<{ url: string; close(): void }> {
  const echo = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const { authData } = JSON.parse(body) as { authData: Record<string, unknown> };
      const ok = typeof authData.username === 'string' && authData.username.length > 0;
      response.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      response.end(JSON.stringify(ok ? { id: authData.username } : {}));
    });
  });
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const address = echo.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/echo`,
    close() {
      // Not awaited: a webhook client's kept-alive socket would hold close() open.
      echo.close();
      echo.closeAllConnections();
    },
  };
}

/** Resolves with the next value the callback receives. */
export function nextValue<T>(register: (callback: (value: T) => void) => void): Promise<T> {
  return new Promise((resolve) => register(resolve));
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
