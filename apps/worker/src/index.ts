import { join } from 'node:path';
import type { JobDefinition } from '@hubstream/cluster';
import type { Config } from '@hubstream/config';
import { type MailLogger, sendEmailJob } from './jobs/send-email.job.ts';
import { createMailer } from './mail/mailer.ts';

export {
  SEND_EMAIL_JOB,
  type SendEmail,
  SendEmailPayload,
} from './jobs/send-email.job.ts';
export { createMailer, type Delivery, type Mailer, type OutgoingMail } from './mail/mailer.ts';

/** Every job this process can run, with their shared resources built once. */
export function createJobDefinitions(options: {
  config: Config;
  logger: MailLogger;
}): JobDefinition[] {
  const { config, logger } = options;
  const mailer = createMailer({
    from: config.MAIL_FROM,
    smtpUrl: config.SMTP_URL,
    outboxDir: join(config.DATA_DIR, 'outbox'),
  });
  return [sendEmailJob(mailer, logger)];
}
