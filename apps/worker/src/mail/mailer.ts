import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Transporter } from 'nodemailer';

// How developer emails leave the process: over SMTP when an SMTP server is
// configured, otherwise as .eml files in an outbox directory, so a local or
// standalone install can still follow its verification and reset links.
// Either way the message is built by nodemailer, so the .eml file is exactly
// what SMTP would have carried.

export type OutgoingMail = {
  to: string;
  subject: string;
  text: string;
  html?: string;
};

/** Where a message went; never its content, which may hold one-time tokens. */
export type Delivery =
  | { via: 'smtp'; messageId: string }
  | { via: 'outbox'; messageId: string; file: string };

export interface Mailer {
  send(mail: OutgoingMail): Promise<Delivery>;
}

export type MailerOptions = {
  from: string;
  /** smtp:// or smtps:// URL; unset writes to `outboxDir`. */
  smtpUrl?: string | undefined;
  outboxDir: string;
};

// nodemailer's defaults wait minutes for a silent server; a job that fails
// fast is retried by the queue instead.
const SMTP_TIMEOUTS = {
  connectionTimeout: 10_000,
  greetingTimeout: 10_000,
  socketTimeout: 30_000,
} as const;

const messageOf = (from: string, mail: OutgoingMail) => ({
  from,
  to: mail.to,
  subject: mail.subject,
  text: mail.text,
  ...(mail.html === undefined ? {} : { html: mail.html }),
});

/** nodemailer, loaded with the first mail: most processes never send one. */
let nodemailerModule: Promise<typeof import('nodemailer')> | undefined;
const loadNodemailer = () => {
  nodemailerModule ??= import('nodemailer');
  return nodemailerModule;
};

/**
 * Built once per process; the transport is made with the first mail. The
 * SMTP transport is not pooled: developer emails are rare, and an unpooled
 * transport holds no connection between messages, so there is nothing to
 * close at shutdown.
 */
export function createMailer(options: MailerOptions): Mailer {
  if (options.smtpUrl) {
    const smtpUrl = options.smtpUrl;
    let transport: Promise<Transporter> | undefined;
    return {
      async send(mail) {
        transport ??= loadNodemailer().then(({ default: nodemailer }) =>
          nodemailer.createTransport({ url: smtpUrl, ...SMTP_TIMEOUTS }),
        );
        const info = await (await transport).sendMail(messageOf(options.from, mail));
        return { via: 'smtp', messageId: info.messageId };
      },
    };
  }
  let transport: Promise<Transporter> | undefined;
  return {
    async send(mail) {
      transport ??= loadNodemailer().then(({ default: nodemailer }) =>
        nodemailer.createTransport({
          streamTransport: true,
          buffer: true,
          // RFC 5322 line endings, as on the wire.
          newline: 'windows',
        }),
      );
      const info = await (await transport).sendMail(messageOf(options.from, mail));
      if (!Buffer.isBuffer(info.message)) throw new Error('nodemailer did not buffer the message');
      // The directory and files are private to this user: they hold tokens.
      await mkdir(options.outboxDir, { recursive: true, mode: 0o700 });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const file = join(options.outboxDir, `${stamp}-${randomUUID()}.eml`);
      await writeFile(file, info.message, { mode: 0o600, flag: 'wx' });
      return { via: 'outbox', messageId: info.messageId, file };
    },
  };
}
