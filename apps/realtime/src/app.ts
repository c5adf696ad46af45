import { randomUUID } from 'node:crypto';
import {
  type ClusterBus,
  type JobQueue,
  type ListenerRegistry,
  LocalListenerRegistry,
  LocalPresenceRegistry,
  LocalRateLimiter,
  LocalRpcProviderRegistry,
  type NodeOwnedState,
  type PresenceRegistry,
  type RateLimiter,
  RedisListenerRegistry,
  RedisNodeRegistry,
  RedisPresenceRegistry,
  RedisRateLimiter,
  RedisRpcProviderRegistry,
  type RpcProviderRegistry,
} from '@hubstream/cluster';
import { type Config, trustedProxies } from '@hubstream/config';
import type { Database } from '@hubstream/db';
import { type Logger, lazySchemaController, registerHealthRoutes } from '@hubstream/service';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerFactory,
} from 'fastify';
import type { Redis } from 'ioredis';
import { NodeLifecycle } from './cluster/node-lifecycle.ts';
import { AppRegistry } from './runtime/app-registry.ts';
import type { NodeServices } from './runtime/app-runtime.ts';
import { NodeCounters } from './core/node-counters.ts';
import { nodeSettings } from './core/settings.ts';
import { registerGateway } from './gateway/websocket.ts';
import { HttpApiMetrics } from './http-api/metrics.ts';
import { registerHttpApi } from './http-api/routes.ts';
import { defaultLimits } from './limits/app-limits.ts';
import {
  type ConnectionCounter,
  LocalConnectionCounter,
  RedisConnectionCounter,
} from './limits/connection-counter.ts';
import { registerRealtimeMetrics } from './metrics.ts';
import { commitsAsynchronously, LocalRecordStore } from './records/local-record-store.ts';
import type { PersistenceLag, RecordStore } from './records/record-store.ts';
import { RedisRecordStore } from './records/redis-record-store.ts';

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
   * The cluster's shared state. Set: presence, records, RPC providers and
   * listeners live in this Redis (keys under `keyPrefix`), and the node's
   * registrations are under `bus.nodeId`. Unset: this node is the whole
   * cluster and keeps all of it in-process. The caller closes the connection.
   */
  redis?: { connection: Redis; keyPrefix: string };
  /** How the server faces the network (HTTPS/WSS): @hubstream/service's openServerTransport. */
  serverFactory?: FastifyServerFactory | undefined;
};

type ClusterState = {
  presence: PresenceRegistry;
  rpcProviders: RpcProviderRegistry;
  listeners: ListenerRegistry;
  /**
   * Every registry in which this node holds registrations: a node that finds
   * another dead removes that node's share from each (then announces
   * 'node.dead'); a node found wrongly dead restores its own. A registry
   * joins the node lifecycle by being listed here.
   */
  owned: NodeOwnedState[];
  /** Per-app message and cross-reference rates. */
  rateLimiter: RateLimiter;
  /** Per-app open connections (a count per node, so a dead node's share can go). */
  connectionCounts: ConnectionCounter;
};

