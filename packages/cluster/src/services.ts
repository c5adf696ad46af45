import type { Redis } from 'ioredis';
import type { ClusterBus } from './bus/bus.ts';
import type { ConnectionCounter } from './connections/connection-counter.ts';
import { LocalConnectionCounter } from './connections/local.ts';
import { RedisConnectionCounter } from './connections/redis.ts';
import type { ListenerRegistry } from './listeners/listener-registry.ts';
import { LocalListenerRegistry } from './listeners/local.ts';
import { RedisListenerRegistry } from './listeners/redis.ts';
import type { ClusterLogger } from './logger.ts';
import { NodeLifecycle } from './nodes/node-lifecycle.ts';
import type { NodeOwnedState } from './nodes/node-registry.ts';
import { RedisNodeRegistry } from './nodes/redis.ts';
import { LocalPresenceRegistry } from './presence/local.ts';
import type { PresenceRegistry } from './presence/presence-registry.ts';
import { RedisPresenceRegistry } from './presence/redis.ts';
import { LocalRateLimiter } from './rate-limits/local.ts';
import type { RateLimiter } from './rate-limits/rate-limiter.ts';
import { RedisRateLimiter } from './rate-limits/redis.ts';
import { LocalRpcProviderRegistry } from './rpc/local.ts';
import { RedisRpcProviderRegistry } from './rpc/redis.ts';
import type { RpcProviderRegistry } from './rpc/rpc-registry.ts';
import { LocalTokenStore } from './tokens/local.ts';
import { RedisTokenStore } from './tokens/redis.ts';
import type { TokenStore } from './tokens/token-store.ts';

/**
 * Where a node's cross-node state lives, decided once per process: in this
 * process (it is the whole cluster), or in a Redis every node shares, under
 * `keyPrefix`. The caller owns (and closes) the connection.
 */
export type ClusterChoice =
  | { kind: 'local' }
  | { kind: 'redis'; connection: Redis; keyPrefix: string };

export type ClusterServicesOptions = {
  /**
   * The node's bus: its `nodeId` names the node's registrations, and the
   * node lifecycle announces dead nodes (and presence they took along) on it.
   */
  bus: ClusterBus;
  logger: ClusterLogger;
  /** How often a clustered node beats in the node registry. */
  heartbeatIntervalMs: number;
  /** A node whose last beat is older than this is dead. */
  deadAfterMs: number;
  /** The HTTP API's tokens: how long each lives, and how many one process keeps when alone. */
  httpTokens: { ttlMs: number; maxTokens: number };
};

/**
 * Every cross-node service of one realtime node, of one kind (local or
 * Redis). `S`: what an HTTP API token stands for (JSON).
 */
export type ClusterServices<S = unknown> = {
  readonly kind: ClusterChoice['kind'];
  /** Who is online in each app. */
  presence: PresenceRegistry;
  /** Which nodes provide which RPC. */
  rpcProviders: RpcProviderRegistry;
  /** Listening: subscribers, listeners, providers and offers per name. */
  listeners: ListenerRegistry;
  /** Per-app message and cross-reference rates. */
  rateLimiter: RateLimiter;
  /** Per-app open connections (a count per node, so a dead node's share can go). */
  connectionCounts: ConnectionCounter;
  /** The HTTP API's tokens, valid on every node. */
  httpTokens: TokenStore<S>;
  /**
   * Clustered: the node's life in the node registry (`start` once the node
   * listens; `close` stops it gracefully). Alone: none, nobody else to tell.
   */
  lifecycle: NodeLifecycle | undefined;
  /**
   * Leaves the node registry (its leftover registrations go now, not on
   * expiry), then closes every service. Not the Redis connection: its owner
   * closes it after.
   */
  close(): Promise<void>;
};

/** The cross-node services of one node: in Redis when clustered, in-process when alone. */
export function openClusterServices<S = unknown>(
  choice: ClusterChoice,
  options: ClusterServicesOptions,
): ClusterServices<S> {
  switch (choice.kind) {
    case 'local':
      return localServices(options);
    case 'redis':
      return redisServices(choice, options);
    default: {
      const unknown: never = choice;
      throw new Error(`Unknown cluster choice: ${JSON.stringify(unknown)}`);
    }
  }
}

function localServices<S>({ bus, httpTokens }: ClusterServicesOptions): ClusterServices<S> {
  const services = {
    kind: 'local' as const,
    presence: new LocalPresenceRegistry(),
    rpcProviders: new LocalRpcProviderRegistry({ nodeId: bus.nodeId }),
    listeners: new LocalListenerRegistry({ nodeId: bus.nodeId }),
    rateLimiter: new LocalRateLimiter(),
    connectionCounts: new LocalConnectionCounter(),
    httpTokens: new LocalTokenStore<S>(httpTokens),
    lifecycle: undefined,
  };
  return { ...services, close: () => closeAll(services) };
}

function redisServices<S>(
  choice: Extract<ClusterChoice, { kind: 'redis' }>,
  options: ClusterServicesOptions,
): ClusterServices<S> {
  const { bus, logger } = options;
  const shared = { redis: choice.connection, nodeId: bus.nodeId, keyPrefix: choice.keyPrefix };
  const presence = new RedisPresenceRegistry(shared);
  const rpcProviders = new RedisRpcProviderRegistry(shared);
  const listeners = new RedisListenerRegistry(shared);
  const rateLimiter = new RedisRateLimiter({
    redis: choice.connection,
    keyPrefix: choice.keyPrefix,
  });
  const connectionCounts = new RedisConnectionCounter({
    ...shared,
    onRestoreError: (error) =>
      logger.error({ err: error }, 'writing back connection counts failed'),
  });
  const announce = async (users: { appId: string; user: string }[], online: boolean) => {
    for (const { appId, user } of users)
      await bus.publish(appId, 'presence.changed', { user, online });
  };
  // Every registry in which this node holds registrations: a node that finds
  // another dead removes that node's share from each (then announces
  // 'node.dead'); a node found wrongly dead restores its own. A registry
  // joins the node lifecycle by being listed here.
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
    // The dead node's connections no longer count against its apps' limits.
    connectionCounts,
  ];
  const lifecycle = new NodeLifecycle({
    registry: new RedisNodeRegistry({
      redis: choice.connection,
      keyPrefix: choice.keyPrefix,
      nodeId: bus.nodeId,
      deadAfterMs: options.deadAfterMs,
    }),
    owned,
    bus,
    intervalMs: options.heartbeatIntervalMs,
    log: logger,
  });
  const services = {
    kind: 'redis' as const,
    presence,
    rpcProviders,
    listeners,
    rateLimiter,
    connectionCounts,
    httpTokens: new RedisTokenStore<S>({
      redis: choice.connection,
      keyPrefix: choice.keyPrefix,
      ttlMs: options.httpTokens.ttlMs,
    }),
    lifecycle,
  };
  return {
    ...services,
    async close() {
      // Graceful: this node's leftover registrations go now, not on expiry.
      await lifecycle.stop().catch((error: unknown) => {
        logger.error({ err: error }, 'leaving the node registry failed');
      });
      await closeAll(services);
    },
  };
}

/** In the order the node always closed them. */
async function closeAll(
  services: Pick<
    ClusterServices,
    'presence' | 'rpcProviders' | 'listeners' | 'connectionCounts' | 'rateLimiter'
  >,
) {
  await services.presence.close();
  await services.rpcProviders.close();
  await services.listeners.close();
  await services.connectionCounts.close();
  await services.rateLimiter.close();
}
