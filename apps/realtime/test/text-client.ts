import { createRequire } from 'node:module';
import { until } from '@hubstream/testing';
import type { WebSocket } from 'ws';

// The real deepstream.io-client-js 2.3.4 (deepstreamHub's client, the text
// protocol) for the text-*.int.test.ts files: it runs in Node on its own `ws`.
// Its bundled typings miss most of what the tests use, so the part they
// use is typed here.

/** A callback-style error first, as the 2.x client passes them. */
type Done<T> = (error: string | null, value: T) => void;

export type V2Record = {
  readonly name: string;
  readonly isReady: boolean;
  whenReady(callback: (record: V2Record) => void): void;
  get(path?: string): unknown;
  set(
    pathOrData: unknown,
    dataOrCallback?: unknown,
    callback?: (error: string | null) => void,
  ): void;
  setWithAck?(pathOrData: unknown, data?: unknown): Promise<void>;
  subscribe(pathOrCallback: unknown, callback?: unknown, triggerNow?: boolean): void;
  discard(): void;
  delete(): void;
  on(event: string, callback: (...args: unknown[]) => void): void;
};

export type V2List = {
  whenReady(callback: (list: V2List) => void): void;
  getEntries(): string[];
  setEntries(entries: string[]): void;
  addEntry(entry: string, index?: number): void;
  removeEntry(entry: string, index?: number): void;
  subscribe(callback: (entries: string[]) => void, triggerNow?: boolean): void;
  discard(): void;
};

export type V2AnonymousRecord = {
  readonly name: string;
  setName(name: string): void;
  get(path?: string): unknown;
  set(pathOrData: unknown, data?: unknown): void;
  subscribe(pathOrCallback: unknown, callback?: unknown, triggerNow?: boolean): void;
  whenReady(callback: (record: V2Record) => void): void;
};

export type V2ListenResponse = { accept(): void; reject(): void };

export type V2RpcResponse = {
  autoAck: boolean;
  ack(): void;
  send(data: unknown): void;
  reject(): void;
  error(message: string): void;
};

export type V2Client = {
  login(authParams: object, callback: (success: boolean, data: unknown) => void): V2Client;
  close(): void;
  getConnectionState(): string;
  on(event: string, callback: (...args: unknown[]) => void): void;
  off(event: string, callback?: (...args: unknown[]) => void): void;
  event: {
    subscribe(name: string, callback: (data: unknown) => void): void;
    unsubscribe(name: string, callback?: (data: unknown) => void): void;
    emit(name: string, data?: unknown): void;
    listen(
      pattern: string,
      callback: (match: string, isSubscribed: boolean, response: V2ListenResponse) => void,
    ): void;
    unlisten(pattern: string): void;
  };
  record: {
    getRecord(name: string): V2Record;
    getList(name: string): V2List;
    getAnonymousRecord(): V2AnonymousRecord;
    snapshot(name: string, callback: Done<unknown>): void;
    has(name: string, callback: Done<boolean>): void;
    head(name: string, callback: Done<number>): void;
    setData(name: string, pathOrData: unknown, dataOrCallback?: unknown, callback?: unknown): void;
    setDataWithAck?(name: string, pathOrData: unknown, data?: unknown): Promise<void>;
    listen(
      pattern: string,
      callback: (match: string, isSubscribed: boolean, response: V2ListenResponse) => void,
    ): void;
  };
  rpc: {
    provide(name: string, callback: (data: unknown, response: V2RpcResponse) => void): void;
    unprovide(name: string): void;
    make(name: string, data: unknown, callback: Done<unknown>): void;
  };
  presence: {
    getAll(callback: (users: string[]) => void): void;
    getAll(users: string[], callback: (result: Record<string, boolean>) => void): void;
    subscribe(callback: (user: string, online: boolean) => void): void;
    subscribe(user: string, callback: (online: boolean, user: string) => void): void;
    unsubscribe(user?: string): void;
  };
};

// A devDependency of packages/protocol (its codec tests run it too), taken
// from there: as a dependency of this package as well, pnpm would resolve
// the optional peers of ws (bufferutil 3, utf-8-validate 4, which the 2.x
// client's ws 5 brings) for the node's own ws.
const protocolRequire = createRequire(
  new URL('../../../packages/protocol/package.json', import.meta.url),
);
const deepstream = protocolRequire('deepstream.io-client-js') as (
  url: string,
  options?: Record<string, unknown>,
) => V2Client;

/** An error the 2.x client reported: its `error` event's (message, event, topic). */
export type V2Error = { topic: string; event: string; message: unknown };

export type V2 = { client: V2Client; errors: V2Error[] };

const opened = new Set<V2>();

