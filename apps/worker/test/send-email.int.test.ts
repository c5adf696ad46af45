import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InlineJobQueue, InvalidJobPayloadError, type JobDefinition } from '@hubstream/cluster';
import { loadConfig } from '@hubstream/config';
import { SEND_EMAIL_JOB } from '@hubstream/jobs';
import { freePort, type Mailbox, parseMail, startMailbox } from '@hubstream/testing';
import nodemailer from 'nodemailer';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createJobDefinitions } from '../src/index.ts';

// The send-email job against a real SMTP server, and into the outbox
// directory when no SMTP server is configured.

// Long enough that nodemailer wraps the line, so the test also proves the
// link survives the transfer encoding.
const SECRET = 'hsv_Zm9vYmFyYmF6cXV4LXNlY3JldC10b2tlbi10aGF0LW11c3Qtbm90LWxlYWs';
const LINK = `https://dash.hubstream.test/verify-email?token=${SECRET}`;
const MAIL = {
  to: 'Ada@Example.com',
  subject: 'Verify your email',
  text: `Open this link:\n${LINK}\n`,
  html: `<p><a href="${LINK}">Verify</a></p>`,
};

function captureLogger() {
  const lines: { level: string; object: object; message: string }[] = [];
  const record = (level: string) => (object: object, message: string) => {
    lines.push({ level, object, message });
  };
  return { lines, info: record('info'), warn: record('warn'), error: record('error') };
}

const sendEmailOf = (definitions: JobDefinition[]) => {
  const definition = definitions.find((d) => d.name === SEND_EMAIL_JOB);
  if (!definition) throw new Error('send-email is not defined');
  return definition;
};

describe('send-email over SMTP', () => {
  let mailbox: Mailbox;
  beforeAll(async () => {
    mailbox = await startMailbox();
  });
  afterAll(async () => {
    await mailbox?.close();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('delivers the text and html through the job queue and logs no content', async () => {
    const logger = captureLogger();
    const config = loadConfig({
      SMTP_URL: mailbox.url,
      MAIL_FROM: 'Hubstream <no-reply@hubstream.test>',
    });
    const queue = new InlineJobQueue(createJobDefinitions({ config, logger }), logger);
    await queue.enqueue(SEND_EMAIL_JOB, MAIL);
    const mail = await mailbox.next('ada@example.com');
    await queue.close();

    expect(mail.envelope).toEqual({ from: 'no-reply@hubstream.test', to: ['ada@example.com'] });
    expect(mail.headers.from).toBe('Hubstream <no-reply@hubstream.test>');
    expect(mail.headers.to).toBe('Ada@example.com'); // nodemailer normalizes the domain
    expect(mail.subject).toBe('Verify your email');
    expect(mail.text).toBe(MAIL.text.replace(/\n/g, '\r\n'));
    expect(mail.html).toBe(MAIL.html);
    expect(mail.raw).not.toContain(LINK); // wrapped by the transfer encoding

    const sent = logger.lines.filter((l) => l.message === 'email sent');
    expect(sent).toEqual([
      {
        level: 'info',
        object: { job: SEND_EMAIL_JOB, via: 'smtp', messageId: mail.headers['message-id'] },
        message: 'email sent',
      },
    ]);
    expect(JSON.stringify(logger.lines)).not.toContain(SECRET);
  });

  it('builds the SMTP transport once, not per mail', async () => {
    const createTransport = vi.spyOn(nodemailer, 'createTransport');
    const logger = captureLogger();
    const config = loadConfig({ SMTP_URL: mailbox.url });
    const sendEmail = sendEmailOf(createJobDefinitions({ config, logger }));
    await sendEmail.handle({ ...MAIL, to: 'one@example.com' });
    await sendEmail.handle({ ...MAIL, to: 'two@example.com' });
    expect((await mailbox.next('one@example.com')).subject).toBe(MAIL.subject);
    expect((await mailbox.next('two@example.com')).subject).toBe(MAIL.subject);
    expect(createTransport).toHaveBeenCalledTimes(1);
  });

  it('fails the job when the SMTP server is unreachable, so the queue retries it', async () => {
    // A port nothing listens on.
    const port = await freePort();

    const logger = captureLogger();
    const config = loadConfig({ SMTP_URL: `smtp://127.0.0.1:${port}` });
    const sendEmail = sendEmailOf(createJobDefinitions({ config, logger }));
    await expect(sendEmail.handle(MAIL)).rejects.toThrow(/ECONNREFUSED/);
    expect(logger.lines).toEqual([]);
  });

  it('refuses payloads that do not match the schema', async () => {
    const logger = captureLogger();
    const config = loadConfig({ SMTP_URL: mailbox.url });
    const queue = new InlineJobQueue(createJobDefinitions({ config, logger }), logger);
    await expect(queue.enqueue(SEND_EMAIL_JOB, { to: 'ada@example.com' })).rejects.toThrow(
      InvalidJobPayloadError,
    );
    await expect(queue.enqueue(SEND_EMAIL_JOB, { ...MAIL, bcc: 'x@example.com' })).rejects.toThrow(
      InvalidJobPayloadError,
    );
    await queue.close();
  });
});

describe('send-email without SMTP_URL', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hubstream-outbox-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('writes the mail as a private .eml file under DATA_DIR/outbox', async () => {
    const logger = captureLogger();
    const config = loadConfig({ DATA_DIR: dataDir, MAIL_FROM: 'Hubstream <no-reply@local.test>' });
    const queue = new InlineJobQueue(createJobDefinitions({ config, logger }), logger);
    await queue.enqueue(SEND_EMAIL_JOB, MAIL);
    await queue.close(); // resolves once the queued job has run

    const outbox = join(dataDir, 'outbox');
    const files = await readdir(outbox);
    expect(files).toHaveLength(1);
    const file = join(outbox, files[0] as string);
    expect(file).toMatch(/\.eml$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(outbox)).mode & 0o777).toBe(0o700);

    const mail = parseMail(await readFile(file, 'utf8'), { from: undefined, to: [] });
    expect(mail.headers.from).toBe('Hubstream <no-reply@local.test>');
    expect(mail.headers.to).toBe('Ada@example.com'); // nodemailer normalizes the domain
    expect(mail.subject).toBe(MAIL.subject);
    expect(mail.text).toContain(LINK);
    expect(mail.html).toBe(MAIL.html);

    expect(logger.lines).toEqual([
      {
        level: 'info',
        object: {
          job: SEND_EMAIL_JOB,
          via: 'outbox',
          messageId: mail.headers['message-id'],
          file,
        },
        message: 'email sent',
      },
    ]);
    expect(JSON.stringify(logger.lines)).not.toContain(SECRET);
  });

  it("logs the mail's links too under pnpm start (logMailLinks), and only there", async () => {
    const logger = captureLogger();
    const config = loadConfig({ DATA_DIR: dataDir });
    const definitions = createJobDefinitions({ config, logger, logMailLinks: true });
    const queue = new InlineJobQueue(definitions, logger);
    await queue.enqueue(SEND_EMAIL_JOB, MAIL);
    await queue.close();

    expect(logger.lines).toHaveLength(2);
    expect(logger.lines[1]?.message).toContain(`\n  ${LINK}`);
  });
});
