import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyServerFactory } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSelfSigned } from '../src/certificates.ts';
import { createLogger } from '../src/logger.ts';
import { openServerTransport, plainServerFactory, type TlsSettings } from '../src/tls.ts';

// Every way a port listens (plain, TLS, TLS and plaintext told apart by the
// first byte) drops a client that does not finish its request headers in
// time: a raw socket sends part of a request line and the server closes it.
// Upgraded sockets (WebSockets) are past their request and stay open.

const logger = createLogger({ level: 'silent', name: 'timeouts' });
const HEADERS_MS = 300;
const base: TlsSettings = {
  DATA_DIR: './unused',
  TLS_RELOAD_INTERVAL_MS: 60_000,
  TLS_SELF_SIGNED: 'false',
  TLS_TERMINATED_BY_PROXY: false,
  ALLOW_PLAINTEXT: false,
  HTTP_HEADERS_TIMEOUT_MS: HEADERS_MS,
  HTTP_REQUEST_TIMEOUT_MS: HEADERS_MS * 2,
};

type Port = { name: string; app: FastifyInstance; port: number; tls: boolean; plain: boolean };

async function serve(
  name: string,
  serverFactory: FastifyServerFactory | undefined,
  kinds: { tls: boolean; plain: boolean },
): Promise<Port> {
  const app = Fastify(serverFactory ? { serverFactory } : {});
  app.get('/', async () => ({ ok: true }));
  await app.ready();
  // A stand-in for the WebSocket plugin: answers any upgrade and keeps the socket.
  app.server.on('upgrade', (_request, socket: net.Socket) => {
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n',
    );
    socket.on('data', (chunk: Buffer) => socket.write(chunk));
    // HTTP servers allow half-open sockets: end ours when the client ends its side.
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { name, app, port, ...kinds };
}

/** A raw connection, over TLS when `secure`; resolves once connected. */
async function connect(port: number, secure: boolean): Promise<net.Socket> {
  if (secure) {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    await once(socket, 'secureConnect');
    return socket;
  }
  const socket = net.connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return socket;
}

/** Resolves when the server ends the connection. */
function ended(socket: net.Socket): Promise<void> {
  socket.on('error', () => {});
  socket.resume();
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    socket.once('close', () => resolve());
  });
}