/**
 * A 2.x client on `url` (not logged in), its errors gathered. Few
 * reconnects, so a test that fails does so quickly; its own timeouts are
 * longer than the node's in these tests, and than expectAllAcked waits.
 */
export function v2Client(url: string, options: Record<string, unknown> = {}): V2 {
  const client = deepstream(url, {
    silentDeprecation: true,
    maxReconnectAttempts: 2,
    reconnectIntervalIncrement: 200,
    subscriptionTimeout: 5000,
    recordReadAckTimeout: 5000,
    recordReadTimeout: 5000,
    rpcAckTimeout: 5000,
    rpcResponseTimeout: 5000,
    ...options,
  });
  const errors: V2Error[] = [];
  client.on('error', (message, event, topic) =>
    errors.push({ topic: String(topic), event: String(event), message }),
  );
  const v2 = { client, errors };
  opened.add(v2);
  return v2;
}

/** Logs in; resolves with the login callback's (success, data). */
export function v2Login(client: V2Client, authParams: object = {}): Promise<[boolean, unknown]> {
  return new Promise((resolve) => {
    client.login(authParams, (success, data) => resolve([success, data]));
  });
}

/** A logged-in 2.x client; throws when the login fails. */
export async function v2Connect(
  url: string,
  authParams: object = {},
  options: Record<string, unknown> = {},
): Promise<V2> {
  const connected = v2Client(url, options);
  const [success, data] = await v2Login(connected.client, authParams);
  if (!success) throw new Error(`2.x login failed: ${JSON.stringify(data)}`);
  return connected;
}

/** What an open 2.x client still waits an acknowledgement for (its ack timeout registry). */
function awaitingAcks(client: V2Client): string[] {
  if (client.getConnectionState() !== 'OPEN') return [];
  const registry = (client as unknown as { _ackTimeoutRegistry: { _register: object } })
    ._ackTimeoutRegistry;
  return Object.keys(registry._register);
}

/**
 * Resolves once this client got every acknowledgement it waits for (e.g.
 * of a subscription: the node it is on has it), whichever deployment it
 * is connected to. Rejects naming those still missing after five seconds.
 */
export async function acked(client: V2Client): Promise<void> {
  await until(() => awaitingAcks(client).length === 0, "the 2.x client's acknowledgements", {
    timeoutMs: 5000,
    everyMs: 5,
    explain: () => `still waits for acks: ${awaitingAcks(client).join(', ')}`,
  });
}

/**
 * Resolves once every open 2.x client got each acknowledgement it waits
 * for: the client reports a missing one as ACK_TIMEOUT only after its
 * `subscriptionTimeout`, later than most tests last. Rejects naming those
 * still missing after two seconds.
 */
export async function expectAllAcked(): Promise<void> {
  const missing = () => [
    ...[...opened].flatMap(({ client }) => awaitingAcks(client)),
    ...[...opened].flatMap(({ errors }) =>
      errors.filter((error) => error.event === 'ACK_TIMEOUT').map((error) => String(error.message)),
    ),
  ];
  await until(() => missing().length === 0, "the 2.x clients' acknowledgements", {
    timeoutMs: 2000,
    everyMs: 10,
    explain: () => `still waits for acks: ${missing().join(', ')}`,
  });
}

/** Closes every 2.x client opened so far, once each got its acknowledgements (or rejects). */
export async function closeV2Clients(): Promise<void> {
  try {
    await expectAllAcked();
  } finally {
    for (const { client } of opened) client.close();
    opened.clear();
  }
}

/** Resolves with the first argument a callback-style call passes, or rejects with its error. */
export function done<T>(call: (callback: Done<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    call((error, value) => (error ? reject(new Error(String(error))) : resolve(value)));
  });
}

/** Resolves with the next error of that event (e.g. MESSAGE_DENIED), waiting for it if needed. */
export function nextV2Error(v2: V2, event: string, from = 0): Promise<V2Error> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 5000;
    const look = () => {
      const found = v2.errors.slice(from).find((error) => error.event === event);
      if (found) resolve(found);
      else if (Date.now() > deadline)
        reject(new Error(`no ${event} error: ${JSON.stringify(v2.errors)}`));
      else setTimeout(look, 5);
    };
    look();
  });
}

/** Every text frame the client receives from now on, with `|` and `+` for the separators. */
export function sniff(client: V2Client): string[] {
  const frames: string[] = [];
  const socket = (client as unknown as { _connection: { _endpoint: WebSocket } })._connection
    ._endpoint;
  socket.on('message', (data: Buffer) => {
    for (const message of data.toString().split('\x1e')) {
      if (message) frames.push(message.replaceAll('\x1f', '|'));
    }
  });
  return frames;
}
