import { createRequire } from 'node:module';
import { until } from '@hubstream/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  decodeTextFrame,
  EVENT_ACTION,
  encodeTextMessage,
  type Message,
  TextBatch,
  TOPIC,
} from '../src/index.ts';

// The whole 2.3.4 client (its connection: handshake, login, heartbeat,
// queueing and batching) on an in-memory WebSocket, answered through the
// codec by a few lines standing in for the server's handshake. No network.

type Client2 = {
  login(auth: object, cb: (success: boolean, data: unknown) => void): Client2;
  loginAsync(auth: object): Promise<unknown>;
  getConnectionState(): string;
  close(): void;
  on(event: string, cb: (...args: unknown[]) => void): void;
  event: {
    subscribe(name: string, cb: (data: unknown) => void): void;
    emit(name: string, data: unknown): void;
  };
};

/** One socket of the in-memory WebSocket the 2.x client uses when `global.WebSocket` is set. */
class FakeSocket {
  static opened: FakeSocket[] = [];
  static server: (socket: FakeSocket, message: Message) => void = () => {};
  readonly OPEN = 1;
  readyState = 0;
  readonly frames: string[] = [];
  readonly received: Message[] = [];
  closed = false;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: ((error: unknown) => void) | null = null;
  readonly #batch = new TextBatch();

  constructor(readonly url: string) {
    FakeSocket.opened.push(this);
    setImmediate(() => {
      this.readyState = 1;
      this.onopen?.();
      // The server opens with the text challenge (PROTOCOL.md 10.4).
      this.reply({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE });
    });
  }

  /** What the client sends: decoded as the server would. */
  send(frame: string) {
    this.frames.push(frame);
    for (const result of decodeTextFrame(frame)) {
      if (!result.ok) throw new Error(`client sent what does not decode: ${JSON.stringify(frame)}`);
      this.received.push(result.message);
      FakeSocket.server(this, result.message);
    }
  }

  /** A server message, batched with the others of this turn into one frame. */
  reply(message: Message) {
    const text = encodeTextMessage(message);
    if (text === null) throw new Error(`no text form: ${JSON.stringify(message)}`);
    if (this.#batch.size === 0) setImmediate(() => this.#flush());
    const full = this.#batch.add(text);
    if (full !== null) this.onmessage?.({ data: full });
  }

  #flush() {
    const frame = this.#batch.take();
    if (frame !== null && this.readyState === 1) this.onmessage?.({ data: frame });
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.readyState = 3;
    setImmediate(() => this.onclose?.());
  }
}

const require = createRequire(import.meta.url);
const clientRequire = createRequire(require.resolve('deepstream.io-client-js/package.json'));
const globals = globalThis as { WebSocket?: unknown };
const saved = globals.WebSocket;
globals.WebSocket = FakeSocket;
// The client takes the WebSocket class when its connection module loads.
for (const path of ['./src/client.js', './src/message/connection.js']) {
  delete clientRequire.cache[clientRequire.resolve(path)];
}
const deepstream = clientRequire('./src/client.js') as (url: string, options: object) => Client2;
globals.WebSocket = saved;

const clients: Client2[] = [];
function connect(url = 'localhost:6020?apiKey=app'): { client: Client2; errors: unknown[][] } {
  const client = deepstream(url, { silentDeprecation: true });
  clients.push(client);
  const errors: unknown[][] = [];
  client.on('error', (message, event, topic) => errors.push([topic, event, message]));
  return { client, errors };
}

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  FakeSocket.opened = [];
});

/** The handshake as the realtime node runs it: challenge accepted, logins decided by `login`. */
function serve(login: (data: unknown, attempt: number) => Message) {
  let attempts = 0;
  FakeSocket.server = (socket, message) => {
    if (message.topic === TOPIC.CONNECTION && message.action === CONNECTION_ACTION.CHALLENGE) {
      socket.reply({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.ACCEPT });
    } else if (message.topic === TOPIC.AUTH) {
      socket.reply(login(JSON.parse(message.data as string), ++attempts));
    } else if (message.topic === TOPIC.EVENT && message.action === EVENT_ACTION.SUBSCRIBE) {
      socket.reply({ ...message, names: undefined, isAck: true } as unknown as Message);
    }
  };
}

