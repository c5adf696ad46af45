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

export { persistRecordsJob } from './jobs/persist-records.job.ts';
export { purgeAppJob } from './jobs/purge-app.job.ts';
export { sendEmailJob } from './jobs/send-email.job.ts';
export { MemoryUsageLedger, usageRollupJob } from './jobs/usage-rollup.job.ts';
export { createMailer, type Delivery, type Mailer, type OutgoingMail } from './mail/mailer.ts';

// The handlers of every job (their contracts: @hubstream/jobs). Only the
// processes that run jobs build these: the worker role and the single
// process (apps/standalone, which takes them from this entry point).
// Processes that only enqueue use enqueueOnly(JOB_CONTRACTS) instead.

/**
 * Every job this process can run, with their shared resources built once:
 * one handler per contract in JOB_CONTRACTS. Pass `prisma` and `redis`
 * where the jobs need them; without `redis`, the single process keeps the
 * usage ledger in memory.
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
