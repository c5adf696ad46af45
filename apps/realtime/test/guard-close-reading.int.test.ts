import { once } from 'node:events';
import type { Socket } from 'node:net';
import { AUTH_ACTION, CLOSE_CODES, EVENT_ACTION, encodeMessage, TOPIC } from '@hubstream/protocol';
import { handshakeWire, openWire, until, type Wire } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';
import { slowWebhook } from './slow-webhook.ts';

// What the node reads from a client it has closed to protect itself: nothing
// more (bench:attacks, frames while login pending: ws parsed a flood behind
// the close frame with the event loop busy for every app). And a client's
// protocol fault costs no formatted stack.

const FLOOD_BYTES = 24 * 1024 * 1024;

describe('reading after a guard close', () => {
  let stack: Stack;
  let hook: Awaited<ReturnType<typeof slowWebhook>>;
  /** The node's TCP sockets, by the client's port. */
  const serverSockets = new Map<number, Socket>();
  const opened: Wire[] = [];

  beforeAll(async () => {
    stack = await startStack();
    hook = await slowWebhook();
    stack.node(0).server.on('connection', (socket: Socket) => {
      if (socket.remotePort) serverSockets.set(socket.remotePort, socket);
    });
  });
  afterAll(async () => {
    for (const wire of opened) wire.socket.terminate();
    hook?.release();
    hook?.close();
    await stack?.close();
  });

  const open = async (appId: string) => {
    const wire = await openWire(`${stack.nodeUrl(0)}/${appId}`);
    opened.push(wire);
    const local = (wire.socket as unknown as { _socket: Socket })._socket.localPort!;
    const server = serverSockets.get(local);
    if (!server) throw new Error('the node’s socket of this client');
    return { wire, server };
  };

  it('reads no more of a client it closed for too many messages before login', async () => {
    const appId = await stack.createApp({
      auth: {
        open: { enabled: false },
        webhook: { enabled: true, url: hook.url, retryAttempts: 0 },
      },
    });
    const url = `${stack.nodeUrl(0)}/${appId}`;
    const { wire, server } = await open(appId);
    await handshakeWire(wire, url);
    wire.send({
      topic: TOPIC.AUTH,
      action: AUTH_ACTION.REQUEST,
      data: JSON.stringify({ token: 'x' }),
    });
    const before = hook.seen();
    await until(() => hook.seen() === before + 1, 'the login at the webhook');
    const serverClosed = once(server, 'close');

    // Eight messages wait behind the login, the ninth closes the connection;
    // the flood behind it goes out in the same turn, before the close frame
    // can reach the client.
    const emit = encodeMessage({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'f' });
    const filler = encodeMessage({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.EMIT,
      name: 'flood',
      data: JSON.stringify('x'.repeat(1_000)),
    });
    const readBefore = server.bytesRead;
    for (let i = 0; i < 9; i++) wire.sendBytes(emit);
    for (let sent = 0; sent < FLOOD_BYTES; sent += filler.length) wire.sendBytes(filler);

    expect((await wire.closed).code).toBe(CLOSE_CODES.TOO_MANY_MESSAGES_BEFORE_LOGIN);
    await serverClosed;
    // What the node read after the nine messages: what one read and the
    // socket's own buffer held when it stopped, not the flood.
    const readAfterClose = server.bytesRead - readBefore;
    expect(readAfterClose).toBeLessThan(2 * 1024 * 1024);
  });

  it('formats no stack for a client’s protocol fault', async () => {
    const appId = await stack.createApp();
    const previous = Error.prepareStackTrace;
    let formatted = 0;
    Error.prepareStackTrace = (error, frames) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (typeof code === 'string' && code.startsWith('WS_ERR_')) formatted++;
      return previous
        ? previous(error, frames)
        : `${error}\n${frames.map((f) => `    at ${f}`).join('\n')}`;
    };
    try {
      const { wire } = await open(appId);
      // Over the pre-login frame cap (16 KB): ws refuses it, 1009.
      wire.sendBytes(new Uint8Array(64 * 1024));
      expect((await wire.closed).code).toBe(CLOSE_CODES.MESSAGE_TOO_BIG);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(formatted).toBe(0);
    } finally {
      Error.prepareStackTrace = previous;
    }
  });
});
