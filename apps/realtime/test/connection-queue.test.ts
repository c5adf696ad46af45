import type { AuthResult } from '@hubstream/auth';
import {
  AUTH_ACTION,
  type ClientMessage,
  CONNECTION_ACTION,
  EVENT_ACTION,
  encodeMessage,
  type Message,
  TOPIC,
} from '@hubstream/protocol';
import { until } from '@hubstream/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientSocket } from '../src/core/client-socket.ts';
import { Connection } from '../src/core/connection.ts';
import type { ConnectionHost } from '../src/core/connection-host.ts';
import { Hooks } from '../src/core/lifecycle.ts';
import type { NodeSettings } from '../src/core/settings.ts';
import type { AppLimits } from '../src/limits/app-limits.ts';

// A connection's message queue on its own, with a stand-in app: messages
// wait behind a pending one in arrival order, and a handler that fails (by
// throwing, or by a rejected promise) is reported and the next message is
// handled. The socket-level tests cover order and bounds with real clients;
// a failing handler cannot be provoked from a socket on purpose.

const silent = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silent;
  },
};

type Route = (name: string) => void | Promise<void>;

function harness(route: Route) {
  const hooks = new Hooks<Connection>();
  const failures: { name: string | undefined; error: unknown }[] = [];
  let lastRouted: string | undefined;
  hooks.handlerFailed.push((_connection, error) => failures.push({ name: lastRouted, error }));
  const socket: ClientSocket = {
    send() {},
    close() {},
    bufferedBytes: 0,
  };
  const limits = {
    maxNamesPerMessage: 1000,
  } as AppLimits;
  const settings = {
    maxBufferedBytes: 4 * 1024 * 1024,
    slowConsumerGraceMs: 1000,
    preLoginMaxMessageBytes: 16 * 1024,
    preLoginMaxQueuedMessages: 8,
  } as NodeSettings;
  const host: ConnectionHost<Connection> = {
    appId: 'app',
    log: silent as unknown as ConnectionHost<Connection>['log'],
    settings,
    limits,
    maxMessageBytes: 1024 * 1024,
    unauthenticatedTimeoutMs: 60_000,
    maxAuthAttempts: 3,
    hooks,
    hasRoom: async () => true,
    authenticate: async (): Promise<AuthResult> => ({
      ok: true,
      user: { id: 'u', isAuthenticated: true, strategy: 'open', data: null },
      clientData: {},
    }),
    admit: async () => true,
    allows: () => true,
    attach() {},
    detach() {},
    route(_connection, message: ClientMessage) {
      const name = (message as { name: string }).name;
      lastRouted = name;
      return route(name);
    },
    check: () => 'allowed',
  };
  const connection = new Connection(socket, host, {
    remoteAddress: '127.0.0.1',
    headers: {},
  });
  return { connection, failures };
}

const frame = (message: Message) => encodeMessage(message);
const emit = (name: string) => frame({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name });

async function openConnection(h: ReturnType<typeof harness>) {
  h.connection.receive(frame({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.CHALLENGE }));
  await until(() => h.connection.state === 'awaiting-auth', 'the challenge accepted', {
    everyMs: 1,
  });
  h.connection.receive(frame({ topic: TOPIC.AUTH, action: AUTH_ACTION.REQUEST, data: '{}' }));
  await until(() => h.connection.state === 'open', 'the login', { everyMs: 1 });
}

let open: Connection[] = [];
afterEach(() => {
  for (const connection of open) connection.closed();
  open = [];
});

describe('a connection’s message queue', () => {
  it('reports a handler that throws mid-queue and handles the messages after it, in order', async () => {
    const handled: string[] = [];
    let release!: () => void;
    const h = harness((name) => {
      handled.push(name);
      if (name === 'slow') return new Promise<void>((resolve) => (release = resolve));
      if (name === 'throws') throw new Error('boom');
      return undefined;
    });
    open.push(h.connection);
    await openConnection(h);

    // 'slow' is pending: everything after it waits in the queue.
    for (const name of ['slow', 'a', 'throws', 'b', 'c']) h.connection.receive(emit(name));
    await new Promise((r) => setImmediate(r));
    expect(handled).toEqual(['slow']);

    release();
    await until(() => handled.length === 5, 'every message handled', { everyMs: 1 });
    expect(handled).toEqual(['slow', 'a', 'throws', 'b', 'c']);
    expect(h.failures).toHaveLength(1);
    expect(h.failures[0]!.name).toBe('throws');
    expect((h.failures[0]!.error as Error).message).toBe('boom');
    expect(h.connection.state).toBe('open');
  });

  it('reports a handler whose promise rejects and handles the next message only after it settled', async () => {
    const handled: string[] = [];
    let reject!: (error: Error) => void;
    const h = harness((name) => {
      handled.push(name);
      return name === 'rejects' ? new Promise<void>((_resolve, r) => (reject = r)) : undefined;
    });
    open.push(h.connection);
    await openConnection(h);

    for (const name of ['rejects', 'x', 'y']) h.connection.receive(emit(name));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    // Still pending: the next messages wait for it.
    expect(handled).toEqual(['rejects']);
    expect(h.failures).toHaveLength(0);

    reject(new Error('no record'));
    await until(() => handled.length === 3, 'every message handled', { everyMs: 1 });
    expect(handled).toEqual(['rejects', 'x', 'y']);
    expect(h.failures.map((f) => (f.error as Error).message)).toEqual(['no record']);
  });

  it('after a failure, a new message is handled as it comes (the queue is idle again)', async () => {
    const handled: string[] = [];
    const h = harness((name) => {
      handled.push(name);
      return name === 'first' ? Promise.reject(new Error('first failed')) : undefined;
    });
    open.push(h.connection);
    await openConnection(h);

    h.connection.receive(emit('first'));
    await until(() => h.failures.length === 1, 'the failure reported', { everyMs: 1 });
    // Nothing pending any more: handled synchronously within receive.
    h.connection.receive(emit('later'));
    expect(handled).toEqual(['first', 'later']);
  });
});
