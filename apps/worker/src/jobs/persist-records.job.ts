import type { PrismaClient } from '@hubstream/db';
import { jobHandler, PERSIST_RECORDS_JOB, persistRecordsContract } from '@hubstream/jobs';
import { persistRecords } from '@hubstream/records';
import type { Redis } from 'ioredis';

/**
 * Persists a batch of records a realtime node wrote to Redis (contract:
 * @hubstream/jobs; what it runs: @hubstream/records persistRecords, which
 * reads what Redis holds when it runs). Idempotent. Only a process that
 * runs it needs Redis and the database.
 */
export function persistRecordsJob(options: {
  redis: Redis | undefined;
  prisma: PrismaClient | undefined;
  keyPrefix: string;
}) {
  const { redis, prisma, keyPrefix } = options;
  return jobHandler(persistRecordsContract, async (payload) => {
    if (!redis || !prisma) {
      throw new Error(
        `${PERSIST_RECORDS_JOB} needs Redis and the database, which this process lacks.`,
      );
    }
    await persistRecords({ redis, prisma, keyPrefix }, payload.records);
  });
}
