import websocket from '@fastify/websocket';
import { CLOSE_CODES } from '@hubstream/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { Connection } from '../core/connection.ts';
import { fire } from '../core/lifecycle.ts';
import type { NodeSettings } from '../core/settings.ts';
import { addressKey, UnauthenticatedConnections } from '../limits/unauthenticated.ts';
import type { AppRegistry } from '../runtime/app-registry.ts';
import type { AppRuntime } from '../runtime/app-runtime.ts';
import { isTextClientFrame, TEXT_CHALLENGE, TextCodec } from './text-codec.ts';
import { refuseUnknownApp, unknownAppReason } from './unknown-app.ts';

// The only place that knows about sockets: it resolves the app on upgrade,
// adapts a ws socket to the core's ClientSocket and feeds it frames.

/** ws refuses frames above this before we see them; apps' own limits are lower. */
export const HARD_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

type AppRequest = FastifyRequest & { hubApp?: AppRuntime };

/**
 * Caps the size of the next frames ws will buffer for this socket. ws has no
 * public per-socket setting; where its receiver is not as expected this does
 * nothing, and the core's own size check (before decoding) still refuses.
 */
function limitFrames(socket: WebSocket, bytes: number): void {
  const receiver = (socket as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  if (receiver && typeof receiver._maxPayload === 'number') receiver._maxPayload = bytes;
}

/** ws's send options: the 2.x client's frames are text (UTF-8 bytes sent as they are). */
const TEXT_FRAME = { binary: false } as const;
const BINARY_FRAME = { binary: true } as const;

/** Bytes a corked socket holds before it is uncorked without waiting for the end of the turn. */
const CORKED_BYTES = 64 * 1024;
/** The TCP sockets corked by `corkedSender` since the last flush. */
let corked: { uncork(): void }[] = [];
let flushScheduled = false;

/** Uncorks every socket corked in this turn of the event loop: each writes its frames at once. */
function flushCorked(): void {
  const sockets = corked;
  corked = [];
  flushScheduled = false;
  let i = 0;
  try {
    for (; i < sockets.length; i++) sockets[i]!.uncork();
  } finally {
    // Should one socket's uncork throw, the others are not left corked.
    if (i < sockets.length - 1) {
      corked.push(...sockets.slice(i + 1));
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushCorked);
      }
    }
  }
}

/**
 * `socket.send`, with every frame sent to the socket in one turn of the
 * event loop going out in one write: the first send of a turn corks the TCP
 * socket, and one setImmediate for all sockets (after the I/O callbacks of
 * the turn: every packet read in it, from any client) uncorks them. ws
 * otherwise makes one writev per frame, and a burst to one client (a bulk
 * message's replies, events of several publishers read in one turn) was a
 * syscall each; one immediate per turn also costs less than a nextTick per
 * socket. Queued bytes still count in `bufferedAmount` (the backpressure
 * bound) while corked, so a socket holding CORKED_BYTES is uncorked at once.
 */
export function corkedSender(socket: WebSocket): (frame: Uint8Array, text?: boolean) => void {
  const tcp = (socket as unknown as { _socket?: { cork?(): void; uncork?(): void } })._socket;
  if (typeof tcp?.cork !== 'function' || typeof tcp.uncork !== 'function')
    return (frame, text) => socket.send(frame, text ? TEXT_FRAME : BINARY_FRAME);
  const entry = {
    isCorked: false,
    uncork() {
      if (!entry.isCorked) return;
      entry.isCorked = false;
      tcp.uncork?.();
    },
  };
  return (frame, text) => {
    if (!entry.isCorked) {
      entry.isCorked = true;
      tcp.cork?.();
      corked.push(entry);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushCorked);
      }
    }
    socket.send(frame, text ? TEXT_FRAME : BINARY_FRAME);
    // A turn's frames to one socket wait in its buffer, where they count
    // against the backpressure bound: past CORKED_BYTES they go out now.
    if (socket.bufferedAmount >= CORKED_BYTES) entry.uncork();
  };
}

function appIdOf(request: FastifyRequest): string | undefined {
  const params = request.params as { appId?: string };
  if (params.appId) return params.appId;
  const query = request.query as { apiKey?: unknown };
  return typeof query.apiKey === 'string' ? query.apiKey : undefined;
}

