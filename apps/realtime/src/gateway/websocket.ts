import { ServerResponse } from 'node:http';
import websocket from '@fastify/websocket';
import { CLOSE_CODES } from '@hubstream/protocol';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, LogLevel } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { beforeSlices } from '../core/bulk-slices.ts';
import type { ClientSocket } from '../core/client-socket.ts';
import { Connection } from '../core/connection.ts';
import { fire } from '../core/lifecycle.ts';
import type { NodeCounters } from '../core/node-counters.ts';
import type { NodeSettings } from '../core/settings.ts';
import {
  addressKey,
  UnauthenticatedConnections,
  type UnauthenticatedTicket,
} from '../limits/unauthenticated.ts';
import type { AppRegistry } from '../runtime/app-registry.ts';
import type { AppRuntime } from '../runtime/app-runtime.ts';
import { closeFrame, upgradeGate } from './early-refusal.ts';
import { isTextClientFrame, TEXT_CHALLENGE, TextCodec } from './text-codec.ts';
import { refuseUnknownApp, unknownAppReason } from './unknown-app.ts';
import { limitFrames, plainProtocolErrors, stopReading } from './ws-reading.ts';

// The only place that knows about sockets: it resolves the app on upgrade,
// adapts a ws socket to the core's ClientSocket and feeds it frames.

/** ws refuses frames above this before we see them; apps' own limits are lower. */
export const HARD_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

type AppRequest = FastifyRequest & { hubApp?: AppRuntime };

/** ws's send options: the 2.x client's frames are text (UTF-8 bytes sent as they are). */
const TEXT_FRAME = { binary: false } as const;
const BINARY_FRAME = { binary: true } as const;

/** Bytes a corked socket holds before it is uncorked without waiting for the end of the turn. */
const CORKED_BYTES = 64 * 1024;
/**
 * How long a corked frame may wait for the end of its turn (ms) while the
 * turn goes on with connections that are not logged in. A turn that handles
 * a crowd's handshakes and logins runs long, and the frames it wrote in its
 * first callbacks would wait for all the others: a new socket, a close, or
 * a frame of a connection not logged in first sends what has waited this
 * long (flushStaleCorks). Logged-in connections' input does not: a turn's
 * writes to one socket stay one write while the node is busy with real
 * traffic (bench:realtime fan-out, 10 publishers to 100 subscribers,
 * flushing on every frame: 1.45 -> 1.25 M events/s).
 */
const CORK_WAIT_MS = 0.25;
/** The writers corked since the last flush. */
let corked: CorkedWriter[] = [];
let flushScheduled = false;
/** When the first of `corked` was corked (performance.now()). */
let corkedSince = 0;

/** The end of the turn: uncorks every socket corked in it. */
function flushCorked(): void {
  flushScheduled = false;
  uncorkAll();
}

/**
 * Sends what has waited in corked sockets for CORK_WAIT_MS or more, before
 * other input of the same turn is handled (called as a connection's input
 * arrives): a frame waits for at most about that long plus one callback,
 * not for the rest of a long turn.
 */
export function flushStaleCorks(): void {
  if (corked.length !== 0 && performance.now() - corkedSince >= CORK_WAIT_MS) uncorkAll();
}

/** Uncorks every socket corked since the last flush: each writes its frames at once. */
function uncorkAll(): void {
  const writers = corked;
  corked = [];
  let i = 0;
  try {
    for (; i < writers.length; i++) writers[i]!.uncork();
  } finally {
    // Should one socket's uncork throw, the others are not left corked.
    if (i < writers.length - 1) {
      corked.push(...writers.slice(i + 1));
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushCorked);
      }
    }
  }
}

// The turn's sliced work (bulk-slices.ts) resumes after the turn's writes
// are out: an event read in this turn does not wait in a corked socket for
// another connection's slice of a 1,000-name SUBSCRIBE (the drain can run
// before this module's own immediate, which then finds nothing to flush).
beforeSlices(flushCorked);

