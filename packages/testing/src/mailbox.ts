import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

// A real SMTP server on a free local port that keeps what it receives, for
// tests that follow links in mail. It understands just enough MIME to read
// what nodemailer writes: headers, quoted-printable or base64 bodies and
// (nested) multipart messages. The control plane's tests use it too.

export type ReceivedMail = {
  /** SMTP envelope, as the server saw it. */
  envelope: { from: string | undefined; to: string[] };
  /** Header names lowercased, folded lines joined. */
  headers: Record<string, string>;
  subject: string;
  text: string | undefined;
  html: string | undefined;
  raw: string;
};

export type Mailbox = {
  /** smtp:// URL to put in SMTP_URL. */
  url: string;
  /** Every mail received so far, in order of arrival. */
  received: ReceivedMail[];
  /** The next mail (to `to`, if given) not yet taken; waits for it to arrive. */
  next(to?: string): Promise<ReceivedMail>;
  close(): Promise<void>;
};

type Part = { headers: Record<string, string>; body: string };

function splitPart(raw: string): Part {
  const end = raw.indexOf('\r\n\r\n');
  const head = end === -1 ? raw : raw.slice(0, end);
  const body = end === -1 ? '' : raw.slice(end + 4);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

function decodeBody(part: Part): string {
  const encoding = (part.headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  if (encoding === 'base64') return Buffer.from(part.body, 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = part.body
      .replace(/=\r\n/g, '')
      .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) =>
        String.fromCharCode(Number.parseInt(hex, 16)),
      );
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return part.body;
}

function leaves(part: Part): Part[] {
  const type = part.headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!type.toLowerCase().startsWith('multipart/') || !boundary) return [part];
  const [, ...sections] = part.body.split(`--${boundary}`);
  return sections
    .filter((section) => !section.startsWith('--'))
    .flatMap((section) => leaves(splitPart(section.replace(/^\r\n/, '').replace(/\r\n$/, ''))));
}

export function parseMail(raw: string, envelope: ReceivedMail['envelope']): ReceivedMail {
  const root = splitPart(raw);
  const parts = leaves(root);
  const body = (type: string) => {
    const part = parts.find((p) => (p.headers['content-type'] ?? 'text/plain').startsWith(type));
    return part ? decodeBody(part) : undefined;
  };
  return {
    envelope,
    headers: root.headers,
    subject: root.headers.subject ?? '',
    text: body('text/plain'),
    html: body('text/html'),
    raw,
  };
}

export async function startMailbox(): Promise<Mailbox> {
  const received: ReceivedMail[] = [];
  const unclaimed: ReceivedMail[] = [];
  const waiting: { to: string | undefined; resolve: (mail: ReceivedMail) => void }[] = [];
  const matches = (mail: ReceivedMail, to: string | undefined) =>
    to === undefined || mail.envelope.to.includes(to.toLowerCase());

  const server = new SMTPServer({
    authOptional: true,
    // The built-in certificate is self-signed: speak plain SMTP on loopback.
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', callback);
      stream.on('end', () => {
        const mail = parseMail(Buffer.concat(chunks).toString('utf8'), {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
        });
        received.push(mail);
        const waiter = waiting.findIndex((w) => matches(mail, w.to));
        if (waiter === -1) unclaimed.push(mail);
        else waiting.splice(waiter, 1)[0]?.resolve(mail);
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;

  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    next(to) {
      const index = unclaimed.findIndex((mail) => matches(mail, to));
      if (index !== -1) return Promise.resolve(unclaimed.splice(index, 1)[0] as ReceivedMail);
      return new Promise((resolve) => waiting.push({ to, resolve }));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
