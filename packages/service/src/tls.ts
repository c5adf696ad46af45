import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { FastifyServerFactory } from 'fastify';
import { answerClientErrors } from './client-errors.ts';
import type { Logger } from './logger.ts';

// How the control plane and the realtime node face the network: TLS from
// TLS_CERT_FILE/TLS_KEY_FILE (or a self-signed pair made into DATA_DIR),
// reloaded when the files change, and the secure-by-default rule that no
// server serves plaintext on a non-loopback address unless told so.

/** Older protocol versions are refused during the handshake. */
export const MIN_TLS_VERSION = 'TLSv1.2';

/** The settings this module reads (a subset of @hubstream/config's Config). */
export type TlsSettings = {
  readonly DATA_DIR: string;
  readonly TLS_CERT_FILE?: string | undefined;
  readonly TLS_KEY_FILE?: string | undefined;
  readonly TLS_RELOAD_INTERVAL_MS: number;
  readonly TLS_SELF_SIGNED: 'auto' | 'true' | 'false';
  readonly TLS_TERMINATED_BY_PROXY: boolean;
  readonly ALLOW_PLAINTEXT: boolean;
  readonly PUBLIC_HTTP_URL?: string | undefined;
  readonly PUBLIC_REALTIME_URL?: string | undefined;
  /** How long a client may take to send a request's headers (default 10 s). */
  readonly HTTP_HEADERS_TIMEOUT_MS?: number | undefined;
  /** How long a client may take to send a whole request (default 30 s). */
  readonly HTTP_REQUEST_TIMEOUT_MS?: number | undefined;
};

/** The bounds every listening port puts on a client that is slow to send its request. */
export type RequestTimeouts = {
  /** Headers (and, where TLS and plaintext share a port, the first byte and the TLS handshake). */
  headersTimeoutMs: number;
  /** The whole request, headers and body; 408 after it. */
  requestTimeoutMs: number;
};

export function requestTimeouts(settings: {
  readonly HTTP_HEADERS_TIMEOUT_MS?: number | undefined;
  readonly HTTP_REQUEST_TIMEOUT_MS?: number | undefined;
}): RequestTimeouts {
  const headersTimeoutMs = settings.HTTP_HEADERS_TIMEOUT_MS ?? 10_000;
  // Node refuses a headers timeout above the request timeout.
  const requestTimeoutMs = Math.max(settings.HTTP_REQUEST_TIMEOUT_MS ?? 30_000, headersTimeoutMs);
  return { headersTimeoutMs, requestTimeoutMs };
}

/**
 * Node's options for an HTTP(S) server with these bounds. Node checks them
 * on an interval (30 s by default, far too coarse for a 10 s bound): here a
 * quarter of the headers timeout, between 250 ms and 5 s.
 */
function serverOptions(timeouts: RequestTimeouts): http.ServerOptions {
  return {
    headersTimeout: timeouts.headersTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(
      250,
      Math.min(5_000, Math.floor(timeouts.headersTimeoutMs / 4)),
    ),
  };
}

/**
 * Fastify's `serverFactory` for a plain HTTP server that drops clients slow
 * to send their requests (a slowloris holds a socket and a parser per
 * connection for as long as it is let). For any server that does not go
 * through openServerTransport, such as the worker's health server.
 */
export function plainServerFactory(timeouts: RequestTimeouts): FastifyServerFactory {
  return (handler, options) => {
    const server = http.createServer(serverOptions(timeouts), handler);
    fastifyTimeouts(server, options);
    answerClientErrors(server);
    return server;
  };
}

/** The socket timeouts fastify sets on a server it makes itself (its options are typed loosely here, so only numbers count). */
function fastifyTimeouts(target: http.Server, options: Record<string, unknown>): void {
  const number = (value: unknown) => (typeof value === 'number' && value > 0 ? value : undefined);
  const keepAlive = number(options.keepAliveTimeout);
  const connection = number(options.connectionTimeout);
  if (keepAlive !== undefined) target.keepAliveTimeout = keepAlive;
  if (connection !== undefined) target.setTimeout(connection);
}

/** Whether `host` (a listen address or name) only reaches this machine. */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost') || name === '::1') return true;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(name)?.[1] ?? name;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** A server would serve plaintext where it must not. */
export class InsecureListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InsecureListenError';
  }
}

