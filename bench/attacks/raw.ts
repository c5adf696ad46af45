import type { Socket } from 'node:net';
import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  decodeFrame,
  encodeMessage,
  type Message,
  TOPIC,
} from '../../packages/protocol/src/index.ts';
import { WebSocket } from '../realtime/deps.ts';

// A misbehaving client: the deepstream protocol over a plain WebSocket, with
// the real codec (see apps/realtime/test/wire.ts, whose shape this follows),
// plus what attackers do and the official client never does: send frames
// before login, pick a source address, send arbitrary upgrade headers, stop
// reading its socket.

export type RawOptions = { localAddress?: string; headers?: Record<string, string> };

export type Closed = { code: number; reason: string; at: number };

const opened = new Set<RawClient>();

export class RawClient {
  readonly socket: WebSocket;
  readonly received: Message[] = [];
  /** Set once the socket has closed (by either side). */
  closed: Closed | null = null;
  /** Set when the connection failed before opening (refused upgrade, reset). */
  failure: string | null = null;
  readonly #waiters: { match: (m: Message) => boolean; resolve(m: Message | null): void }[] = [];
  readonly #closedWaiters: (() => void)[] = [];
  readonly #watchers = new Set<(m: Message) => void>();

  private constructor(socket: WebSocket) {
    this.socket = socket;
    opened.add(this);
    socket.on('message', (bytes: Buffer) => {
      const decoded = decodeFrame(new Uint8Array(bytes), { anyTopic: true });
      if (!decoded.ok) return;
      this.received.push(decoded.message);
      for (const watcher of this.#watchers) watcher(decoded.message);
      for (const waiter of [...this.#waiters]) {
        if (!waiter.match(decoded.message)) continue;
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(decoded.message);
      }
    });
    socket.on('error', (error: Error) => {
      this.failure ??= error.message;
    });
    socket.on('close', (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString(), at: performance.now() };
      opened.delete(this);
      for (const waiter of this.#waiters.splice(0)) waiter.resolve(null);
      for (const resolve of this.#closedWaiters.splice(0)) resolve();
    });
  }

  /** Opens the socket (no handshake); resolves once open, or failed/closed. */
  static async open(url: string, options: RawOptions = {}): Promise<RawClient> {
    const socket = new WebSocket(url, {
      perMessageDeflate: false,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
    });
    const client = new RawClient(socket);
    await new Promise<void>((resolve) => {
      socket.once('open', () => resolve());
      socket.once('close', () => resolve());
      socket.once('unexpected-response', (_request, response) => {
        client.failure = `HTTP ${response.statusCode}`;
        socket.terminate();
        resolve();
      });
    });
    return client;
  }

  /** Opens, sends CHALLENGE and waits for the node's answer (ACCEPT, REJECT or a close). */
  static async challenged(url: string, options: RawOptions = {}) {
    const client = await RawClient.open(url, options);
    if (!client.isOpen) return { client, accepted: false };
    client.send({
      topic: TOPIC.CONNECTION,
      action: CONNECTION_ACTION.CHALLENGE,
      url,
      protocolVersion: '0.1a',
      sdkVersion: '7.0.5',
      sdkType: 'javascript',
    });
    const answer = await client.next((m) => m.topic === TOPIC.CONNECTION, 10_000);
    return { client, accepted: answer?.action === CONNECTION_ACTION.ACCEPT };
  }

  /** Handshake and login with `authData`; the AUTH reply (or null when closed or no answer). */
  static async login(url: string, authData: Record<string, unknown>, options: RawOptions = {}) {
    const { client, accepted } = await RawClient.challenged(url, options);
    if (!accepted) return { client, reply: null };
    const reply = await client.authenticate(authData);
    return { client, reply };
  }

  /** Sends AUTH REQUEST and waits for the AUTH answer. */
  authenticate(authData: Record<string, unknown>, timeoutMs = 30_000) {
    this.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: JSON.stringify(authData) });
    return this.next((m) => m.topic === TOPIC.AUTH, timeoutMs);
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  send(message: Message): void {
    if (this.isOpen) this.socket.send(encodeMessage(message));
  }

  sendBytes(bytes: Uint8Array): void {
    if (this.isOpen) this.socket.send(bytes);
  }

  /** Resolves once what was sent so far has left this process (or the socket closed). */
  async flushed(): Promise<void> {
    while (this.isOpen && this.socket.bufferedAmount > 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** The first message from now on that matches, or null on close or after `timeoutMs`. */
  next(match: (m: Message) => boolean, timeoutMs: number): Promise<Message | null> {
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter = {
        match,
        resolve: (m: Message | null) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        resolve(null);
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Calls `watcher` with every message from now on. */
  watch(watcher: (m: Message) => void): void {
    this.#watchers.add(watcher);
  }

  /** Resolves when the socket closes, or after `timeoutMs` (then `closed` is still null). */
  waitClosed(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#closedWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Stops reading: the kernel buffers fill, then the node's side of the socket backs up. */
  stopReading(): void {
    (this.socket as unknown as { _socket?: Socket })._socket?.pause();
  }

  resumeReading(): void {
    (this.socket as unknown as { _socket?: Socket })._socket?.resume();
  }

  terminate(): void {
    this.socket.terminate();
  }
}

/** Drops every raw socket still open. */
export function terminateAll(): void {
  for (const client of opened) client.terminate();
  opened.clear();
}

/** Runs `count` tasks with at most `concurrency` at once. */
export async function pool<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/** Describes close codes seen, e.g. "4003 x12, 1009 x3". */
export function closeSummary(clients: readonly RawClient[]): string {
  const counts = new Map<string, number>();
  for (const client of clients) {
    const key = client.closed
      ? String(client.closed.code)
      : client.failure
        ? client.failure
        : 'open';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([code, n]) => `${code} x${n}`).join(', ');
}
