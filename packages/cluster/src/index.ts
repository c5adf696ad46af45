export {
  BullMqJobQueue,
  type BullMqJobQueueOptions,
  type JobOutcome,
  type JobRunObserver,
} from './bullmq-queue.ts';
export {
  type BusEnvelope,
  type BusHandler,
  type BusTopic,
  type BusTopics,
  CLUSTER_SCOPE,
  type ClusterBus,
  LocalBus,
} from './bus.ts';
export {
  defineJob,
  InlineJobQueue,
  InvalidJobPayloadError,
  type JobDefinition,
  type JobLogger,
  type JobQueue,
  UnknownJobError,
} from './jobs.ts';
export {
  type ListenerEntry,
  type ListenerRegistry,
  type ListenGone,
  type ListenTopic,
  LocalListenerRegistry,
  LocalListenerState,
  RedisListenerRegistry,
} from './listener-registry.ts';
export {
  type Beat as NodeBeat,
  LocalNodeRegistry,
  LocalNodeTable,
  type NodeOwnedState,
  type NodeRegistry,
  type NodeRegistryOptions,
  NodeWatch,
  type NodeWatchOptions,
  RedisNodeRegistry,
} from './node-registry.ts';
export {
  LocalPresenceRegistry,
  type PresenceRegistry,
  RedisPresenceRegistry,
} from './presence-registry.ts';
export {
  type Limit,
  LocalRateLimiter,
  type RateLimiter,
  RedisRateLimiter,
  type Verdict as RateVerdict,
} from './rate-limiter.ts';
export { type DeliveryLagObserver, RedisBus, type RedisBusOptions } from './redis-bus.ts';
export { loadBullMq, newRedis } from './redis-modules.ts';
export { connectRedis, openRedisServices } from './redis-services.ts';
export {
  LocalRpcProviderRegistry,
  RedisRpcProviderRegistry,
  type RpcProviderRegistry,
  type RpcRegistration,
} from './rpc-registry.ts';
