import { RedisBus } from './bus/redis.ts';
import type { JobDefinition, JobLogger } from './jobs/jobs.ts';
import { BullMqJobQueue } from './jobs/redis.ts';
import { newRedis } from './redis-modules.ts';

/**
 * The bus and job queue of a process that runs with Redis, ready to use.
 * Every process defines every job (so enqueueing validates); only the ones
 * passing `processJobs` run them.
 */
export async function openRedisServices(options: {
  url: string;
  keyPrefix: string;
  nodeId: string;
  definitions: readonly JobDefinition[];
  logger: JobLogger;
  processJobs: boolean;
}): Promise<{ bus: RedisBus; jobs: BullMqJobQueue }> {
  const { url, keyPrefix, nodeId, definitions, logger } = options;
  const bus = new RedisBus({
    nodeId,
    url,
    keyPrefix,
    onHandlerError: (error) => logger.error({ err: error }, 'bus subscriber failed'),
  });
  const jobs = new BullMqJobQueue({
    url,
    definitions,
    logger,
    process: options.processJobs,
    prefix: `${keyPrefix}hs:bull`,
  });
  try {
    await Promise.all([bus.ready(), jobs.ready()]);
  } catch (error) {
    await Promise.allSettled([jobs.close(), bus.close()]);
    throw error;
  }
  return { bus, jobs };
}

/**
 * A connection for the cluster's shared state (presence, records, RPC
 * providers, listeners). It reconnects by itself; errors are logged, not
 * thrown, so a Redis restart does not take the process down.
 */
export function connectRedis(url: string, log: { warn(details: object, message: string): void }) {
  const redis = newRedis(url);
  redis.on('error', (error) => log.warn({ err: error }, 'redis connection error'));
  return redis;
}
