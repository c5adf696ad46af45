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

// A logged-in client speaking raw protocol frames over a plain WebSocket, for
// what the official client never does on its own: reuse another client's
// correlation id, answer twice, answer late, answer an id it never got.

export type WireClient = {
  /** Every message received, in order. */
  readonly received: Message[];
  send(message: Message): void;
  /** The first message not yet taken by an earlier `next` that matches. */
  next(match: (m: Message) => boolean): Promise<Message>;
  /**
   * Resolves once the node has processed everything sent before: a PING is
   * answered in order with the connection's other messages.
   */
  sync(): Promise<void>;
  close(): Promise<void>;
};

export async function connectWire(url: string, username: string): Promise<WireClient> {
  const socket = new WebSocket(url);
  const received: Message[] = [];
  const taken = new Set<number>();
  const waiters: { match: (m: Message, index: number) => boolean; resolve(i: number): void }[] = [];
  const find = (match: (m: Message, index: number) => boolean) =>
    received.findIndex((m, i) => !taken.has(i) && match(m, i));

  socket.on('message', (bytes: Buffer) => {
    const decoded = decodeFrame(new Uint8Array(bytes));
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
    const index = find(match);
    if (index >= 0) {
      taken.add(index);
      return Promise.resolve(received[index]!);
    }
    return new Promise((resolve) => waiters.push({ match, resolve: (i) => resolve(received[i]!) }));
  };
  const send = (message: Message) => socket.send(encodeMessage(message));

  await once(socket, 'open');
  send({
    topic: TOPIC.CONNECTION,
    action: CONNECTION_ACTION.CHALLENGE,
    url,
    protocolVersion: '0.1a',
    sdkVersion: '7.0.5',
    sdkType: 'javascript',
  });
  await take((m) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.ACCEPT);
  send({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: JSON.stringify({ username }) });
  const login = await take((m) => m.topic === TOPIC.AUTH);
  if (login.action !== AUTH_ACTION.AUTH_SUCCESSFUL) throw new Error('raw login refused');

  return {
    received,
    send,
    next: (match) => take(match),
    async sync() {
      const from = received.length;
      send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
      await take(
        (m, i) => i >= from && m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.PONG,
      );
    },
    async close() {
      if (socket.readyState === WebSocket.CLOSED) return;
      const closed = once(socket, 'close');
      socket.close();
      await closed;
    },
  };
}
