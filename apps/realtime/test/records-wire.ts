import { once } from 'node:events';
import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  decodeFrame,
  encodeMessage,
  type Message,
  type RECORD_ACTION,
  TOPIC,
} from '@hubstream/protocol';
import { WebSocket } from 'ws';

// A logged-in connection that speaks RECORD frames directly, for what the
// official client hides or never sends: two writers on the same version,
// versions that skip ahead, unsafe paths, broken JSON.

export type RecordWire = {
  /** Every message received after login, in order. */
  readonly received: Message[];
  send(fields: Omit<Message, 'topic'>): void;
  /** The first matching message not taken by an earlier call, waiting if needed. */
  next(match: (m: Message) => boolean): Promise<Message>;
  /** Resolves once the node has handled everything sent before (PONG comes back in order). */
  sync(): Promise<void>;
  /** RECORD messages received (after a sync), without the ones taken by `next`. */
  untaken(): Message[];
  close(): Promise<void>;
};

export async function connectRecordWire(url: string, username: string): Promise<RecordWire> {
  const socket = new WebSocket(url);
  const received: Message[] = [];
  const taken = new Set<number>();
  type Waiter = { system: boolean; match: (m: Message) => boolean; resolve: (m: Message) => void };
  let waiters: Waiter[] = [];

  socket.on('message', (bytes: Buffer) => {
    const decoded = decodeFrame(new Uint8Array(bytes));
    if (!decoded.ok) return;
    const message = decoded.message;
    const system = message.topic !== TOPIC.RECORD;
    const index = system ? -1 : received.push(message) - 1;
    for (const w of [...waiters]) {
      if (w.system !== system || taken.has(index) || !w.match(message)) continue;
      if (system) {
        settle(w, message);
        continue;
      }
      taken.add(index);
      settle(w, message);
    }
  });
  const settle = (waiter: Waiter, message: Message) => {
    waiters = waiters.filter((w) => w !== waiter);
    waiter.resolve(message);
  };
  const wait = (match: (m: Message) => boolean, system = false) =>
    new Promise<Message>((resolve) => waiters.push({ system, match, resolve }));
  const raw = (message: Message) => socket.send(encodeMessage(message));

  await once(socket, 'open');
  const accepted = wait((m) => m.action === CONNECTION_ACTION.ACCEPT, true);
  raw({
    topic: TOPIC.CONNECTION,
    action: CONNECTION_ACTION.CHALLENGE,
    url,
    protocolVersion: '0.1a',
    sdkVersion: '7.0.5',
    sdkType: 'javascript',
  });
  await accepted;
  const loggedIn = wait((m) => m.topic === TOPIC.AUTH, true);
  raw({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: JSON.stringify({ username }) });
  const reply = await loggedIn;
  if (reply.action !== AUTH_ACTION.AUTH_SUCCESSFUL) throw new Error('login failed');

  return {
    received,
    send: (fields) => raw({ topic: TOPIC.RECORD, ...fields }),
    next(match) {
      const index = received.findIndex((m, i) => !taken.has(i) && match(m));
      if (index >= 0) {
        taken.add(index);
        return Promise.resolve(received[index]!);
      }
      return wait(match);
    },
    async sync() {
      const pong = wait((m) => m.action === CONNECTION_ACTION.PONG, true);
      raw({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
      await pong;
    },
    untaken: () => received.filter((_, i) => !taken.has(i)),
    async close() {
      const closed = once(socket, 'close');
      socket.close();
      await closed;
    },
  };
}

/** Matches a RECORD message by action and, when given, name. */
export const isAction =
  (action: RECORD_ACTION, name?: string) =>
  (m: Message): boolean =>
    m.action === action && (name === undefined || m.name === name);
