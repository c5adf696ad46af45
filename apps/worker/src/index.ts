import { join } from 'node:path';
import type { JobDefinition } from '@hubstream/cluster';
import type { Config } from '@hubstream/config';
import type { PrismaClient } from '@hubstream/db';
import type { Redis } from 'ioredis';
import { persistRecordsJob } from './jobs/persist-records.job.ts';
import { type PurgeLogger, purgeAppJob } from './jobs/purge-app.job.ts';
import { type MailLogger, sendEmailJob } from './jobs/send-email.job.ts';
import { MemoryUsageLedger, RedisUsageLedger, usageRollupJob } from './jobs/usage-rollup.job.ts';
import { createMailer } from './mail/mailer.ts';

export {
  ASYNC_COMMIT_CONDITION,
  type CommitOptions,
  lockRecords,
  MAX_RECORDS_PER_BATCH,
  markPersisted,
  PERSIST_RECORDS_JOB,
  type PersistedVersion,
  type PersistRecords,
  PersistRecordsPayload,
  persistRecords,
  persistRecordsJob,
  RECORD_TRANSACTION,
  type RecordPersistence,
  RecordRef,
  type RecordRow,
  recordKeys,
  recordLockIds,
  recordUpsert,
  uniqueRecords,
  upsertRecords,
} from './jobs/persist-records.job.ts';
export { PURGE_APP_JOB, type PurgeApp, PurgeAppPayload } from './jobs/purge-app.job.ts';
export {
  SEND_EMAIL_JOB,
  type SendEmail,
  SendEmailPayload,
} from './jobs/send-email.job.ts';
export {
  MemoryUsageLedger,
  USAGE_ROLLUP_JOB,
  type UsageRollup,
  UsageRollupPayload,
  usageRollupJob,
} from './jobs/usage-rollup.job.ts';
export { createMailer, type Delivery, type Mailer, type OutgoingMail } from './mail/mailer.ts';

/**
 * Every job this process can run, with their shared resources built once.
 * Every process defines every job (enqueueing validates against them); only
 * a process that runs jobs needs to pass `prisma` and `redis`. Without
 * `redis`, the single process keeps the usage ledger in memory.
 */
export function createJobDefinitions(options: {
  config: Config;
  logger: MailLogger & PurgeLogger;
  prisma?: PrismaClient;
  redis?: Redis;
  /** Log the links of mail written to the outbox (`pnpm start` only: they carry one-time tokens). */
  logMailLinks?: boolean;
}): JobDefinition[] {
  const { config, logger, prisma, redis, logMailLinks = false } = options;
  const mailer = createMailer({
    from: config.MAIL_FROM,
    smtpUrl: config.SMTP_URL,
    outboxDir: join(config.DATA_DIR, 'outbox'),
  });
  const keyPrefix = config.REDIS_KEY_PREFIX ?? '';
  const ledger = redis ? new RedisUsageLedger({ redis, keyPrefix }) : new MemoryUsageLedger();
  return [
    sendEmailJob(mailer, logger, { logMailLinks }),
    usageRollupJob({ prisma, ledger }),
    purgeAppJob({ prisma, redis, keyPrefix, logger }),
    persistRecordsJob({ prisma, redis, keyPrefix }),
  ];
}
