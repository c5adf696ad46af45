import { once } from 'node:events';
import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  decodeFrame,
  encodeMessage,
  type Message,
  TOPIC,
} from '@hubstream/protocol';
import { WebSocket } from 'ws';

// A protocol-level client over a plain WebSocket, for what the official
// client hides or never sends: broken handshakes, malformed and oversized
// frames, reused correlation ids, late or double answers, conflicting
// versions.

export type Wire = {
  readonly socket: WebSocket;
  /** Every message received, in order (server-only topics such as PARSER included). */
  readonly received: Message[];
  send(message: Message): void;
  sendBytes(bytes: Uint8Array | string): void;
  /** The first received message not taken by an earlier call that matches, waiting if needed. */
  next(match?: (m: Message) => boolean): Promise<Message>;
  /** Resolves once the node has handled everything sent before (its PONG comes back in order). */
  sync(): Promise<void>;
  /** Messages received and not taken by `next`. */
  untaken(): Message[];
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
};

const any = () => true;

/** Opens the socket; no handshake. */
export async function openWire(url: string): Promise<Wire> {
  const socket = new WebSocket(url);
  const received: Message[] = [];
  const taken = new Set<number>();
  const waiters: { match: (m: Message, index: number) => boolean; resolve(i: number): void }[] = [];

  socket.on('message', (bytes: Buffer) => {
    const decoded = decodeFrame(new Uint8Array(bytes), { anyTopic: true });
    if (!decoded.ok) return;
    const index = received.push(decoded.message) - 1;
    for (const waiter of [...waiters]) {
      if (taken.has(index) || !waiter.match(decoded.message, index)) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      taken.add(index);
      waiter.resolve(index);
    }
  });
  const take = (match: (m: Message, index: number) => boolean): Promise<Message> => {
    const index = received.findIndex((m, i) => !taken.has(i) && match(m, i));
    if (index >= 0) {
      taken.add(index);
      return Promise.resolve(received[index]!);
    }
    return new Promise((resolve) => waiters.push({ match, resolve: (i) => resolve(received[i]!) }));
  };
  const closed = once(socket, 'close').then(([code, reason]) => ({
    code: code as number,
    reason: String(reason),
  }));
  const send = (message: Message) => socket.send(encodeMessage(message));

  await once(socket, 'open');
  return {
    socket,
    received,
    send,
    sendBytes: (bytes) => socket.send(bytes),
    next: (match = any) => take(match),
    async sync() {
      const from = received.length;
      send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
      await take(
        (m, i) => i >= from && m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.PONG,
      );
    },
    untaken: () => received.filter((_, i) => !taken.has(i)),
    closed,
    async close() {
      if (socket.readyState === WebSocket.CLOSED) return;
      socket.close();
      await closed;
    },
  };
}

/** Sends the official client's CHALLENGE for `url` and waits for the node's ACCEPT. */
export async function handshakeWire(wire: Wire, url: string): Promise<void> {
  wire.send({
    topic: TOPIC.CONNECTION,
    action: CONNECTION_ACTION.CHALLENGE,
    url,
    protocolVersion: '0.1a',
    sdkVersion: '7.0.5',
    sdkType: 'javascript',
  });
  await wire.next((m) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.ACCEPT);
}

/** Opens the socket, completes the handshake and logs in with open auth. */
export async function connectWire(url: string, username: string): Promise<Wire> {
  const wire = await openWire(url);
  await handshakeWire(wire, url);
  wire.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: JSON.stringify({ username }) });
  const login = await wire.next((m) => m.topic === TOPIC.AUTH);
  if (login.action !== AUTH_ACTION.AUTH_SUCCESSFUL) throw new Error('raw login refused');
  return wire;
}