type TcpSocket = { cork?(): void; uncork?(): void };

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
 * A class, not closures: every idle connection holds one.
 */
class CorkedWriter {
  readonly socket: WebSocket;
  readonly #tcp: TcpSocket | undefined;
  #isCorked = false;

  constructor(socket: WebSocket) {
    this.socket = socket;
    const tcp = (socket as unknown as { _socket?: TcpSocket })._socket;
    this.#tcp =
      typeof tcp?.cork === 'function' && typeof tcp.uncork === 'function' ? tcp : undefined;
  }

  write(frame: Uint8Array, text: boolean): void {
    const socket = this.socket;
    if (this.#tcp === undefined) {
      socket.send(frame, text ? TEXT_FRAME : BINARY_FRAME);
      return;
    }
    if (!this.#isCorked) {
      this.#isCorked = true;
      this.#tcp.cork?.();
      if (corked.length === 0) corkedSince = performance.now();
      corked.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushCorked);
      }
    }
    socket.send(frame, text ? TEXT_FRAME : BINARY_FRAME);
    // A turn's frames to one socket wait in its buffer, where they count
    // against the backpressure bound: past CORKED_BYTES they go out now.
    if (socket.bufferedAmount >= CORKED_BYTES) this.uncork();
  }

  uncork(): void {
    if (!this.#isCorked) return;
    this.#isCorked = false;
    this.#tcp?.uncork?.();
  }
}

/** A corked writer as a function (see CorkedWriter). */
export function corkedSender(socket: WebSocket): (frame: Uint8Array, text?: boolean) => void {
  const writer = new CorkedWriter(socket);
  return (frame, text) => writer.write(frame, text === true);
}

/** Where a socket's listeners find their client (one shared function per event, not closures per socket). */
const CLIENT = Symbol('hubstream.client');
type ClientWebSocket = WebSocket & { [CLIENT]?: WsClient };

/** What the gateway needs besides the socket: the node's sets and logger. */
type GatewayState = {
  log: FastifyBaseLogger;
  live: Set<Connection>;
  textCodecs: Map<Connection, TextCodec>;
};

/**
 * One ws socket as the core's ClientSocket, with what the gateway keeps of
 * its connection. An idle logged-in connection holds this, its Connection
 * and ws's own objects: methods instead of closures, no child logger (the
 * ids go on each line), and nothing of the upgrade's request and response
 * (see `release`).
 */
class WsClient extends CorkedWriter implements ClientSocket {
  /** Chosen by the client's first frame: protobuf, or the 2.x text protocol. */
  codec: TextCodec | undefined;
  chosen = false;
  connection!: Connection;
  /** The connection's place among those not logged in; null once given back. */
  ticket: UnauthenticatedTicket | null;
  /** The upgrade's request id, on every line of the connection. */
  readonly reqId: string;
  readonly gateway: GatewayState;
  #stopped = false;

  constructor(
    socket: WebSocket,
    ticket: UnauthenticatedTicket,
    reqId: string,
    gateway: GatewayState,
  ) {
    super(socket);
    this.ticket = ticket;
    this.reqId = reqId;
    this.gateway = gateway;
  }

  send(frame: Uint8Array): void {
    this.write(frame, this.codec !== undefined);
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  get bufferedBytes(): number {
    return this.socket.bufferedAmount;
  }

  loggedIn(): void {
    this.#release();
    limitFrames(this.socket, HARD_MAX_PAYLOAD_BYTES);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!this.#stopped) this.socket.resume();
  }

  /** A guard close: see ws-reading.ts. */
  stopReading(): void {
    this.#stopped = true;
    this.uncork();
    stopReading(this.socket);
  }

  #release(): void {
    this.ticket?.release();
    this.ticket = null;
  }

  /** A debug line with the connection's, its app's and the upgrade's ids. */
  debug(fields: object, message: string): void {
    this.gateway.log.debug(
      {
        reqId: this.reqId,
        connection: this.connection.id,
        app: this.connection.app.appId,
        ...fields,
      },
      message,
    );
  }

