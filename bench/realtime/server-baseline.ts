import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  decodeFrame,
  EVENT_ACTION,
  encodeMessage,
  type Message,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
} from '../../packages/protocol/src/index.ts';
import { type WebSocket, WebSocketServer } from './deps.ts';
import { runServer } from './server-control.ts';

// The physical baseline: a bare `ws` server speaking the same binary frames,
// with the least work the bench's traffic allows. It decodes each frame with
// the same codec as Hubstream (@deepstream/protobuf), keeps subscriptions by
// name and forwards the frame it received, unchanged, to the other
// subscribers. No auth (any login succeeds, the username is the user's id),
// no rules, no persistence, no timers, no per-app anything. Records are an
// in-memory version check (a write acknowledgement follows at once); RPCs go
// to a random provider and replies go straight back; presence is a count of
// connections per user.

type Peer = WebSocket & {
  events?: Set<string>;
  records?: Set<string>;
  provides?: Set<string>;
  user?: string;
};

const ACCEPT = encodeMessage({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.ACCEPT });
const PONG = encodeMessage({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PONG });
const LOGGED_IN = encodeMessage({
  topic: TOPIC.AUTH,
  action: AUTH_ACTION.AUTH_SUCCESSFUL,
  data: '{}',
});

const events = new Map<string, Set<Peer>>();
const recordSubscribers = new Map<string, Set<Peer>>();
const records = new Map<string, { version: number; data: string }>();
const providers = new Map<string, Peer[]>();
const pendingRpcs = new Map<string, Peer>();
const online = new Map<string, number>();

function add<T>(index: Map<string, Set<T>>, name: string, value: T) {
  let set = index.get(name);
  if (!set) {
    set = new Set();
    index.set(name, set);
  }
  set.add(value);
}

function forward(subscribers: Set<Peer> | undefined, frame: Buffer, sender: Peer) {
  if (!subscribers) return;
  for (const peer of subscribers) if (peer !== sender) peer.send(frame);
}

const ack = (peer: Peer, message: Message) =>
  peer.send(
    encodeMessage({
      topic: message.topic,
      action: message.action,
      correlationId: message.correlationId ?? '',
      isAck: true,
    }),
  );

function onEvent(peer: Peer, message: Message, frame: Buffer) {
  if (message.action === EVENT_ACTION.EMIT) {
    forward(events.get(message.name ?? ''), frame, peer);
  } else if (message.action === EVENT_ACTION.SUBSCRIBE) {
    peer.events ??= new Set();
    for (const name of message.names ?? []) {
      add(events, name, peer);
      peer.events.add(name);
    }
    ack(peer, message);
  }
}

function onRecord(peer: Peer, message: Message, frame: Buffer) {
  const name = message.name ?? '';
  if (message.action === RECORD_ACTION.UPDATE) {
    const current = records.get(name) ?? { version: 0, data: '{}' };
    if (message.version !== current.version + 1) {
      peer.send(
        encodeMessage({
          topic: TOPIC.RECORD,
          action: RECORD_ACTION.VERSION_EXISTS,
          originalAction: message.action,
          name,
          version: current.version,
          data: current.data,
        }),
      );
      return;
    }
    records.set(name, { version: current.version + 1, data: message.data ?? '{}' });
    forward(recordSubscribers.get(name), frame, peer);
    if (message.isWriteAck) {
      peer.send(
        encodeMessage({
          topic: TOPIC.RECORD,
          action: RECORD_ACTION.WRITE_ACKNOWLEDGEMENT,
          name,
          correlationId: message.correlationId ?? '',
          isWriteAck: true,
        }),
      );
    }
  } else if (message.action === RECORD_ACTION.UNSUBSCRIBE) {
    for (const each of message.names ?? []) {
      recordSubscribers.get(each)?.delete(peer);
      peer.records?.delete(each);
    }
    ack(peer, message);
  } else if (message.action === RECORD_ACTION.SUBSCRIBECREATEANDREAD) {
    peer.records ??= new Set();
    for (const each of message.names ?? []) {
      add(recordSubscribers, each, peer);
      peer.records.add(each);
      let record = records.get(each);
      if (!record) {
        record = { version: 0, data: '{}' };
        records.set(each, record);
      }
      peer.send(
        encodeMessage({
          topic: TOPIC.RECORD,
          action: RECORD_ACTION.READ_RESPONSE,
          name: each,
          version: record.version,
          data: record.data,
        }),
      );
    }
    ack(peer, message);
  }
}