export type ListenTarget = {
  /** What the messages call the server: 'control plane', 'realtime node'. */
  server: string;
  /** The address it listens on and the variable that set it. */
  host: string;
  hostVariable: string;
};

/**
 * Whether a server on `target.host` may take plaintext connections: on
 * loopback, behind a TLS-terminating proxy, or when explicitly allowed.
 */
export function plaintextAllowed(settings: TlsSettings, target: ListenTarget): boolean {
  return (
    isLoopbackHost(target.host) || settings.TLS_TERMINATED_BY_PROXY || settings.ALLOW_PLAINTEXT
  );
}

/** Throws InsecureListenError, naming the settings to use, when the server would only serve plaintext where it must not. */
export function assertSecureListen(settings: TlsSettings, target: ListenTarget): void {
  if (settings.TLS_CERT_FILE !== undefined || plaintextAllowed(settings, target)) return;
  throw new InsecureListenError(
    `The ${target.server} would serve unencrypted http:// and ws:// on ${target.host} ` +
      `(${target.hostVariable}), which is not a loopback address. Set TLS_CERT_FILE and ` +
      'TLS_KEY_FILE to serve https:// and wss:// (or TLS_SELF_SIGNED=true for a self-signed ' +
      'certificate), set TLS_TERMINATED_BY_PROXY=true if a proxy in front of it terminates TLS, ' +
      `or set ALLOW_PLAINTEXT=true to serve plaintext anyway; or listen on 127.0.0.1.`,
  );
}

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
}

/**
 * Resolves TLS_SELF_SIGNED: with `true` (or `auto` in `pnpm start` when every
 * server listens on loopback), and no TLS_CERT_FILE, makes or reuses the
 * self-signed pair in DATA_DIR/tls and returns settings that name its files,
 * with TLS_SELF_SIGNED `true`; otherwise the settings with TLS_SELF_SIGNED
 * `false`, unless a certificate is configured. Logs the fingerprint and the
 * CA file to trust.
 */
export async function resolveSelfSigned<T extends TlsSettings>(
  settings: T,
  context: { standalone: boolean; hosts: readonly string[]; logger: Logger },
): Promise<T> {
  if (settings.TLS_CERT_FILE !== undefined) return settings;
  const wanted =
    settings.TLS_SELF_SIGNED === 'true' ||
    (settings.TLS_SELF_SIGNED === 'auto' &&
      context.standalone &&
      context.hosts.every((host) => isLoopbackHost(host)));
  if (!wanted) return { ...settings, TLS_SELF_SIGNED: 'false' };
  const wildcard = (host: string) => host === '0.0.0.0' || host === '::' || host === '';
  const names = new Set(['localhost', '127.0.0.1', '::1', hostname()]);
  for (const host of context.hosts) if (!wildcard(host)) names.add(host);
  for (const url of [settings.PUBLIC_HTTP_URL, settings.PUBLIC_REALTIME_URL]) {
    const host = hostOf(url);
    if (host) names.add(host);
  }
  // Loaded on demand: only this path needs the X.509 library.
  const { ensureSelfSigned } = await import('./certificates.ts');
  const pair = await ensureSelfSigned(path.join(settings.DATA_DIR, 'tls'), [...names]);
  context.logger.info(
    {
      tls: {
        selfSigned: true,
        certFile: pair.certFile,
        caFile: pair.caFile,
        fingerprint256: pair.fingerprint,
        caFingerprint256: pair.caFingerprint,
        created: pair.created,
      },
    },
    `TLS: ${pair.created ? 'made a' : 'using the'} self-signed certificate ${pair.certFile} ` +
      `(SHA-256 ${pair.fingerprint}). To trust it, trust the CA ${pair.caFile} ` +
      `(SHA-256 ${pair.caFingerprint}), e.g. NODE_EXTRA_CA_CERTS=${pair.caFile} for Node clients.`,
  );
  return {
    ...settings,
    TLS_SELF_SIGNED: 'true',
    TLS_CERT_FILE: pair.certFile,
    TLS_KEY_FILE: pair.keyFile,
  };
}

type Pem = { cert: Buffer; key: Buffer };

async function readPair(certFile: string, keyFile: string): Promise<Pem> {
  const read = async (file: string, variable: string) => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new Error(`Cannot read ${variable} (${file}): ${(error as Error).message}`);
    }
  };
  return { cert: await read(certFile, 'TLS_CERT_FILE'), key: await read(keyFile, 'TLS_KEY_FILE') };
}

