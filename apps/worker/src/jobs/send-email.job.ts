import { jobHandler, SEND_EMAIL_JOB, sendEmailContract } from '@hubstream/jobs';
import type { Mailer } from '../mail/mailer.ts';

export type MailLogger = { info(object: object, message: string): void };

/**
 * Sends one email. A failed delivery throws, so the queue retries it; a
 * retry after a lost acknowledgement may deliver twice, which is the usual
 * price of at-least-once mail.
 */
export function sendEmailJob(
  mailer: Mailer,
  logger: MailLogger,
  options: { logMailLinks?: boolean } = {},
) {
  return jobHandler(sendEmailContract, async (payload) => {
    const delivery = await mailer.send(payload);
    // Only where it went: the subject and body carry one-time tokens.
    logger.info({ job: SEND_EMAIL_JOB, ...delivery }, 'email sent');
    if (delivery.via === 'outbox' && options.logMailLinks) {
      // `pnpm start` without SMTP (a developer's machine): the mail is a
      // file nobody reads, so its links (verification, password reset) go
      // to the log too; they are in the file already, on the same machine.
      // Separate roles never log them: logs leave the machine.
      const links = payload.text.match(/https?:\/\/[^\s<>"]+/g) ?? [];
      logger.info(
        { job: SEND_EMAIL_JOB, outboxFile: delivery.file },
        `mail to ${payload.to} ("${payload.subject}") written to ${delivery.file}` +
          links.map((link) => `\n  ${link}`).join(''),
      );
    }
  });
}