  /** The transport is gone. */
  gone(): void {
    this.#release();
    this.gateway.textCodecs.delete(this.connection);
    this.gateway.live.delete(this.connection);
    this.connection.closed();
  }
}

function onClientMessage(this: ClientWebSocket, data: RawData, isBinary: boolean): void {
  const client = this[CLIENT];
  if (!client) return;
  const connection = client.connection;
  if (connection.state !== 'open') flushStaleCorks();
  const frame = Buffer.isBuffer(data)
    ? data
    : Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.from(data);
  if (!client.chosen) {
    client.chosen = true;
    if (!isBinary && isTextClientFrame(frame)) {
      client.codec = new TextCodec();
      client.gateway.textCodecs.set(connection, client.codec);
      client.debug({}, 'text protocol (deepstream.io-client-js 2.x)');
    }
  }
  const codec = client.codec;
  if (codec) {
    // A text client speaks text only.
    if (isBinary) connection.receiveMessage({ ok: false, reason: 'BINARY_FRAME' }, frame.length);
    else codec.receive(frame, connection);
  } else if (isBinary) connection.receive(frame);
  else connection.receiveText();
}

function onClientClose(this: ClientWebSocket, code: number): void {
  const client = this[CLIENT];
  if (!client) return;
  flushStaleCorks();
  client.debug({ code, user: client.connection.user?.id }, 'connection closed');
  client.gone();
}

/**
 * The code of a client's own protocol fault (ws's WS_ERR_* errors: a frame
 * over the size cap, a bad opcode or close code, invalid UTF-8); undefined
 * for any other error.
 */
function clientFault(error: Error): string | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' && code.startsWith('WS_ERR_') ? code : undefined;
}

/**
 * In place of @fastify/websocket's own error listener (which holds the
 * upgrade's request and reply): its log line and end. A client's protocol
 * fault is logged as a warning by its code, without the error's stack: a
 * stack of ws's frame parser says nothing about the client, and formatting
 * the process's first stack makes node (--enable-source-maps) parse the
 * bundle's source map, 250 ms with the event loop stopped (bench:attacks,
 * frames while login pending: every app's clients waited for a pre-login
 * frame over the cap).
 */
function onClientError(this: ClientWebSocket, error: Error): void {
  const client = this[CLIENT];
  if (client) {
    const fault = clientFault(error);
    if (fault) client.gateway.log.warn({ reqId: client.reqId, code: fault }, error.message);
    else client.gateway.log.error({ reqId: client.reqId, err: error }, error.message);
    client.debug(fault ? { code: fault } : { err: error }, 'connection failed');
    client.gone();
  }
  this.terminate();
}

/**
 * Lets go of the upgrade's HTTP objects, which an open socket otherwise
 * holds for its whole life: @fastify/websocket's error listener (a closure
 * over the request and the hijacked reply; onClientError does what it did)
 * and the ServerResponse it assigned to the TCP socket (never written: the
 * socket was upgraded), with the IncomingMessage and the upgrade's head.
 */
