import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  decodeFrame,
  encodeMessage,
  type Message,
  TOPIC,
} from '../../packages/protocol/src/index.ts';
import { WebSocket } from './deps.ts';

// The load generator's connection: a plain WebSocket that does the
// deepstream handshake (PROTOCOL.md 2.1) and then hands every frame, raw, to
// whatever the phase installed. No official client: its per-message work
// would be the bottleneck long before the server is.

export type FrameHandler = (frame: Buffer) => void;

const PING = encodeMessage({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
const HANDSHAKE_TIMEOUT_MS = 30_000;

/** Sockets opened by the bench and still open, for heartbeats and clean-up. */
const open = new Set<BenchClient>();
let unexpectedCloses = 0;

export class BenchClient {
  readonly socket: WebSocket;
  readonly username: string;
  onFrame: FrameHandler = () => {};
  #closing = false;

  private constructor(socket: WebSocket, username: string) {
    this.socket = socket;
    this.username = username;
    socket.on('message', (data: Buffer) => this.onFrame(data));
  }

  /** A connection that has passed the challenge and logged in with open auth. */
  static open(url: string, username: string): Promise<BenchClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      const client = new BenchClient(socket, username);
      const fail = (error: Error) => {
        clearTimeout(timer);
        socket.terminate();
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new Error(`handshake of ${username} timed out`)),
        HANDSHAKE_TIMEOUT_MS,
      );
      socket.once('error', fail);
      socket.once('close', () => fail(new Error(`${username} closed during the handshake`)));
      socket.once('open', () => {
        client.sendMessage({
          topic: TOPIC.CONNECTION,
          action: CONNECTION_ACTION.CHALLENGE,
          url,
          protocolVersion: '0.1a',
          sdkVersion: '7.0.5',
          sdkType: 'javascript',
        });
      });
      client.onFrame = (frame) => {
        const decoded = decodeFrame(new Uint8Array(frame), { anyTopic: true });
        if (!decoded.ok) return;
        const { topic, action } = decoded.message;
        if (topic === TOPIC.CONNECTION && action === CONNECTION_ACTION.ACCEPT) {
          client.sendMessage({
            topic: TOPIC.AUTH,
            action: AUTH_ACTION.REQUEST,
            data: JSON.stringify({ username }),
          });
        } else if (topic === TOPIC.AUTH && action === AUTH_ACTION.AUTH_SUCCESSFUL) {
          clearTimeout(timer);
          socket.removeAllListeners('error');
          socket.removeAllListeners('close');
          socket.on('error', () => {});
          socket.on('close', () => {
            open.delete(client);
            if (!client.#closing) unexpectedCloses++;
          });
          client.onFrame = () => {};
          open.add(client);
          resolve(client);
        } else if (topic === TOPIC.AUTH || topic === TOPIC.CONNECTION) {
          fail(new Error(`${username}: handshake refused (${topic}/${action})`));
        }
      };
    });
  }

  send(frame: Uint8Array): void {
    this.socket.send(frame);
  }

  sendMessage(message: Message): void {
    this.socket.send(encodeMessage(message));
  }

  /**
   * Sends a message and resolves with the first reply that matches (decoded
   * with the real codec). For set-up only: it replaces the frame handler.
   */
  request(
    message: Message,
    match: (reply: Message) => boolean,
    what: string,
    timeoutMs = 30_000,
  ): Promise<Message> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${what}`)), timeoutMs);
      this.onFrame = (frame) => {
        const decoded = decodeFrame(new Uint8Array(frame), { anyTopic: true });
        if (!decoded.ok || !match(decoded.message)) return;
        clearTimeout(timer);
        this.onFrame = () => {};
        resolve(decoded.message);
      };
      this.sendMessage(message);
    });
  }

  close(): Promise<void> {
    this.#closing = true;
    return closeSocket(this.socket);
  }
}

/** Closes a socket, waiting up to 5 s for the server's close before dropping it. */
export function closeSocket(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.terminate();
      resolve();
    }, 5000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.close();
  });
}

export type OpenManyOptions = { concurrency?: number; onProgress?: (done: number) => void };

/**
 * Opens `count` clients with `open`, `concurrency` handshakes at a time;
 * `url` may place each connection (by index) on a node of its own. On a
 * failure the ones already open are closed.
 */
export async function openPool<C extends { close(): Promise<void> }>(
  open: (url: string, user: string) => Promise<C>,
  url: string | ((index: number) => string),
  count: number,
  prefix: string,
  options: OpenManyOptions = {},
): Promise<C[]> {
  const clients: C[] = new Array(count);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const target = typeof url === 'string' ? url : url(index);
      clients[index] = await open(target, `${prefix}${index}`);
      done++;
      options.onProgress?.(done);
    }
  };
  const workers = Array.from({ length: Math.min(count, options.concurrency ?? 50) }, worker);
  try {
    await Promise.all(workers);
  } catch (error) {
    await Promise.all(clients.filter(Boolean).map((c) => c.close()));
    throw error;
  }
  return clients;
}

/** Opens `count` logged-in connections (openPool). */
export function openMany(
  url: string | ((index: number) => string),
  count: number,
  prefix: string,
  options: OpenManyOptions = {},
): Promise<BenchClient[]> {
  return openPool((target, user) => BenchClient.open(target, user), url, count, prefix, options);
}

export async function closeAll(clients: Iterable<BenchClient>): Promise<void> {
  await Promise.all([...clients].map((c) => c.close()));
}

/** Closes whatever the bench still holds open (on failure). */
export const closeEverything = (): Promise<void> => closeAll([...open]);

/** Connections the server (or the network) closed while the bench still used them. */
export const unexpectedCloseCount = (): number => unexpectedCloses;

// Idle connections ping as the official client does (every 30 s by default),
// a little more often, so that no server closes them as silent.
const heartbeat = setInterval(() => {
  for (const client of open) client.send(PING);
}, 20_000);
heartbeat.unref();