function contextOptions(pem: Pem): SecureContextOptions {
  return { cert: pem.cert, key: pem.key, minVersion: MIN_TLS_VERSION };
}

/** Checks that a certificate and key make a usable pair; throws a message naming the files. */
function validate(pem: Pem, certFile: string, keyFile: string): void {
  try {
    createSecureContext(contextOptions(pem));
  } catch (error) {
    throw new Error(
      `TLS_CERT_FILE (${certFile}) and TLS_KEY_FILE (${keyFile}) are not a usable certificate and key: ${(error as Error).message}`,
    );
  }
}

function fingerprintOf(cert: Buffer): string | undefined {
  try {
    // The first certificate of the chain: the server's own.
    return new X509Certificate(cert).fingerprint256;
  } catch {
    return undefined;
  }
}

export type ServerTransport = {
  /** Whether the server speaks TLS (https://, wss://). */
  secure: boolean;
  /** Whether it also takes plaintext on the same port (told apart by the first byte). */
  plaintext: boolean;
  /** For Fastify's `serverFactory`; undefined: fastify's own plain HTTP server. */
  serverFactory: FastifyServerFactory | undefined;
  /** SHA-256 fingerprint of the certificate served now. */
  fingerprint(): string | undefined;
  /** Looks at the certificate files now; true when a new certificate was taken. */
  reload(): Promise<boolean>;
};

/**
 * How one server listens, from the settings: plain HTTP, or HTTPS from
 * TLS_CERT_FILE/TLS_KEY_FILE (also taking plaintext on the same port where
 * plaintext is allowed). Throws InsecureListenError when neither may be.
 * The files are looked at every TLS_RELOAD_INTERVAL_MS; a new valid pair is
 * given to `setSecureContext`, so new connections get it and open ones stay.
 */
export async function openServerTransport(
  settings: TlsSettings,
  target: ListenTarget,
  logger: Logger,
): Promise<ServerTransport> {
  assertSecureListen(settings, target);
  const plaintext = plaintextAllowed(settings, target);
  if (settings.TLS_TERMINATED_BY_PROXY) {
    const insecure = (['PUBLIC_HTTP_URL', 'PUBLIC_REALTIME_URL'] as const).filter(
      (name) => !/^(https|wss):\/\//.test(settings[name] ?? ''),
    );
    if (insecure.length > 0) {
      logger.warn(
        { unset: insecure },
        `TLS_TERMINATED_BY_PROXY is set but ${insecure.join(' and ')} ${insecure.length > 1 ? 'are' : 'is'} not https:// or wss://: links and app URLs will not name the proxy's TLS address`,
      );
    }
  }
  const timeouts = requestTimeouts(settings);
  const { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile } = settings;
  if (certFile === undefined || keyFile === undefined) {
    return {
      secure: false,
      plaintext: true,
      serverFactory: plainServerFactory(timeouts),
      fingerprint: () => undefined,
      reload: async () => false,
    };
  }
  let current = await readPair(certFile, keyFile);
  validate(current, certFile, keyFile);
  let server: https.Server | undefined;
  const log = logger.child({ tls: { server: target.server } });

  const reload = async (): Promise<boolean> => {
    let next: Pem;
    try {
      next = await readPair(certFile, keyFile);
    } catch (error) {
      log.warn({ err: error }, 'TLS: cannot read the certificate files; keeping the current one');
      return false;
    }
    if (next.cert.equals(current.cert) && next.key.equals(current.key)) return false;
    try {
      validate(next, certFile, keyFile);
    } catch (error) {
      // Often a rotation caught halfway (the certificate written, not yet its key).
      log.warn(
        { err: error },
        'TLS: the new certificate files are not a usable pair (yet); keeping the current one',
      );
      return false;
    }
    current = next;
    server?.setSecureContext(contextOptions(next));
    log.info(
      { fingerprint256: fingerprintOf(next.cert) },
      'TLS: new certificate loaded; new connections get it, open ones stay up',
    );
    return true;
  };

  const serverFactory: FastifyServerFactory = (handler, options) => {
    const created = https.createServer(
      {
        ...contextOptions(current),
        ...serverOptions(timeouts),
        // A TLS handshake that does not finish is dropped as a slow request is.
        handshakeTimeout: timeouts.headersTimeoutMs,
      },
      handler,
    );
    server = created;
    fastifyTimeouts(created, options);
    answerClientErrors(created as unknown as http.Server);
    if (plaintext) fastifyTimeouts(acceptPlaintextToo(created, handler, timeouts), options);
    let reloading = false;
    const timer = setInterval(() => {
      if (reloading) return;
      reloading = true;
      void reload().finally(() => {
        reloading = false;
      });
    }, settings.TLS_RELOAD_INTERVAL_MS);
    timer.unref();
    created.on('close', () => clearInterval(timer));
    // Fastify types its default server as http.Server; an https.Server
    // answers the same calls (listen, address, close, upgrade events).
    return created as unknown as http.Server;
  };

  return {
    secure: true,
    plaintext,
    serverFactory,
    fingerprint: () => fingerprintOf(current.cert),
    reload,
  };
}

