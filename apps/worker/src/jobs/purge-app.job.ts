import { appExists, deleteAppRows, type PrismaClient } from '@hubstream/db';
import { jobHandler, PURGE_APP_JOB, purgeAppContract } from '@hubstream/jobs';
import type { Redis } from 'ioredis';

export type PurgeLogger = {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
};

/** Keys asked for per SCAN step, and removed per UNLINK. */
const SCAN_COUNT = 1000;
const UNLINK_BATCH = 500;

/**
 * Removes what a deleted app left behind: rows the cascade did not reach
 * (none, normally) and every Redis key under `{prefix}hs:{appId}:`. Safe to
 * run any number of times; refuses to touch an app that still exists.
 *
 * A realtime node still finishing a write for the app when the job runs
 * could leave a key behind after it; the node drops the app as soon as it
 * hears of the deletion on the bus, so that window is short.
 */
export function purgeAppJob(options: {
  prisma: PrismaClient | undefined;
  redis: Redis | undefined;
  keyPrefix: string;
  logger: PurgeLogger;
}) {
  const { prisma, redis, keyPrefix, logger } = options;
  return jobHandler(purgeAppContract, async ({ appId }) => {
    if (!prisma) throw new Error(`${PURGE_APP_JOB} needs the database, which this process lacks.`);
    if (await appExists(prisma, appId)) {
      // Only the delete route enqueues this, after its commit: a live app
      // means a mistake, and retrying would not make it right.
      logger.warn({ job: PURGE_APP_JOB, app: appId }, 'the app still exists: not purging it');
      return;
    }
    const rows = await deleteAppRows(prisma, appId);
    // Without Redis (the single process on its own) nothing was stored there.
    const keys = redis ? await unlinkMatching(redis, `${keyPrefix}hs:${appId}:*`) : 0;
    logger.info({ job: PURGE_APP_JOB, app: appId, rows, keys }, 'deleted app purged');
  });
}

/** SCAN for the pattern and UNLINK what it finds, in batches; returns how many went. */
export async function unlinkMatching(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
    cursor = next;
    for (let i = 0; i < keys.length; i += UNLINK_BATCH) {
      removed += await redis.unlink(...keys.slice(i, i + UNLINK_BATCH));
    }
  } while (cursor !== '0');
  return removed;
}
