import { randomUUID } from 'node:crypto';
import {
  type ClusterBus,
  type ClusterChoice,
  type JobQueue,
  type NodeLifecycle,
  openClusterServices,
} from '@hubstream/cluster';
import { type Config, trustedProxies } from '@hubstream/config';
import type { Database } from '@hubstream/db';
import {
  commitsAsynchronously,
  LocalRecordStore,
  type PersistenceLag,
  type RecordStore,
  RedisRecordStore,
} from '@hubstream/records';
import { type Logger, lazySchemaController, registerHealthRoutes } from '@hubstream/service';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerFactory,
} from 'fastify';
import { withConsoleTap } from './console/extension.ts';
import { NodeConsoleTap, type TapRuntime } from './console/tap.ts';
import type { NodeServices } from './core/app-scope.ts';
import { NodeCounters } from './core/node-counters.ts';
import { nodeSettings } from './core/settings.ts';
import { registerGateway } from './gateway/websocket.ts';
import { HttpApiMetrics } from './http-api/metrics.ts';
import { registerHttpApi, type TokenSession } from './http-api/routes.ts';
import { defaultLimits } from './limits/app-limits.ts';
import { registerRealtimeMetrics } from './metrics.ts';
import { AppRegistry } from './runtime/app-registry.ts';
import { realtimeComposition } from './runtime/handlers.ts';

declare module 'fastify' {
  interface FastifyInstance {
    hubstream: {
      registry: AppRegistry;
      lifecycle: NodeLifecycle | undefined;
      /** How far Postgres is behind the records this node wrote (a metric). */
      persistenceLag(): Promise<PersistenceLag>;
      /** From now on /ready answers 503 (a drain has begun); clients are still served. */
      markDraining(): void;
    };
  }
}

export type RealtimeOptions = {
  config: Config;
  db: Database;
  bus: ClusterBus;
  logger: Logger;
  /** Where work for the worker goes (record persistence batches). */
  jobs: JobQueue;
  /**
   * Where the cluster's shared state lives, decided once by the caller
   * (@hubstream/cluster's ClusterChoice). `redis`: presence, records, RPC
   * providers and listeners live in that Redis (keys under `keyPrefix`),
   * and the node's registrations are under `bus.nodeId`; the caller closes
   * the connection. `local`: this node is the whole cluster and keeps all
   * of it in-process.
   */
  cluster: ClusterChoice;
  /** How the server faces the network (HTTPS/WSS): @hubstream/service's openServerTransport. */
  serverFactory?: FastifyServerFactory | undefined;
};

/**
 * Where the node's records live, by the node's one choice: the hot copy in
 * Redis behind a
 * compare-and-set when clustered (persistence batches go to `jobs`, which
 * must define the worker's persist-records job), in memory when alone.
 */
function recordStore(choice: ClusterChoice, options: RealtimeOptions, log: Logger): RecordStore {
  const asyncCommit = commitsAsynchronously(
    options.config.RECORD_WRITE_DURABILITY,
    options.db.kind,
  );
  switch (choice.kind) {
    case 'local':
      return new LocalRecordStore(options.db.sql, log, { asyncCommit });
    case 'redis':
      return new RedisRecordStore({
        asyncCommit,
        redis: choice.connection,
        keyPrefix: choice.keyPrefix,
        sql: options.db.sql,
        prisma: options.db.prisma,
        jobs: options.jobs,
        logger: log,
        nodeId: options.bus.nodeId,
      });
  }
}

