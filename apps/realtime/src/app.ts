import { randomUUID } from 'node:crypto';
import {
  type ClusterBus,
  type JobQueue,
  type ListenerRegistry,
  LocalListenerRegistry,
  LocalPresenceRegistry,
  LocalRpcProviderRegistry,
  type PresenceRegistry,
  RedisListenerRegistry,
  RedisPresenceRegistry,
  RedisRpcProviderRegistry,
  type RpcProviderRegistry,
} from '@hubstream/cluster';
import type { Config } from '@hubstream/config';
import type { Database } from '@hubstream/db';
import { type Logger, registerHealthRoutes } from '@hubstream/service';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { AppRegistry } from './core/app-registry.ts';
import type { NodeServices } from './core/app-runtime.ts';
import { nodeSettings } from './core/settings.ts';
import { registerGateway } from './gateway/websocket.ts';
import { LocalRecordStore } from './records/local-record-store.ts';
import type { PersistenceLag, RecordStore } from './records/record-store.ts';
import { RedisRecordStore } from './records/redis-record-store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    hubstream: {
      registry: AppRegistry;
      /** How far Postgres is behind the records this node wrote (a metric). */
      persistenceLag(): Promise<PersistenceLag>;
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
};

/** The cross-node state of one node: in Redis when clustered, in-process when alone. */
function clusterState(options: RealtimeOptions): {
  presence: PresenceRegistry;
  rpcProviders: RpcProviderRegistry;
  listeners: ListenerRegistry;
} {
  const { redis, bus } = options;
  if (!redis) {
    const rpcProviders = new LocalRpcProviderRegistry({ nodeId: bus.nodeId });
    const listeners = new LocalListenerRegistry({ nodeId: bus.nodeId });
    return { presence: new LocalPresenceRegistry(), rpcProviders, listeners };
  }
  const shared = { redis: redis.connection, nodeId: bus.nodeId, keyPrefix: redis.keyPrefix };
  const rpcProviders = new RedisRpcProviderRegistry(shared);
  const listeners = new RedisListenerRegistry(shared);
  return { presence: new RedisPresenceRegistry(shared), rpcProviders, listeners };
}

/**
 * Where the node's records live: the hot copy in Redis behind a
 * compare-and-set when clustered (persistence batches go to `jobs`, which
 * must define the worker's persist-records job), in memory when alone.
 */
function recordStore(options: RealtimeOptions, log: Logger): RecordStore {
  const { redis } = options;
  if (!redis) return new LocalRecordStore(options.db.prisma, log);
  return new RedisRecordStore({
    redis: redis.connection,
    keyPrefix: redis.keyPrefix,
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
  });
  const settings = nodeSettings(options.config);
  const records = recordStore(options, log);
  const { presence, rpcProviders, listeners } = clusterState(options);
  const node: NodeServices = {
    prisma: options.db.prisma,
    settings,
    log,
    records,
    bus: options.bus,
    presence,
    rpcProviders,
    listeners,
  };
  const registry = new AppRegistry(node, options.bus);

  // The node's state, for metrics and for tests that wait on it.
  app.decorate('hubstream', { registry, persistenceLag: () => records.persistenceLag() });
  registerHealthRoutes(app, [{ name: 'database', check: () => options.db.ping() }]);
  await registerGateway(app, registry, settings);
  app.addHook('preClose', async () => {
    await registry.close();
  });
  app.addHook('onClose', async () => {
    await records.close();
    await presence.close();
    await rpcProviders.close();
    await listeners.close();
  });
  return app;
}
