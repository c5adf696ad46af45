import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyServerFactory } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSelfSigned } from '../src/certificates.ts';
import { createLogger } from '../src/logger.ts';
import { openServerTransport, plainServerFactory, type TlsSettings } from '../src/tls.ts';

// A malformed request gets Fastify's answer (400, same body) on every kind
// of port, and its socket is destroyed without the parser's error: reading
// that error's stack is what cost (source-mapped, on the event loop).

const logger = createLogger({ level: 'silent', name: 'client-errors' });
const settings: TlsSettings = {
  DATA_DIR: './unused',
  TLS_RELOAD_INTERVAL_MS: 60_000,
  TLS_SELF_SIGNED: 'false',
  TLS_TERMINATED_BY_PROXY: false,
  ALLOW_PLAINTEXT: false,
  HTTP_HEADERS_TIMEOUT_MS: 5_000,
  HTTP_REQUEST_TIMEOUT_MS: 10_000,
};

const apps: { name: string; app: FastifyInstance; port: number }[] = [];
let dir: string;

async function serve(name: string, serverFactory: FastifyServerFactory): Promise<void> {
  const app = Fastify({ serverFactory });
  app.get('/', async () => ({ ok: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  apps.push({ name, app, port: typeof address === 'object' && address ? address.port : 0 });
}

/** Sends `request` on a plain connection; what the server wrote before it closed. */
async function exchange(port: number, request: string): Promise<string> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  socket.write(request);
  await once(socket, 'close');
  return Buffer.concat(chunks).toString();
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hs-client-errors-'));
  const pair = await ensureSelfSigned(dir, ['localhost', '127.0.0.1']);
  await serve('plain', plainServerFactory({ headersTimeoutMs: 5_000, requestTimeoutMs: 10_000 }));
  // TLS and plaintext on one port (loopback): the plain side has its own HTTP server.
  const sniffing = await openServerTransport(
    { ...settings, TLS_CERT_FILE: pair.certFile, TLS_KEY_FILE: pair.keyFile },
    { server: 'test', host: '127.0.0.1', hostVariable: 'HOST' },
    logger,
  );
  expect(sniffing.plaintext).toBe(true);
  if (!sniffing.serverFactory) throw new Error('the TLS transport makes its own servers');
  await serve('tls + plaintext', sniffing.serverFactory);
});

afterAll(async () => {
  await Promise.all(apps.map(({ app }) => app.close()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a malformed request', () => {
  it("is answered 400 and its socket closed, without formatting the parser error's stack", async () => {
    const formatted: string[] = [];
    const previous = Error.prepareStackTrace;
    Error.prepareStackTrace = (error, frames) => {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('HPE_')) formatted.push(code);
      return [String(error), ...frames.map((frame) => `    at ${frame}`)].join('\n');
    };
    try {
      for (const { name, port } of apps) {
        const reply = await exchange(port, 'NOT AN HTTP REQUEST\r\n\r\n');
        expect(reply, name).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
        expect(reply, name).toContain(
          '{"error":"Bad Request","message":"Client Error","statusCode":400}',
        );
      }
    } finally {
      Error.prepareStackTrace = previous;
    }
    expect(formatted).toEqual([]);
  });
});
