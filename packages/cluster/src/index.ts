// @hubstream/cluster: every interface between the processes of a deployment
// (the bus, the job queue, the node registry and the registries each node
// holds a share of), each in its own folder as
//   <name>.ts  the interface and its types,
//   local.ts   the in-process implementation (one process is the whole cluster),
//   redis.ts   the Redis implementation every node shares,
//   lua.ts     the Redis implementation's scripts (where it has any);
// and openClusterServices (services.ts), which picks local or Redis once for
// all of a node's registries.

export {
  type BusEnvelope,
  type BusHandler,
  type BusTopic,
  type BusTopics,
  CLUSTER_SCOPE,
  type ClusterBus,
} from './bus/bus.ts';
export type { ConsoleRule, ConsoleTap, ConsoleWatch } from './bus/console-topics.ts';
export { LocalBus } from './bus/local.ts';
export { type DeliveryLagObserver, RedisBus, type RedisBusOptions } from './bus/redis.ts';
export type { ConnectionCounter } from './connections/connection-counter.ts';
export { LocalConnectionCounter } from './connections/local.ts';
export { RedisConnectionCounter } from './connections/redis.ts';
export {
  defineJob,
  InvalidJobPayloadError,
  type JobDefinition,
  type JobLogger,
  type JobQueue,
  UnknownJobError,
} from './jobs/jobs.ts';
export { InlineJobQueue } from './jobs/local.ts';
export {
  BullMqJobQueue,
  type BullMqJobQueueOptions,
  type JobOutcome,
  type JobRunObserver,
} from './jobs/redis.ts';
export type {
  ListenerEntry,
  ListenerRegistry,
  ListenGone,
  ListenTopic,
} from './listeners/listener-registry.ts';
export { LocalListenerRegistry, LocalListenerState } from './listeners/local.ts';
export {
  batchOfferToken,
  SUBSCRIBE_RESULT_WIDTH,
  UNSUBSCRIBE_RESULT_WIDTH,
} from './listeners/members.ts';
export { RedisListenerRegistry } from './listeners/redis.ts';
export type { ClusterLogger } from './logger.ts';
export { LocalNodeRegistry, LocalNodeTable } from './nodes/local.ts';
export { NodeLifecycle } from './nodes/node-lifecycle.ts';
export type {
  Beat as NodeBeat,
  NodeOwnedState,
  NodeRegistry,
  NodeRegistryOptions,
} from './nodes/node-registry.ts';
export { NodeWatch, type NodeWatchOptions } from './nodes/node-watch.ts';
export { RedisNodeRegistry } from './nodes/redis.ts';
export { LocalPresenceRegistry } from './presence/local.ts';
export type { PresenceRegistry } from './presence/presence-registry.ts';
export { RedisPresenceRegistry } from './presence/redis.ts';
export { LocalRateLimiter } from './rate-limits/local.ts';
export type {
  Limit,
  RateLimiter,
  Verdict as RateVerdict,
} from './rate-limits/rate-limiter.ts';
export { RedisRateLimiter } from './rate-limits/redis.ts';
export { loadBullMq, newRedis } from './redis-modules.ts';
export { connectRedis, openRedisServices } from './redis-services.ts';
export { LocalRpcProviderRegistry } from './rpc/local.ts';
export { RedisRpcProviderRegistry } from './rpc/redis.ts';
export type { RpcProviderRegistry, RpcRegistration } from './rpc/rpc-registry.ts';
export {
  type ClusterChoice,
  type ClusterServices,
  type ClusterServicesOptions,
  openClusterServices,
} from './services.ts';
export { LocalTokenStore } from './tokens/local.ts';
export { RedisTokenStore } from './tokens/redis.ts';
export { isOwnToken, TOKEN_PREFIX, type TokenStore } from './tokens/token-store.ts';