/** A realtime node's server, not yet listening. */
export async function buildApp(options: RealtimeOptions): Promise<FastifyInstance> {
  const log = options.logger.child({ service: 'realtime' });
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // X-Forwarded-For/-Proto/-Host count only from TRUSTED_PROXIES.
    trustProxy: trustedProxies(options.config),
    ...(options.serverFactory ? { serverFactory: options.serverFactory } : {}),
    // Each route's schemas compile on its first request (start time).
    schemaController: lazySchemaController(),
  });
  const settings = nodeSettings(options.config);
  // Local or Redis, as the caller chose: the records and every cross-node service follow it.
  const choice = options.cluster;
  const records = recordStore(choice, options, log);
  const cluster = openClusterServices<TokenSession>(choice, {
    bus: options.bus,
    logger: log,
    heartbeatIntervalMs: options.config.NODE_HEARTBEAT_INTERVAL_MS,
    deadAfterMs: options.config.NODE_DEAD_AFTER_MS,
    httpTokens: {
      ttlMs: options.config.HTTP_API_TOKEN_TTL_MS,
      maxTokens: options.config.HTTP_API_MAX_TOKENS,
    },
  });
  const { presence, rpcProviders, listeners, rateLimiter, connectionCounts, lifecycle } = cluster;
  const node: NodeServices = {
    prisma: options.db.prisma,
    sql: options.db.sql,
    settings,
    log,
    records,
    bus: options.bus,
    presence,
    rpcProviders,
    listeners,
    rateLimiter,
    connectionCounts,
    limitDefaults: defaultLimits(options.config),
    counters: new NodeCounters(),
  };
  // The dashboard's live console watches the node's apps through this tap.
  const consoleTap = new NodeConsoleTap({
    bus: options.bus,
    runtimes: (): Promise<TapRuntime[]> => registry.loaded(),
  });
  app.addHook('onClose', async () => consoleTap.close());
  const registry = new AppRegistry(node, options.bus, {
    compose: withConsoleTap(realtimeComposition, consoleTap),
    freshnessCheckIntervalMs: freshnessCheckInterval(
      options.bus,
      options.db.kind,
      options.config.APP_FRESHNESS_CHECK_INTERVAL_MS,
    ),
  });
  // The node's state, for metrics and for tests that wait on it.
  let draining = false;
  app.decorate('hubstream', {
    registry,
    lifecycle,
    persistenceLag: () => records.persistenceLag(),
    markDraining: () => {
      draining = true;
    },
  });
  registerHealthRoutes(app, [
    { name: 'database', check: () => options.db.ping() },
    {
      name: 'drain',
      check: async () => {
        if (draining) throw new Error('the node is draining');
      },
    },
  ]);
  const httpApiMetrics = new HttpApiMetrics();
  registerRealtimeMetrics(app, {
    registry,
    httpApi: httpApiMetrics,
    counters: node.counters,
    bus: options.bus,
    persistenceLag: () => records.persistenceLag(),
    token: options.config.METRICS_TOKEN,
  });
  await registerGateway(app, registry, settings, node.counters);
  // deepstream's HTTP data API beside the WebSocket endpoint (same port and TLS).
  await registerHttpApi(app, {
    registry,
    prisma: options.db.prisma,
    config: options.config,
    tokens: cluster.httpTokens,
    metrics: httpApiMetrics,
  });
  app.addHook('preClose', async () => {
    await registry.close();
  });
  // Clustered: the node beats in the node registry while it listens.
  if (lifecycle) app.addHook('onListen', () => lifecycle.start());
  // Closing answers /ready and new upgrades with 503 from the start (fastify's
  // return503OnClosing); the preClose hooks close every client connection
  // with GOING_AWAY, which the official client answers by reconnecting.
  app.addHook('onClose', async () => {
    await records.close();
    // Leaves the node registry (clustered), then closes every registry.
    await cluster.close();
  });
  return app;
}

/**
 * How often the node compares its apps' config versions with the
 * database's (APP_FRESHNESS_CHECK_INTERVAL_MS), or 0: never. The check
 * repairs a change announcement lost on the way (a Redis subscription that
 * broke for a moment). `pnpm start` on its embedded database with no Redis
 * cannot lose one: the bus is in-process, and no other process can write to
 * the embedded database (its data directory is locked). There the check
 * would only be a query of that database on the event loop every few
 * seconds, which every app's clients wait for.
 */
export function freshnessCheckInterval(
  bus: Pick<ClusterBus, 'isClustered'>,
  databaseKind: Database['kind'],
  configuredMs: number,
): number {
  return !bus.isClustered && databaseKind !== 'postgres' ? 0 : configuredMs;
}
