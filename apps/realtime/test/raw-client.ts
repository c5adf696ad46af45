import { once } from 'node:events';
import { decodeFrame, encodeMessage, type Message } from '@hubstream/protocol';
import { WebSocket } from 'ws';

// A protocol-level client for the cases the official client never sends:
// malformed frames, out-of-order handshakes, oversized messages.

export type RawClient = {
  socket: WebSocket;
  received: Message[];
  send(message: Message): void;
  sendBytes(bytes: Uint8Array | string): void;
  /** Resolves with the next received message that matches. */
  next(match?: (m: Message) => boolean): Promise<Message>;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
};

export async function openRaw(url: string): Promise<RawClient> {
  const socket = new WebSocket(url);
  const received: Message[] = [];
  const waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  let seen = 0;
  socket.on('message', (data: Buffer) => {
    const decoded = decodeFrame(new Uint8Array(data), { anyTopic: true });
    if (!decoded.ok) return;
    received.push(decoded.message);
  });
  socket.on('message', () => {
    for (const waiter of [...waiters]) {
      const index = received.findIndex((m, i) => i >= seen && waiter.match(m));
      if (index >= 0) {
        waiters.splice(waiters.indexOf(waiter), 1);
        seen = index + 1;
        waiter.resolve(received[index]!);
      }
    }
  });
  const closed = once(socket, 'close').then(([code, reason]) => ({
    code: code as number,
    reason: String(reason),
  }));
  await once(socket, 'open');
  return {
    socket,
    received,
    send: (message) => socket.send(encodeMessage(message)),
    sendBytes: (bytes) => socket.send(bytes),
    next(match = () => true) {
      const index = received.findIndex((m, i) => i >= seen && match(m));
      if (index >= 0) {
        seen = index + 1;
        return Promise.resolve(received[index]!);
      }
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    closed,
    close: () => socket.close(),
  };
}
