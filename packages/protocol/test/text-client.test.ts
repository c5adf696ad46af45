import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  AUTH_ACTION,
  decodeTextFrame,
  EVENT_ACTION,
  encodeTextMessage,
  type Message,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TextConnectionState,
  TOPIC,
} from '../src/index.ts';

// The real deepstream.io-client-js 2.3.4 (a devDependency) against the codec:
// its own message builder writes what the client sends, its own parser and
// topic handlers read what the encoder writes. Between them stands only
// what the server would do (a reply built from the decoded request), so a
// test shows a 2.x call completing through the codec without a server.

const require = createRequire(import.meta.url);
const clientRequire = createRequire(require.resolve('deepstream.io-client-js/package.json'));
const src = (path: string) => clientRequire(`./src/${path}`);

type TextMessage = { topic: string; action: string; data: string[]; processedError?: boolean };
type Handler = { _$handle(message: TextMessage): void };
type Handlers = {
  event: Handler & {
    subscribe(name: string, cb: (data: unknown) => void): void;
    emit(name: string, data?: unknown): void;
    listen(pattern: string, cb: (...args: unknown[]) => void): void;
  };
  record: Handler & {
    getRecord(name: string): ClientRecord;
    has(name: string): Promise<boolean>;
    head(name: string): Promise<number>;
    snapshot(name: string): Promise<unknown>;
    setDataWithAck(name: string, data: unknown): Promise<void>;
  };
  rpc: Handler & {
    make(name: string, data: unknown): Promise<unknown>;
    provide(name: string, cb: (data: unknown, response: RpcResponse) => void): void;
  };
  presence: Handler & {
    getAll(cb: (users: string[]) => void): void;
    getAll(users: string[], cb: (result: Record<string, boolean>) => void): void;
    subscribe(cb: (user: string, online: boolean) => void): void;
  };
};
type ClientRecord = {
  whenReady(): Promise<ClientRecord>;
  get(path?: string): unknown;
  set(...args: unknown[]): void;
  setWithAck(...args: unknown[]): Promise<void>;
  delete(): void;
  discard(): void;
  on(event: string, cb: (...args: unknown[]) => void): void;
  version: number;
  isDestroyed: boolean;
};
type RpcResponse = { send(data: unknown): void; error(message: string): void; reject(): void };

const C = src('constants/constants.js');
const parser = src('message/message-parser.js') as {
  parse(frame: string, client: unknown): (TextMessage | null)[];
  convertTyped(value: string, client: unknown): unknown;
};
const builder = src('message/message-builder.js') as {
  getMsg(topic: string, action: string, data?: unknown[]): string;
  typed(value: unknown): string;
};
const Emitter = clientRequire('component-emitter2');
const AckTimeoutRegistry = src('utils/ack-timeout-registry.js');
const defaults = src('default-options.js');

/** The 2.x client's topic handlers on a fake socket: what they send, what they report. */
class Client2 {
  readonly sent: string[] = [];
  readonly errors: unknown[][] = [];
  readonly handlers: Handlers;
  readonly client: {
    _$onError(topic: string, event: string, message: unknown): void;
  };
  #uid = 0;

  constructor() {
    const client = new Emitter();
    client._$onError = (topic: string, event: string, message: unknown) => {
      this.errors.push([topic, event, message]);
    };
    client.getConnectionState = () => C.CONNECTION_STATE.OPEN;
    client.getUid = () => `uid${this.#uid++}`;
    const registry = new AckTimeoutRegistry(client, defaults);
    client._$getAckTimeoutRegistry = () => registry;
    const connection = {
      sendMsg: (topic: string, action: string, data?: unknown[]) =>
        this.sent.push(builder.getMsg(topic, action, data)),
      send: (message: string) => this.sent.push(message),
      getState: () => C.CONNECTION_STATE.OPEN,
    };
    const make = (path: string) => {
      const Handler = src(path);
      return new Handler(defaults, connection, client);
    };
    this.client = client;
    this.handlers = {
      event: make('event/event-handler.js'),
      record: make('record/record-handler.js'),
      rpc: make('rpc/rpc-handler.js'),
      presence: make('presence/presence-handler.js'),
    };
  }