function onRpc(peer: Peer, message: Message, frame: Buffer) {
  const cid = message.correlationId ?? '';
  switch (message.action) {
    case RPC_ACTION.REQUEST: {
      const candidates = providers.get(message.name ?? '');
      const provider = candidates?.[Math.floor(Math.random() * candidates.length)];
      if (!provider) {
        peer.send(
          encodeMessage({
            topic: TOPIC.RPC,
            action: RPC_ACTION.NO_RPC_PROVIDER,
            name: message.name ?? '',
            correlationId: cid,
          }),
        );
        return;
      }
      pendingRpcs.set(cid, peer);
      provider.send(frame);
      return;
    }
    case RPC_ACTION.ACCEPT:
      pendingRpcs.get(cid)?.send(frame);
      return;
    case RPC_ACTION.RESPONSE:
    case RPC_ACTION.REQUEST_ERROR:
      pendingRpcs.get(cid)?.send(frame);
      pendingRpcs.delete(cid);
      return;
    case RPC_ACTION.PROVIDE:
      peer.provides ??= new Set();
      for (const name of message.names ?? []) {
        providers.set(name, [...(providers.get(name) ?? []), peer]);
        peer.provides.add(name);
      }
      ack(peer, message);
      return;
    default:
      return;
  }
}

function onPresence(peer: Peer, message: Message) {
  if (message.action !== PRESENCE_ACTION.QUERY) return;
  const answer: Record<string, boolean> = {};
  for (const name of message.names ?? []) answer[name] = online.has(name);
  peer.send(
    encodeMessage({
      topic: TOPIC.PRESENCE,
      action: PRESENCE_ACTION.QUERY_RESPONSE,
      correlationId: message.correlationId ?? '',
      data: JSON.stringify(answer),
    }),
  );
}

function onLogin(peer: Peer, message: Message) {
  let user = 'open';
  try {
    const username = (JSON.parse(message.data ?? '{}') as { username?: unknown }).username;
    if (typeof username === 'string' && username !== '') user = username;
  } catch {}
  if (peer.user === undefined) {
    peer.user = user;
    online.set(user, (online.get(user) ?? 0) + 1);
  }
  peer.send(LOGGED_IN);
}

function onClose(peer: Peer) {
  if (peer.user !== undefined) {
    const left = (online.get(peer.user) ?? 1) - 1;
    if (left > 0) online.set(peer.user, left);
    else online.delete(peer.user);
  }
  for (const name of peer.events ?? []) events.get(name)?.delete(peer);
  for (const name of peer.records ?? []) recordSubscribers.get(name)?.delete(peer);
  for (const name of peer.provides ?? []) {
    providers.set(
      name,
      (providers.get(name) ?? []).filter((p) => p !== peer),
    );
  }
}

await runServer('baseline', async (defer) => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  defer(
    () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  );
  server.on('connection', (peer: Peer) => {
    peer.on('message', (frame: Buffer) => {
      const decoded = decodeFrame(new Uint8Array(frame));
      if (!decoded.ok) return;
      const message = decoded.message;
      switch (message.topic) {
        case TOPIC.EVENT:
          return onEvent(peer, message, frame);
        case TOPIC.RECORD:
          return onRecord(peer, message, frame);
        case TOPIC.RPC:
          return onRpc(peer, message, frame);
        case TOPIC.CONNECTION:
          if (message.action === CONNECTION_ACTION.CHALLENGE) peer.send(ACCEPT);
          else if (message.action === CONNECTION_ACTION.PING) peer.send(PONG);
          return;
        case TOPIC.AUTH:
          return onLogin(peer, message);
        case TOPIC.PRESENCE:
          return onPresence(peer, message);
        default:
          return;
      }
    });
    peer.on('close', () => onClose(peer));
    peer.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return `ws://127.0.0.1:${port}/baseline`;
});