/** The cross-node state of one node: in Redis when clustered, in-process when alone. */
function clusterState(options: RealtimeOptions): ClusterState {
  const { redis, bus } = options;
  if (!redis) {
    const rpcProviders = new LocalRpcProviderRegistry({ nodeId: bus.nodeId });
    const listeners = new LocalListenerRegistry({ nodeId: bus.nodeId });
    return {
      presence: new LocalPresenceRegistry(),
      rpcProviders,
      listeners,
      owned: [],
      rateLimiter: new LocalRateLimiter(),
      connectionCounts: new LocalConnectionCounter(),
    };
  }
  const shared = { redis: redis.connection, nodeId: bus.nodeId, keyPrefix: redis.keyPrefix };
  const presence = new RedisPresenceRegistry(shared);
  const rpcProviders = new RedisRpcProviderRegistry(shared);
  const listeners = new RedisListenerRegistry(shared);
  const announce = async (users: { appId: string; user: string }[], online: boolean) => {
    for (const { appId, user } of users)
      await bus.publish(appId, 'presence.changed', { user, online });
  };
  const owned: NodeOwnedState[] = [
    {
      // The users that went offline with the dead node, announced as PresenceHandler would.
      removeNode: async (nodeId) => announce(await presence.removeNode(nodeId), false),
      restore: async () => announce(await presence.restore(), true),
    },
    // Every node hears 'node.dead' and moves on the RPCs it sent there.
    rpcProviders,
    // Every node hears 'node.dead' and re-offers what the dead node provided.
    listeners,
  ];
  const rateLimiter = new RedisRateLimiter({
    redis: redis.connection,
    keyPrefix: redis.keyPrefix,
  });
  const connectionCounts = new RedisConnectionCounter({
    ...shared,
    onRestoreError: (error) =>
      options.logger.error({ err: error }, 'writing back connection counts failed'),
  });
  // The dead node's connections no longer count against its apps' limits.
  owned.push(connectionCounts);
  return { presence, rpcProviders, listeners, owned, rateLimiter, connectionCounts };
}

/**
 * Where the node's records live: the hot copy in Redis behind a
 * compare-and-set when clustered (persistence batches go to `jobs`, which
 * must define the worker's persist-records job), in memory when alone.
 */
function recordStore(options: RealtimeOptions, log: Logger): RecordStore {
  const { redis } = options;
  const asyncCommit = commitsAsynchronously(
    options.config.RECORD_WRITE_DURABILITY,
    options.db.kind,
  );
  if (!redis) return new LocalRecordStore(options.db.sql, log, { asyncCommit });
  return new RedisRecordStore({
    asyncCommit,
    redis: redis.connection,
    keyPrefix: redis.keyPrefix,
    sql: options.db.sql,
    prisma: options.db.prisma,
    jobs: options.jobs,
    logger: log,
    nodeId: options.bus.nodeId,
  });
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
  const records = recordStore(options, log);
  const { presence, rpcProviders, listeners, owned, rateLimiter, connectionCounts } =
    clusterState(options);
  const node: NodeServices = {
    prisma: options.db.prisma,
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
  const registry = new AppRegistry(node, options.bus, {
    freshnessCheckIntervalMs: options.config.APP_FRESHNESS_CHECK_INTERVAL_MS,
  });
  // Clustered: the node beats in the node registry while it listens.
  const lifecycle = options.redis
    ? new NodeLifecycle({
        registry: new RedisNodeRegistry({
          redis: options.redis.connection,
          keyPrefix: options.redis.keyPrefix,
          nodeId: options.bus.nodeId,
          deadAfterMs: options.config.NODE_DEAD_AFTER_MS,
        }),
        owned,
        bus: options.bus,
        intervalMs: options.config.NODE_HEARTBEAT_INTERVAL_MS,
        log,
      })
    : undefined;

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
  await registerGateway(app, registry, settings);
  // deepstream's HTTP data API beside the WebSocket endpoint (same port and TLS).
  await registerHttpApi(app, {
    registry,
    prisma: options.db.prisma,
    config: options.config,
    redis: options.redis,
    metrics: httpApiMetrics,
  });
  app.addHook('preClose', async () => {
    await registry.close();
  });
  if (lifecycle) app.addHook('onListen', () => lifecycle.start());
  // Closing answers /ready and new upgrades with 503 from the start (fastify's
  // return503OnClosing); the preClose hooks close every client connection
  // with GOING_AWAY, which the official client answers by reconnecting.
  app.addHook('onClose', async () => {
    await records.close();
    // Graceful: this node's leftover registrations go now, not on expiry.
    await lifecycle?.stop().catch((error: unknown) => {
      log.error({ err: error }, 'leaving the node registry failed');
    });
    await presence.close();
    await rpcProviders.close();
    await listeners.close();
    await connectionCounts.close();
    await rateLimiter.close();
  });
  return app;
}