export async function registerGateway(
  app: FastifyInstance,
  registry: AppRegistry,
  settings: NodeSettings,
): Promise<void> {
  await app.register(websocket, {
    // closeTimeout: a socket whose close handshake does not finish (a client
    // that stopped reading) is destroyed, and its buffers freed, this soon.
    options: {
      maxPayload: HARD_MAX_PAYLOAD_BYTES,
      closeTimeout: settings.closeTimeoutMs,
    } as { maxPayload: number },
    // Draining: every client hears that the node is going away (the official
    // client reconnects on any close it did not ask for: through the load
    // balancer, to another node). No CONNECTION CLOSING message: that one
    // tells the client to stay closed.
    async preClose() {
      for (const client of app.websocketServer.clients)
        client.close(CLOSE_CODES.GOING_AWAY, 'node shutting down');
      await new Promise<void>((resolve) => app.websocketServer.close(() => resolve()));
    },
  });
  const live = new Set<Connection>();
  /** The live connections of 2.x clients: the server sends their heartbeat. */
  const textCodecs = new Map<Connection, TextCodec>();
  const unauthenticated = new UnauthenticatedConnections(() => ({
    perApp: settings.maxUnauthenticatedPerApp,
    perAddress: settings.maxUnauthenticatedPerAddress,
  }));

  // Deepstream's own liveness rule: silent for two heartbeats means gone.
  const sweep = setInterval(() => {
    const cutoff = Date.now() - 2 * settings.heartbeatIntervalMs;
    for (const connection of live) {
      if (connection.lastSeen < cutoff)
        connection.close(CLOSE_CODES.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
    }
    for (const [connection, codec] of textCodecs) codec.ping(connection);
  }, settings.heartbeatIntervalMs);
  sweep.unref();
  app.addHook('onClose', async () => clearInterval(sweep));

  const resolveApp = async (
    request: FastifyRequest,
    reply: { code(n: number): { send(b: unknown): unknown } },
  ) => {
    const appId = appIdOf(request);
    const runtime = appId && /^[a-z0-9]{1,64}$/.test(appId) ? await registry.get(appId) : null;
    if (!runtime) {
      // An upgrade gets in, to be refused at its CHALLENGE (see unknown-app.ts).
      if (request.ws) return undefined;
      return reply.code(404).send({ error: { ...unknownAppReason(appId), details: [] } });
    }
    (request as AppRequest).hubApp = runtime;
    return undefined;
  };

  const onSocket = (socket: WebSocket, request: FastifyRequest) => {
    const runtime = (request as AppRequest).hubApp;
    if (!runtime) {
      // Counted like any socket not logged in (under no app's id), so a crowd of them stays bounded.
      const held = unauthenticated.enter('', addressKey(request.ip));
      if (typeof held === 'string') {
        socket.close(
          CLOSE_CODES.TOO_MANY_UNAUTHENTICATED_CONNECTIONS,
          'too many connections not logged in',
        );
        return;
      }
      socket.on('close', () => held.release());
      limitFrames(socket, settings.preLoginMaxMessageBytes);
      return refuseUnknownApp(socket, appIdOf(request));
    }
    // Not logged in yet: counted per app and per address on this node
    // (they hold no place in the app's connection limit until they log in).
    const ticket = unauthenticated.enter(runtime.appId, addressKey(request.ip));
    if (typeof ticket === 'string') {
      fire(runtime.hooks.guardClosed, ticket);
      request.log.info(
        { app: runtime.appId, remoteAddress: request.ip, cap: ticket },
        'connection refused: too many connections not logged in',
      );
      socket.close(
        CLOSE_CODES.TOO_MANY_UNAUTHENTICATED_CONNECTIONS,
        'too many connections not logged in',
      );
      return;
    }
    limitFrames(socket, settings.preLoginMaxMessageBytes);
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(request.headers)) {
      if (typeof value === 'string') headers[key] = value;
    }
    const send = corkedSender(socket);
    // Chosen by the client's first frame: protobuf, or the 2.x text protocol.
    let codec: TextCodec | undefined;
    let chosen = false;
    const connection = new Connection(
      {
        send: (frame) => send(frame, codec !== undefined),
        get codec() {
          return codec;
        },
        close: (code, reason) => socket.close(code, reason),
        get bufferedBytes() {
          return socket.bufferedAmount;
        },
        loggedIn: () => {
          ticket.release();
          limitFrames(socket, HARD_MAX_PAYLOAD_BYTES);
        },
        pause: () => socket.pause(),
        resume: () => socket.resume(),
      },
      runtime,
      // The client's address: behind a trusted proxy, from its X-Forwarded-For.
      { remoteAddress: request.ip, headers },
    );
    runtime.register(connection);
    live.add(connection);
    // The upgrade's request id and the connection id together: a connection's
    // lines lead back to its HTTP request, and the core logs the same id.
    const log = request.log.child({ connection: connection.id, app: runtime.appId });
    log.debug({ remoteAddress: request.ip }, 'connection opened');
    socket.on('message', (data, isBinary) => {
      const frame = Buffer.isBuffer(data)
        ? data
        : Array.isArray(data)
          ? Buffer.concat(data)
          : Buffer.from(data);
      if (!chosen) {
        chosen = true;
        if (!isBinary && isTextClientFrame(frame)) {
          codec = new TextCodec();
          textCodecs.set(connection, codec);
          log.debug('text protocol (deepstream.io-client-js 2.x)');
        }
      }
      if (codec) {
        // A text client speaks text only.
        if (isBinary)
          connection.receiveMessage({ ok: false, reason: 'BINARY_FRAME' }, frame.length);
        else codec.receive(frame, connection);
      } else if (isBinary) connection.receive(frame);
      else connection.receiveText();
    });
    // The 2.x client says nothing until the server challenges it; a v7
    // client ignores this text frame and sends its own CHALLENGE.
    send(TEXT_CHALLENGE, true);
    const gone = () => {
      ticket.release();
      textCodecs.delete(connection);
      live.delete(connection);
      connection.closed();
    };
    socket.on('close', (code: number) => {
      log.debug({ code, user: connection.user?.id }, 'connection closed');
      gone();
    });
    socket.on('error', (error) => {
      log.debug({ err: error }, 'connection failed');
      gone();
    });
  };

  app.get('/deepstream', { websocket: true, preValidation: resolveApp }, onSocket);
  app.get('/:appId', { websocket: true, preValidation: resolveApp }, onSocket);
}