describe('the 2.3.4 connection through the text codec', () => {
  it('answers the challenge with its URL, logs in with clientData, then sends what it queued in one frame', async () => {
    serve(() => ({
      topic: TOPIC.AUTH,
      action: AUTH_ACTION.AUTH_SUCCESSFUL,
      data: '{"id":"userA"}',
    }));
    const { client, errors } = connect();
    const received: unknown[] = [];
    client.event.subscribe('news', (data) => received.push(data));
    client.event.emit('news', { headline: 'hi' });
    await expect(client.loginAsync({ username: 'userA' })).resolves.toEqual({ id: 'userA' });
    expect(client.getConnectionState()).toBe('OPEN');
    const [socket] = FakeSocket.opened;
    await until(() => (socket?.received.length ?? 0) >= 4, 'four messages at the server');
    expect(socket?.received).toEqual([
      {
        topic: TOPIC.CONNECTION,
        action: CONNECTION_ACTION.CHALLENGE,
        url: 'ws://localhost:6020/deepstream?apiKey=app',
      },
      { topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{"username":"userA"}' },
      {
        topic: TOPIC.EVENT,
        action: EVENT_ACTION.SUBSCRIBE,
        names: ['news'],
        correlationId: 'news',
      },
      { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'news', data: '{"headline":"hi"}' },
    ]);
    // Queued before login, sent together after it.
    expect(socket?.frames.at(-1)?.split('\x1e').length).toBe(3);
    // The server's heartbeat is answered.
    socket?.reply({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
    await until(() => socket?.received.at(-1)?.action === CONNECTION_ACTION.PONG, 'a PONG');
    expect(received).toEqual([{ headline: 'hi' }]); // the client's own emit, fired locally
    await new Promise((r) => setTimeout(r, 5));
    expect(errors).toEqual([]);
  });

  it('reports failed logins with their data, then stops after too many attempts', async () => {
    serve((_data, attempt) =>
      attempt === 1
        ? { topic: TOPIC.AUTH, action: AUTH_ACTION.AUTH_UNSUCCESSFUL }
        : attempt === 2
          ? { topic: TOPIC.AUTH, action: AUTH_ACTION.AUTH_UNSUCCESSFUL, data: '"expired"' }
          : { topic: TOPIC.AUTH, action: AUTH_ACTION.TOO_MANY_AUTH_ATTEMPTS },
    );
    const { client, errors } = connect();
    const results: unknown[][] = [];
    const login = () =>
      new Promise<void>((resolve) =>
        client.login({ password: 'x' }, (success, data) => {
          results.push([success, data]);
          resolve();
        }),
      );
    await login();
    await login();
    await login();
    expect(results).toEqual([
      [false, 'invalid authentication data'],
      [false, 'expired'],
      [false, 'too many authentication attempts'],
    ]);
    client.login({ password: 'y' }, () => {});
    expect(errors).toEqual([['X', 'IS_CLOSED', "this client's connection was closed"]]);
  });

  it('stops on the authentication timeout and on a rejected challenge', async () => {
    FakeSocket.server = (socket, message) => {
      if (message.action === CONNECTION_ACTION.CHALLENGE) {
        socket.reply({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.ACCEPT });
        socket.reply({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.AUTHENTICATION_TIMEOUT });
      }
    };
    const late = connect();
    await until(() => late.errors.length > 0, 'the late error');
    expect(late.errors[0]?.slice(0, 2)).toEqual(['C', 'CONNECTION_AUTHENTICATION_TIMEOUT']);
    late.client.login({}, () => {});
    expect(late.errors.at(-1)?.[1]).toBe('IS_CLOSED');

    FakeSocket.server = (socket, message) => {
      if (message.action === CONNECTION_ACTION.CHALLENGE) {
        socket.reply({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.REJECT });
      }
    };
    const refused = connect();
    await until(
      () => refused.client.getConnectionState() === 'CLOSED',
      'the refused client to close',
    );
    await new Promise((r) => setTimeout(r, 10));
    expect(FakeSocket.opened.length).toBe(2); // no reconnect after REJECT
    expect(refused.errors).toEqual([]);
  });

  it('follows a redirect to the URL it names', async () => {
    FakeSocket.server = (socket, message) => {
      if (message.action !== CONNECTION_ACTION.CHALLENGE) return;
      socket.reply(
        socket.url.includes('other')
          ? { topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.ACCEPT }
          : {
              topic: TOPIC.CONNECTION,
              action: CONNECTION_ACTION.REDIRECT,
              url: 'ws://other:6020/deepstream?apiKey=app',
            },
      );
    };
    const { client } = connect();
    await until(
      () => client.getConnectionState() === 'AWAITING_AUTHENTICATION',
      'AWAITING_AUTHENTICATION',
    );
    expect(FakeSocket.opened.map((socket) => socket.url)).toEqual([
      'ws://localhost:6020/deepstream?apiKey=app',
      'ws://other:6020/deepstream?apiKey=app',
    ]);
  });
});