  /** Reads a frame as the client's connection does (connection.js _onMessage, client.js _$onMessage). */
  receive(frame: string) {
    const byTopic: Record<string, Handler> = {
      E: this.handlers.event,
      R: this.handlers.record,
      P: this.handlers.rpc,
      U: this.handlers.presence,
    };
    for (const message of parser.parse(frame, this.client)) {
      if (message === null) continue;
      const handler = byTopic[message.topic];
      if (!handler) {
        this.errors.push([message.topic, message.data[0], message.data[1]]);
        continue;
      }
      handler._$handle(message);
      if (message.action === 'E' && !message.processedError) {
        this.errors.push([message.topic, message.data[0], message.data.slice(0)]);
      }
    }
  }

  /** What the client sent since the last call, as one frame. */
  take(): string {
    return this.sent.splice(0).join('');
  }
}

/** `|` for the unit separator, `+` for the record separator, as the client specs write messages. */
const t = (text: string) => text.replaceAll('|', '\x1f').replaceAll('+', '\x1e');

/** The messages of a frame, expecting every one to decode. */
function decoded(frame: string, state?: TextConnectionState): Message[] {
  return decodeTextFrame(frame, state ? { state } : {}).map((result) => {
    if (!result.ok) throw new Error(`not decoded: ${JSON.stringify(result)}`);
    return result.message;
  });
}