function releaseUpgrade(socket: WebSocket): void {
  socket.removeAllListeners('error');
  const tcp = (socket as unknown as { _socket?: { _httpMessage?: unknown } })._socket;
  const response = tcp?._httpMessage;
  if (response instanceof ServerResponse) response.detachSocket(tcp as never);
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
  counters: NodeCounters,
): Promise<void> {
  const unauthenticated = new UnauthenticatedConnections(() => ({
    perApp: settings.maxUnauthenticatedPerApp,
    perAddress: settings.maxUnauthenticatedPerAddress,
  }));
  // An address already at its cap is refused at the upgrade itself, with the
  // same close code (early-refusal.ts); every other upgrade goes through the
  // gate to the WebSocket plugin. Only when the socket's own address is the
  // client's: with an X-Forwarded-For header, the usual path works out the
  // address from it (trusted proxies) and refuses there.
  const gate = upgradeGate(app.server, {
    refuses: (request) =>
      request.headers['x-forwarded-for'] === undefined &&
      request.socket.remoteAddress !== undefined &&
      unauthenticated.addressAtCap(addressKey(request.socket.remoteAddress)),
    frame: closeFrame(
      CLOSE_CODES.TOO_MANY_UNAUTHENTICATED_CONNECTIONS,
      'too many connections not logged in',
    ),
    closeTimeoutMs: settings.closeTimeoutMs,
    refused: () => counters.guardCloses.add('unauthenticated_per_address'),
  });
  await app.register(websocket, {
    // closeTimeout: a socket whose close handshake does not finish (a client
    // that stopped reading) is destroyed, and its buffers freed, this soon.
    // server: the plugin listens for upgrades on the gate, not on app.server
    // (its preClose takes its listener off the gate, and the gate off app.server).
    options: {
      maxPayload: HARD_MAX_PAYLOAD_BYTES,
      closeTimeout: settings.closeTimeoutMs,
      server: gate,
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
  const gateway: GatewayState = { log: app.log, live, textCodecs };
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
    flushStaleCorks();
    plainProtocolErrors(socket);
    const runtime = (request as AppRequest).hubApp;
    if (!runtime) {
      // Counted like any socket not logged in (under no app's id), so a crowd of them stays bounded.
      const held = unauthenticated.enter('', addressKey(request.ip));
      if (typeof held === 'string') {
        socket.close(
          CLOSE_CODES.TOO_MANY_UNAUTHENTICATED_CONNECTIONS,
          'too many connections not logged in',
        );
        stopReading(socket);
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
      // Debug, not info: the refusals are counted (guardClosed, /metrics), and
      // an info line per socket let a crowd of sockets write the node's log
      // at will (a synchronous write each).
      request.log.debug(
        { app: runtime.appId, remoteAddress: request.ip, cap: ticket },
        'connection refused: too many connections not logged in',
      );
      socket.close(
        CLOSE_CODES.TOO_MANY_UNAUTHENTICATED_CONNECTIONS,
        'too many connections not logged in',
      );
      stopReading(socket);
      return;
    }
    limitFrames(socket, settings.preLoginMaxMessageBytes);
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(request.headers)) {
      if (typeof value === 'string') headers[key] = value;
    }
    const client = new WsClient(socket, ticket, request.id, gateway);
    const connection = new Connection(
      client,
      runtime,
      // The client's address: behind a trusted proxy, from its X-Forwarded-For.
      { remoteAddress: request.ip, headers },
    );
    client.connection = connection;
    runtime.register(connection);
    live.add(connection);
    // The upgrade's request id and the connection id together: a connection's
    // lines lead back to its HTTP request, and the core logs the same id.
    client.debug({ remoteAddress: request.ip }, 'connection opened');
    releaseUpgrade(socket);
    (socket as ClientWebSocket)[CLIENT] = client;
    socket.on('message', onClientMessage);
    socket.on('close', onClientClose);
    socket.on('error', onClientError);
    // The 2.x client says nothing until the server challenges it; a v7
    // client ignores this text frame and sends its own CHALLENGE.
    client.write(TEXT_CHALLENGE, true);
  };

  // An upgrade's request lines (fastify's "incoming request" and the like)
  // are debug lines: one info line per socket let anyone who opens sockets
  // fill the log, and each is a synchronous write on the event loop (about
  // a fifth of node A's time while 1,000 sockets opened, bench:attacks).
  // A node that logs at debug or finer keeps them at its own level.
  const verbose = app.log.level === 'debug' || app.log.level === 'trace';
  const logLevel: LogLevel = verbose ? (app.log.level as LogLevel) : 'warn';
  app.get('/deepstream', { websocket: true, logLevel, preValidation: resolveApp }, onSocket);
  app.get('/:appId', { websocket: true, logLevel, preValidation: resolveApp }, onSocket);
}