/**
 * Makes an HTTPS server also serve plain HTTP (and WebSocket upgrades) on
 * its port: a TLS connection starts with a handshake record (first byte
 * 0x16), which no HTTP request does. Plain connections go to an HTTP server
 * with the same request handler, whose upgrades are handed to the HTTPS
 * server's listeners (where the WebSocket plugin listens).
 */
function acceptPlaintextToo(
  server: https.Server,
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  timeouts: RequestTimeouts,
): http.Server {
  const plain = http.createServer(serverOptions(timeouts), handler);
  answerClientErrors(plain);
  // The plain side hands upgrades on only while the HTTPS server has an
  // upgrade listener. Node treats an upgrade to a server with none as an
  // ordinary request (the handler answers it: Fastify's 503 while a node
  // closes, once the WebSocket plugin's preClose took its listener off); a
  // forward that nobody took would leave the socket unanswered, and the
  // server's close waiting for it.
  const forward = (request: http.IncomingMessage, socket: Duplex, head: Buffer) =>
    server.emit('upgrade', request, socket, head);
  server.on('newListener', (event: string | symbol) => {
    if (event === 'upgrade' && plain.listenerCount('upgrade') === 0) plain.on('upgrade', forward);
  });
  server.on('removeListener', (event: string | symbol) => {
    if (event === 'upgrade' && server.listenerCount('upgrade') === 0) {
      plain.removeListener('upgrade', forward);
    }
  });
  if (server.listenerCount('upgrade') > 0) plain.on('upgrade', forward);
  // Node enforces the headers and request timeouts from a check it starts
  // when a server listens, and this one never listens itself: it starts
  // (and stops) with the server whose connections it is handed.
  server.on('listening', () => plain.emit('listening'));
  server.on('close', () => plain.close(() => {}));
  const tlsListeners = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const drop = () => socket.destroy();
    // Silent from the start: dropped as a slow request would be.
    socket.setTimeout(timeouts.headersTimeoutMs, drop);
    socket.once('error', drop);
    socket.once('end', drop);
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      socket.removeListener('error', drop);
      socket.removeListener('end', drop);
      socket.unshift(chunk);
      if (chunk[0] === 0x16) {
        // The TLS socket reads what is buffered; resuming here would drop it.
        for (const listener of tlsListeners) listener.call(server, socket);
      } else {
        plain.emit('connection', socket);
        socket.resume();
      }
    });
  });
  // Fastify closes idle keep-alive connections on close; the plain ones too.
  const closeIdle = server.closeIdleConnections.bind(server);
  server.closeIdleConnections = () => {
    closeIdle();
    plain.closeIdleConnections();
  };
  const closeAll = server.closeAllConnections.bind(server);
  server.closeAllConnections = () => {
    closeAll();
    plain.closeAllConnections();
  };
  return plain;
}

/**
 * The transport of one production role's server: its settings with
 * TLS_SELF_SIGNED resolved (never made on `auto` outside `pnpm start`), and
 * the server factory for them. Throws InsecureListenError before anything
 * opens when the server may not listen as configured.
 */
export async function openRoleTransport<T extends TlsSettings>(
  settings: T,
  target: ListenTarget,
  logger: Logger,
): Promise<{ config: T; transport: ServerTransport }> {
  const config = await resolveSelfSigned(settings, {
    standalone: false,
    hosts: [target.host],
    logger,
  });
  return { config, transport: await openServerTransport(config, target, logger) };
}