function encoded(message: Message, state?: TextConnectionState): string {
  const text = encodeTextMessage(message, state);
  if (text === null) throw new Error(`no text form: ${JSON.stringify(message)}`);
  return text;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the 2.3.4 client through the text codec', () => {
  it('events: subscribe is acked by name, typed data arrives as sent, emits decode to JSON', async () => {
    const b = new Client2();
    const received: unknown[] = [];
    b.handlers.event.subscribe('news', (data) => received.push(data));
    const [subscribe] = decoded(b.take());
    expect(subscribe).toEqual({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: ['news'],
      correlationId: 'news',
    });
    // The handler's ack echoes action and correlation id only.
    const ack = encoded({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      correlationId: 'news',
      isAck: true,
    });
    expect(ack).toBe(t('E|A|S|news+'));
    b.receive(ack);

    const a = new Client2();
    const values = [{ headline: 'hi' }, 'str', 42, -1.5e-7, true, false, null, undefined, [1]];
    for (const value of values) a.handlers.event.emit('news', value);
    const emits = decoded(a.take());
    expect(emits.map((m) => m.data)).toEqual([
      '{"headline":"hi"}',
      '"str"',
      '42',
      '-1.5e-7',
      'true',
      'false',
      'null',
      undefined,
      '[1]',
    ]);
    for (const emit of emits) b.receive(encoded(emit));
    expect(received).toEqual(values);
    expect(b.errors).toEqual([]);
  });

  it('events: listen, pattern found and accept, denial undoes the subscription', () => {
    const p = new Client2();
    const found: unknown[][] = [];
    p.handlers.event.listen('news/.*', (name, isSubscribed, response) => {
      found.push([name, isSubscribed]);
      if (isSubscribed) (response as { accept(): void }).accept();
    });
    expect(decoded(p.take())).toEqual([
      { topic: TOPIC.EVENT, action: EVENT_ACTION.LISTEN, name: 'news/.*' },
    ]);
    p.receive(
      encoded({ topic: TOPIC.EVENT, action: EVENT_ACTION.LISTEN, name: 'news/.*', isAck: true }),
    );
    p.receive(
      encoded({
        topic: TOPIC.EVENT,
        action: EVENT_ACTION.SUBSCRIPTION_FOR_PATTERN_FOUND,
        name: 'news/.*',
        subscription: 'news/a',
      }),
    );
    expect(decoded(p.take())).toEqual([
      {
        topic: TOPIC.EVENT,
        action: EVENT_ACTION.LISTEN_ACCEPT,
        name: 'news/.*',
        subscription: 'news/a',
      },
    ]);
    p.receive(
      encoded({
        topic: TOPIC.EVENT,
        action: EVENT_ACTION.SUBSCRIPTION_FOR_PATTERN_REMOVED,
        name: 'news/.*',
        subscription: 'news/a',
      }),
    );
    expect(found).toEqual([
      ['news/a', true],
      ['news/a', false],
    ]);
    expect(p.errors).toEqual([]);

    const denied = new Client2();
    denied.handlers.event.subscribe('secret', () => {});
    const [subscribe] = decoded(denied.take());
    const denial = encoded({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.MESSAGE_DENIED,
      originalAction: subscribe?.action as number,
      name: 'secret',
      isError: true,
      correlationId: 'secret',
    });
    expect(denial).toBe(t('E|E|MESSAGE_DENIED|secret|S+'));
    denied.receive(denial);
    expect(denied.errors).toEqual([['E', 'MESSAGE_DENIED', 'secret']]);
  });

  it('records: subscribe, read, set with paths, write acknowledgement by version', async () => {
    const a = new Client2();
    const record = a.handlers.record.getRecord('rec1');
    const [subscribe] = decoded(a.take());
    expect(subscribe).toEqual({
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.SUBSCRIBECREATEANDREAD,
      names: ['rec1'],
      correlationId: 'rec1',
    });
    a.receive(
      encoded({ ...(subscribe as Message), names: undefined, isAck: true } as unknown as Message) +
        encoded({
          topic: TOPIC.RECORD,
          action: RECORD_ACTION.READ_RESPONSE,
          name: 'rec1',
          version: 0,
          data: '{}',
        }),
    );
    await record.whenReady();
    expect(record.version).toBe(0);

    record.set({ a: 1, nested: { b: 2 } });
    record.set('nested.b', 3);
    let acked: unknown = 'pending';
    record.set('a', 5, (error: unknown) => {
      acked = error;
    });
    record.set('nested', undefined);
    const writes = decoded(a.take());
    expect(writes).toEqual([
      {
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.UPDATE,
        name: 'rec1',
        version: 1,
        data: '{"a":1,"nested":{"b":2}}',
      },
      {
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.PATCH,
        name: 'rec1',
        version: 2,
        path: 'nested.b',
        data: '3',
      },
      {
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.PATCH,
        name: 'rec1',
        version: 3,
        path: 'a',
        data: '5',
        isWriteAck: true,
        correlationId: '3',
      },
      {
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.ERASE,
        name: 'rec1',
        version: 4,
        path: 'nested',
      },
    ]);
    // The record handler's acknowledgement echoes name and correlation id.
    const ack = encoded({
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.WRITE_ACKNOWLEDGEMENT,
      name: 'rec1',
      correlationId: '3',
      isWriteAck: true,
    });
    expect(ack).toBe(t('R|WA|rec1|[3]|L+'));
    a.receive(ack);
    expect(acked).toBeNull();

    // Another subscriber receives the broadcasts, erase included.
    const b = new Client2();
    const other = b.handlers.record.getRecord('rec1');
    b.take();
    b.receive(
      encoded({
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.READ_RESPONSE,
        name: 'rec1',
        version: 0,
        data: '{}',
      }),
    );
    await other.whenReady();
    for (const write of writes) {
      const { isWriteAck: _, correlationId: __, ...broadcast } = write;
      b.receive(encoded(broadcast as Message));
    }
    expect(other.get()).toEqual({ a: 5 });
    expect(other.version).toBe(4);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('records: a version conflict carries the current version and data the 2.x client merges', async () => {
    const a = new Client2();
    const record = a.handlers.record.getRecord('r');
    a.take();
    a.receive(
      encoded({
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.READ_RESPONSE,
        name: 'r',
        version: 4,
        data: '{"x":1}',
      }),
    );
    await record.whenReady();
    let acked: unknown = 'pending';
    // (2.3.4's setWithAck(path, value) takes only objects as values; set with a callback takes any.)
    record.set('y', 2, (error: unknown) => {
      acked = error;
    });
    const [write] = decoded(a.take());
    expect(write).toMatchObject({ version: 5, isWriteAck: true, correlationId: '5' });
    const conflict = encoded({
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.VERSION_EXISTS,
      originalAction: RECORD_ACTION.PATCH,
      name: 'r',
      version: 5,
      data: '{"x":7}',
      isWriteAck: true,
      correlationId: '5',
      isError: true,
    });
    expect(conflict).toBe(t('R|E|VERSION_EXISTS|r|5|{"x":7}|{"writeSuccess":true}+'));
    a.receive(conflict);
    // REMOTE_WINS (the 2.x default merge): the client adopts version 5 and
    // its data, and settles the write's callback without an error.
    expect(a.take()).toBe('');
    expect(acked).toBeNull();
    expect(record.get()).toEqual({ x: 7 });
    // The next write follows the version the conflict carried.
    record.set('z', 3);
    expect(decoded(a.take())).toEqual([
      {
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.PATCH,
        name: 'r',
        version: 6,
        path: 'z',
        data: '3',
      },
    ]);
    expect(a.errors).toEqual([]);
  });

  it('records: has, head, snapshot, setData with ack, delete, discard, provider status', async () => {
    const a = new Client2();
    const state = new TextConnectionState();
    const has = a.handlers.record.has('rec2');
    const head = a.handlers.record.head('rec3');
    const headOfRec2 = a.handlers.record.head('rec2');
    const snapshot = a.handlers.record.snapshot('rec2');
    const requests = decoded(a.take(), state);
    expect(requests).toEqual([
      { topic: TOPIC.RECORD, action: RECORD_ACTION.HEAD, name: 'rec2', correlationId: 'H' },
      { topic: TOPIC.RECORD, action: RECORD_ACTION.HEAD, name: 'rec3', correlationId: 'HD' },
      { topic: TOPIC.RECORD, action: RECORD_ACTION.HEAD, name: 'rec2', correlationId: 'HD' },
      { topic: TOPIC.RECORD, action: RECORD_ACTION.READ, name: 'rec2' },
    ]);
    // The record handler's HEAD_RESPONSE names the record only: the state
    // answers in the order the two forms were asked.
    const headResponse = (name: string, version: number): Message => ({
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.HEAD_RESPONSE,
      name,
      version,
    });
    const replies =
      encoded(headResponse('rec3', 2), state) +
      encoded(headResponse('rec2', -1), state) +
      encoded(headResponse('rec2', -1), state) +
      encoded(
        {
          topic: TOPIC.RECORD,
          action: RECORD_ACTION.RECORD_NOT_FOUND,
          originalAction: RECORD_ACTION.READ,
          name: 'rec2',
          isError: true,
        },
        state,
      );
    expect(replies).toBe(t('R|HD|rec3|2+R|H|rec2|F+R|HD|rec2|-1+R|E|SN|rec2|RECORD_NOT_FOUND+'));
    expect(state.pendingHeads).toBe(0);
    a.receive(replies);
    await expect(has).resolves.toBe(false);
    await expect(head).resolves.toBe(2);
    await expect(headOfRec2).resolves.toBe(-1);
    await expect(snapshot).rejects.toBeUndefined(); // 2.x rejects a promise'd snapshot without a reason
    // An answer that echoes the form needs no state.
    const b = new Client2();
    const hasRec = b.handlers.record.has('rec');
    const [request] = decoded(b.take());
    b.receive(
      encoded({ ...headResponse('rec', 0), correlationId: request?.correlationId as string }),
    );
    await expect(hasRec).resolves.toBe(true);

    const setData = a.handlers.record.setDataWithAck('rec3', { z: 1 });
    const [upsert] = decoded(a.take());
    expect(upsert).toEqual({
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.CREATEANDUPDATE,
      name: 'rec3',
      version: -1,
      data: '{"z":1}',
      isWriteAck: true,
      correlationId: '-1',
    });
    a.receive(
      encoded({
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.WRITE_ACKNOWLEDGEMENT,
        name: 'rec3',
        correlationId: '-1',
        isWriteAck: true,
      }),
    );
    await expect(setData).resolves.toBeUndefined();

    const record = a.handlers.record.getRecord('rec4');
    a.take();
    a.receive(
      encoded({
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.READ_RESPONSE,
        name: 'rec4',
        version: 1,
        data: '{}',
      }) +
        encoded({
          topic: TOPIC.RECORD,
          action: RECORD_ACTION.SUBSCRIPTION_HAS_PROVIDER,
          name: 'rec4',
        }),
    );
    await record.whenReady();
    expect((record as unknown as { hasProvider: boolean }).hasProvider).toBe(true);
    let deleted = false;
    record.on('delete', () => {
      deleted = true;
    });
    record.delete();
    expect(decoded(a.take())).toEqual([
      { topic: TOPIC.RECORD, action: RECORD_ACTION.DELETE, name: 'rec4' },
    ]);
    a.receive(encoded({ topic: TOPIC.RECORD, action: RECORD_ACTION.DELETE_SUCCESS, name: 'rec4' }));
    expect(deleted).toBe(true);
    expect(record.isDestroyed).toBe(true);

    // Another subscriber's record goes the same way on DELETED.
    const c = new Client2();
    const theirs = c.handlers.record.getRecord('rec5');
    c.receive(
      encoded({
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.READ_RESPONSE,
        name: 'rec5',
        version: 0,
        data: '{}',
      }),
    );
    await theirs.whenReady();
    c.receive(encoded({ topic: TOPIC.RECORD, action: RECORD_ACTION.DELETED, name: 'rec5' }));
    expect(theirs.isDestroyed).toBe(true);

    // Discard: R|US|name, acked by name.
    const d = new Client2();
    const discarded = d.handlers.record.getRecord('rec6');
    d.receive(
      encoded({
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.READ_RESPONSE,
        name: 'rec6',
        version: 0,
        data: '{}',
      }),
    );
    await discarded.whenReady();
    d.take();
    discarded.discard();
    const [unsubscribe] = decoded(d.take());
    expect(unsubscribe).toEqual({
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.UNSUBSCRIBE,
      names: ['rec6'],
      correlationId: 'rec6',
    });
    d.receive(
      encoded({
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.UNSUBSCRIBE,
        correlationId: 'rec6',
        isAck: true,
      }),
    );
    expect(discarded.isDestroyed).toBe(true);
    expect([...a.errors, ...b.errors, ...c.errors, ...d.errors]).toEqual([]);
  });

  it('records: a refused write that asked for an acknowledgement fails its callback', async () => {
    const a = new Client2();
    const record = a.handlers.record.getRecord('locked');
    a.take();
    a.receive(
      encoded({
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.READ_RESPONSE,
        name: 'locked',
        version: 2,
        data: '{}',
      }),
    );
    await record.whenReady();
    const done = record.setWithAck({ a: 1 });
    const [write] = decoded(a.take());
    const denial = encoded({
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.MESSAGE_DENIED,
      originalAction: write?.action as number,
      name: 'locked',
      isError: true,
      correlationId: write?.correlationId as string,
      isWriteAck: true,
    });
    expect(denial).toBe(t('R|E|MESSAGE_DENIED|locked|U+R|WA|locked|[3]|SMESSAGE_DENIED+'));
    a.receive(denial);
    await expect(done).rejects.toBe('MESSAGE_DENIED');
    expect(a.errors).toEqual([['R', 'MESSAGE_DENIED', 'locked']]);
  });

  it('rpc: provide, make, accept, response, error, no provider, denial', async () => {
    const provider = new Client2();
    const requestor = new Client2();
    provider.handlers.rpc.provide('add', (data, response) => {
      const { a, b } = data as { a: number; b: number };
      if (a < 0) response.error('negative');
      else if (a === 0) response.reject();
      else response.send(a + b);
    });
    expect(decoded(provider.take())).toEqual([
      { topic: TOPIC.RPC, action: RPC_ACTION.PROVIDE, names: ['add'], correlationId: 'add' },
    ]);
    const provideAck = encoded({
      topic: TOPIC.RPC,
      action: RPC_ACTION.PROVIDE,
      correlationId: 'add',
      isAck: true,
    });
    expect(provideAck).toBe(t('P|A|S|add+'));
    provider.receive(provideAck);

    // A server relays the request and the provider's replies as they are.
    const call = async (data: unknown) => {
      const result = requestor.handlers.rpc.make('add', data);
      const [request] = decoded(requestor.take());
      expect(request).toMatchObject({ topic: TOPIC.RPC, action: RPC_ACTION.REQUEST, name: 'add' });
      provider.receive(encoded(request as Message));
      await tick(); // the provider's automatic accept comes on the next tick
      for (const reply of decoded(provider.take())) requestor.receive(encoded(reply));
      return result;
    };
    await expect(call({ a: 1, b: 2 })).resolves.toBe(3);
    await expect(call({ a: -1, b: 2 })).rejects.toBe('negative');
    // A rejection goes back to the server, which reroutes it; here no other provider is left.
    const rejected = requestor.handlers.rpc.make('add', { a: 0, b: 0 });
    const [request] = decoded(requestor.take());
    provider.receive(encoded(request as Message));
    await tick();
    expect(decoded(provider.take())).toEqual([
      {
        topic: TOPIC.RPC,
        action: RPC_ACTION.REJECT,
        name: 'add',
        correlationId: request?.correlationId,
      },
    ]);
    const noProvider = encoded({
      topic: TOPIC.RPC,
      action: RPC_ACTION.NO_RPC_PROVIDER,
      name: 'add',
      correlationId: request?.correlationId as string,
    });
    expect(noProvider).toBe(t(`P|E|NO_RPC_PROVIDER|add|${request?.correlationId}+`));
    requestor.receive(noProvider);
    await expect(rejected).rejects.toBe('NO_RPC_PROVIDER');

    for (const action of [RPC_ACTION.ACCEPT_TIMEOUT, RPC_ACTION.RESPONSE_TIMEOUT]) {
      const timedOut = requestor.handlers.rpc.make('slow', 1);
      const [slow] = decoded(requestor.take());
      requestor.receive(
        encoded({
          topic: TOPIC.RPC,
          action,
          name: 'slow',
          correlationId: slow?.correlationId as string,
        }),
      );
      await expect(timedOut).rejects.toBe(RPC_ACTION[action]);
    }

    const denied = requestor.handlers.rpc.make('secret', 'x');
    const [secret] = decoded(requestor.take());
    const denial = encoded({
      topic: TOPIC.RPC,
      action: RPC_ACTION.MESSAGE_DENIED,
      originalAction: RPC_ACTION.REQUEST,
      name: 'secret',
      correlationId: secret?.correlationId as string,
      isError: true,
    });
    expect(denial).toBe(t(`P|E|MESSAGE_DENIED|secret|REQ|${secret?.correlationId}+`));
    requestor.receive(denial);
    await expect(denied).rejects.toBe('MESSAGE_DENIED');
    expect([...provider.errors, ...requestor.errors]).toEqual([]);
  });

  it('presence: query everyone and some users, subscribe to joins and leaves', async () => {
    const a = new Client2();
    let everyone: unknown;
    let some: unknown;
    a.handlers.presence.getAll((users) => {
      everyone = users;
    });
    a.handlers.presence.getAll(['a', 'b'], (result) => {
      some = result;
    });
    const queries = decoded(a.take());
    expect(queries).toEqual([
      { topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY_ALL },
      {
        topic: TOPIC.PRESENCE,
        action: PRESENCE_ACTION.QUERY,
        correlationId: '1',
        names: ['a', 'b'],
      },
    ]);
    const all = encoded({
      topic: TOPIC.PRESENCE,
      action: PRESENCE_ACTION.QUERY_ALL_RESPONSE,
      names: ['a', 'c'],
    });
    expect(all).toBe(t('U|Q|a|c+'));
    a.receive(all);
    a.receive(
      encoded({
        topic: TOPIC.PRESENCE,
        action: PRESENCE_ACTION.QUERY_RESPONSE,
        correlationId: '1',
        data: '{"a":true,"b":false}',
      }),
    );
    expect(everyone).toEqual(['a', 'c']);
    expect(some).toEqual({ a: true, b: false });

    const nobody = new Client2();
    let none: unknown;
    nobody.handlers.presence.getAll((users) => {
      none = users;
    });
    nobody.receive(
      encoded({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY_ALL_RESPONSE, names: [] }),
    );
    expect(none).toEqual([]);

    const seen: unknown[][] = [];
    a.handlers.presence.subscribe((user, online) => seen.push([user, online]));
    expect(decoded(a.take())).toEqual([
      { topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.SUBSCRIBE_ALL },
    ]);
    a.receive(
      encoded({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.SUBSCRIBE_ALL, isAck: true }),
    );
    a.receive(
      encoded({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.PRESENCE_JOIN_ALL, name: 'b' }),
    );
    a.receive(
      encoded({ topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.PRESENCE_LEAVE_ALL, name: 'b' }),
    );
    expect(seen).toEqual([
      ['b', true],
      ['b', false],
    ]);
    (a.handlers.presence as unknown as { subscribe(user: string, cb: () => void): void }).subscribe(
      'c',
      () => {},
    );
    await new Promise((resolve) => setTimeout(resolve, 5)); // the client gathers them on a timer
    const [some2] = decoded(a.take());
    expect(some2).toEqual({
      topic: TOPIC.PRESENCE,
      action: PRESENCE_ACTION.SUBSCRIBE,
      correlationId: '2',
      names: ['c'],
    });
    expect(
      encoded({
        topic: TOPIC.PRESENCE,
        action: PRESENCE_ACTION.SUBSCRIBE,
        correlationId: '2',
        isAck: true,
      }),
    ).toBe(t('U|A|S|2+'));
    expect(a.errors).toEqual([]);
  });

  it('auth and connection replies read as the 2.x connection reads them', () => {
    const frames = [
      encoded({ topic: TOPIC.AUTH, action: AUTH_ACTION.AUTH_SUCCESSFUL, data: '{"id":"userA"}' }),
      encoded({
        topic: TOPIC.AUTH,
        action: AUTH_ACTION.AUTH_UNSUCCESSFUL,
        data: '"wrong password"',
      }),
    ];
    const [ok, failed] = frames.map((frame) => parser.parse(frame, {})[0] as TextMessage);
    expect(ok).toMatchObject({ topic: 'A', action: 'A' });
    expect(parser.convertTyped(ok?.data[0] as string, {})).toEqual({ id: 'userA' });
    expect(failed).toMatchObject({
      topic: 'A',
      action: 'E',
      data: ['INVALID_AUTH_DATA', 'Swrong password'],
    });
  });
});