describe('request header timeouts on every listening port', () => {
  const ports: Port[] = [];
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hs-timeouts-'));
    const pair = await ensureSelfSigned(dir, ['localhost', '127.0.0.1']);
    const withCert = { ...base, TLS_CERT_FILE: pair.certFile, TLS_KEY_FILE: pair.keyFile };
    const target = (host: string) => ({ server: 'test', host, hostVariable: 'HOST' });
    const plainOnly = await openServerTransport(base, target('127.0.0.1'), logger);
    const tlsOnly = await openServerTransport(withCert, target('0.0.0.0'), logger);
    const sniffing = await openServerTransport(withCert, target('127.0.0.1'), logger);
    expect([plainOnly.plaintext, tlsOnly.plaintext, sniffing.plaintext]).toEqual([
      true,
      false,
      true,
    ]);
    ports.push(await serve('plain', plainOnly.serverFactory, { tls: false, plain: true }));
    ports.push(await serve('tls', tlsOnly.serverFactory, { tls: true, plain: false }));
    ports.push(await serve('sniffing', sniffing.serverFactory, { tls: true, plain: true }));
    ports.push(
      await serve(
        'plainServerFactory',
        plainServerFactory({ headersTimeoutMs: HEADERS_MS, requestTimeoutMs: HEADERS_MS * 2 }),
        { tls: false, plain: true },
      ),
    );
  });
  afterAll(async () => {
    await Promise.all(ports.map((p) => p.app.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('answers whole requests and drops partial ones, plain and TLS', async () => {
    for (const port of ports) {
      for (const secure of [false, true]) {
        if (secure ? !port.tls : !port.plain) continue;
        const what = `${port.name} ${secure ? 'tls' : 'plain'}`;
        // An upgraded socket first: it must outlive the slow one below.
        const upgraded = await connect(port.port, secure);
        upgraded.write(
          'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n',
        );
        await once(upgraded, 'data');

        const whole = await connect(port.port, secure);
        whole.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        const [reply] = (await once(whole, 'data')) as [Buffer];
        expect(reply.toString().split('\r\n')[0], what).toBe('HTTP/1.1 200 OK');

        const slow = await connect(port.port, secure);
        slow.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ');
        await ended(slow);

        // Still there: an upgraded socket has no request left to time out.
        upgraded.write('still here');
        const [echo] = (await once(upgraded, 'data')) as [Buffer];
        expect(echo.toString(), what).toBe('still here');
        upgraded.destroy();
        whole.destroy();
      }
    }
  });

  it('drops a socket that says nothing, or stops inside the TLS handshake', async () => {
    for (const port of ports) {
      const silent = net.connect({ host: '127.0.0.1', port: port.port });
      await once(silent, 'connect');
      await ended(silent);
      if (!port.tls) continue;
      // The first byte of a TLS handshake record, then nothing.
      const stalled = net.connect({ host: '127.0.0.1', port: port.port });
      await once(stalled, 'connect');
      stalled.write(Buffer.from([0x16, 0x03, 0x01]));
      await ended(stalled);
    }
  });
});

// A server whose upgrade listener came off (the WebSocket plugin's preClose,
// when a node closes) answers an upgrade as an ordinary request, as Node does
// for a server with no upgrade listener: on every kind of port, also the
// plain side of a port that takes TLS and plaintext, which hands its upgrades
// to the HTTPS server's listeners. Unanswered, such a socket would hold the
// server's close open.
describe('upgrades once the upgrade listener is gone', () => {
  const apps: FastifyInstance[] = [];
  let dir: string;
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('are answered by the request handler, plain and TLS', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hs-upgrades-'));
    const pair = await ensureSelfSigned(dir, ['localhost', '127.0.0.1']);
    const withCert = { ...base, TLS_CERT_FILE: pair.certFile, TLS_KEY_FILE: pair.keyFile };
    const target = (host: string) => ({ server: 'test', host, hostVariable: 'HOST' });
    const kinds = [
      { name: 'plain', transport: await openServerTransport(base, target('127.0.0.1'), logger) },
      { name: 'tls', transport: await openServerTransport(withCert, target('0.0.0.0'), logger) },
      {
        name: 'sniffing',
        transport: await openServerTransport(withCert, target('127.0.0.1'), logger),
      },
    ];
    for (const { name, transport } of kinds) {
      const factory = transport.serverFactory;
      const app = Fastify(factory ? { serverFactory: factory } : {});
      apps.push(app);
      app.get('/ws', async (_request, reply) => reply.code(426).send('no upgrades here'));
      await app.ready();
      const taken: string[] = [];
      const listener = (_request: unknown, socket: net.Socket) => {
        taken.push(name);
        socket.destroy();
      };
      app.server.on('upgrade', listener);
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const upgrade = 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n';
      const ways = [...(transport.plaintext ? [false] : []), ...(transport.secure ? [true] : [])];
      // With the listener on, it takes the upgrade.
      for (const secure of ways) {
        const socket = await connect(port, secure);
        socket.write(upgrade);
        await ended(socket);
      }
      expect(taken, name).toHaveLength(ways.length);
      app.server.removeListener('upgrade', listener);
      for (const secure of ways) {
        const socket = await connect(port, secure);
        socket.write(upgrade);
        const [reply] = (await once(socket, 'data', { signal: AbortSignal.timeout(5_000) })) as [
          Buffer,
        ];
        expect(reply.toString().split('\r\n')[0], `${name} ${secure ? 'tls' : 'plain'}`).toBe(
          'HTTP/1.1 426 Upgrade Required',
        );
        socket.destroy();
      }
      expect(taken, name).toHaveLength(ways.length);
    }
  });
});
