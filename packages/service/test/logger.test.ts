import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger, redactSecrets, redactUrl } from '../src/index.ts';

// Secrets must never reach the logs, however deep they sit in a logged
// object or however a request carries them.

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: 'trace', name: 'test', destination });
  return { logger, lines, text: () => lines.join('\n') };
}

const SECRETS = {
  authorization: 'Bearer sk-authorization-0001',
  cookie: 'hs_session=cookie-secret-0002',
  password: 'password-secret-0003',
  token: 'token-secret-0004',
  apiKey: 'apikey-secret-0005',
  signingSecret: 'signing-secret-0006',
  webhookSecret: 'webhook-secret-0007',
  authData: { email: 'a@example.com', password: 'authdata-secret-0008' },
  'x-api-key': 'header-apikey-0009',
  passwordHash: '$argon2id$hash-secret-0010',
  refresh_token: 'refresh-secret-0011',
  smtpUrl: 'smtp://user:smtp-secret-0012@mail.example.com',
};
const VALUES = [
  'sk-authorization-0001',
  'cookie-secret-0002',
  'password-secret-0003',
  'token-secret-0004',
  'apikey-secret-0005',
  'signing-secret-0006',
  'webhook-secret-0007',
  'authdata-secret-0008',
  'header-apikey-0009',
  'hash-secret-0010',
  'refresh-secret-0011',
  'smtp-secret-0012',
];

describe('log redaction', () => {
  it('censors secret fields at the top level and deep inside objects and arrays', () => {
    const { logger, lines, text } = capture();
    logger.info(SECRETS, 'top level');
    logger.info({ app: { auth: { webhook: { ...SECRETS } } } }, 'nested');
    logger.warn({ requests: [{ headers: { Authorization: SECRETS.authorization } }] }, 'array');
    logger.child({ token: 'child-binding-secret' }).info('child');
    logger.flush();
    expect(lines).toHaveLength(4);
    for (const value of [...VALUES, 'child-binding-secret']) expect(text()).not.toContain(value);
    const first = JSON.parse(lines[0]!);
    expect(first.password).toBe('[redacted]');
    expect(first.authData).toBe('[redacted]');
    const nested = JSON.parse(lines[1]!);
    expect(nested.app.auth.webhook.signingSecret).toBe('[redacted]');
    expect(JSON.parse(lines[2]!).requests[0].headers.Authorization).toBe('[redacted]');
  });

  it('keeps everything that is not a secret, and leaves the logged object untouched', () => {
    const { logger, lines } = capture();
    const logged = { app: 'abc123', connection: 'c-1', user: { id: 'u1', password: 'pw-secret' } };
    logger.info(logged, 'login');
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ app: 'abc123', connection: 'c-1', user: { id: 'u1' } });
    expect(line.user.password).toBe('[redacted]');
    expect(logged.user.password).toBe('pw-secret');
    const plain = { a: 1, b: { c: [1, 2] } };
    expect(redactSecrets(plain)).toBe(plain);
  });

  it('survives cycles', () => {
    const cyclic: Record<string, unknown> = { token: 'cycle-secret' };
    cyclic.self = cyclic;
    const { logger, text } = capture();
    logger.info({ cyclic }, 'cycle');
    expect(text()).not.toContain('cycle-secret');
  });

  it('censors secret query parameters in URLs', () => {
    expect(redactUrl('/verify-email?token=abc&next=%2Fapps')).toBe(
      '/verify-email?token=[redacted]&next=%2Fapps',
    );
    expect(redactUrl('/x?api_key=k1&password=p')).toBe('/x?api_key=[redacted]&password=[redacted]');
    expect(redactUrl('/abc123')).toBe('/abc123');
  });

  it("keeps secrets of HTTP requests out of fastify's request logs, with a request id on each line", async () => {
    const { logger, lines, text } = capture();
    const app = Fastify({ loggerInstance: logger as FastifyBaseLogger });
    app.post('/login', async (request) => {
      request.log.info({ body: request.body, headers: request.headers }, 'handling');
      return { ok: true };
    });
    const reply = await app.inject({
      method: 'POST',
      url: '/login?token=query-secret-1',
      headers: {
        authorization: 'Bearer header-secret-2',
        cookie: 'hs_session=cookie-secret-3',
        'content-type': 'application/json',
      },
      payload: { email: 'a@example.com', password: 'body-secret-4' },
    });
    expect(reply.statusCode).toBe(200);
    await app.close();
    for (const secret of ['query-secret-1', 'header-secret-2', 'cookie-secret-3', 'body-secret-4'])
      expect(text()).not.toContain(secret);
    const entries = lines.map((l) => JSON.parse(l));
    const incoming = entries.find((e) => e.msg === 'incoming request');
    expect(incoming.req.url).toBe('/login?token=[redacted]');
    const handling = entries.find((e) => e.msg === 'handling');
    expect(handling.body.email).toBe('a@example.com');
    expect(handling.reqId).toBeDefined();
    expect(handling.reqId).toBe(incoming.reqId);
  });
});
