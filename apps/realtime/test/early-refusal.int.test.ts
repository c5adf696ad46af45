import { Writable } from 'node:stream';
import { CLOSE_CODES } from '@hubstream/protocol';
import { createLogger } from '@hubstream/service';
import { openWire, until, type Wire } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type Stack, startStack } from './harness.ts';

// An address at its cap of connections not logged in is refused at the
// upgrade itself (gateway/early-refusal.ts): the client gets the same
// handshake and close code as before, the node runs none of its request
// handling for it (no "incoming request" line, even at debug). A closing
// node accepts no new WebSocket with the refusal in place.

const PER_ADDRESS = 3;
const lines: Record<string, unknown>[] = [];
let stack: Stack;
const opened: Wire[] = [];

beforeAll(async () => {
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  stack = await startStack({
    env: { MAX_UNAUTHENTICATED_CONNECTIONS_PER_ADDRESS: String(PER_ADDRESS) },
    logger: createLogger({ level: 'debug', name: 'test', destination }),
  });
});

afterAll(async () => {
  for (const wire of opened) wire.socket.terminate();
  await stack?.close();
});

/** Upgrades the node saw as requests (fastify's line at debug), for `appId`. */
const requestsFor = (appId: string) =>
  lines.filter(
    (l) =>
      l.msg === 'incoming request' && (l.req as { url?: string } | undefined)?.url === `/${appId}`,
  ).length;

function closedOf(socket: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    socket.on('error', reject);
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}

describe('an address over its cap of connections not logged in', () => {
  it('is refused at the upgrade with the cap close code, and let in again once under it', async () => {
    const appId = await stack.createApp();
    const url = `${stack.nodeUrl(0)}/${appId}`;
    for (let i = 0; i < PER_ADDRESS; i++) opened.push(await openWire(url));
    await until(() => requestsFor(appId) === PER_ADDRESS, 'the upgrades logged');

    const refused = await openWire(url);
    expect(await refused.closed).toEqual({
      code: CLOSE_CODES.TOO_MANY_UNAUTHENTICATED_CONNECTIONS,
      reason: 'too many connections not logged in',
    });
    const runtime = (await stack.runtime(appId))!;
    expect(runtime.node.counters.guardCloses.entries()).toContainEqual([
      'unauthenticated_per_address',
      1,
    ]);
    // Refused before Fastify saw it: the node logged no request for it.
    expect(requestsFor(appId)).toBe(PER_ADDRESS);

    // An upgrade that offers a subprotocol takes the usual path, refused there the same way.
    const withProtocol = new WebSocket(url, ['deepstream']);
    expect((await closedOf(withProtocol)).code).toBe(
      CLOSE_CODES.TOO_MANY_UNAUTHENTICATED_CONNECTIONS,
    );
    // So does one naming a forwarded address (the usual path decides whether to trust it).
    const forwarded = new WebSocket(url, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect((await closedOf(forwarded)).code).toBe(CLOSE_CODES.TOO_MANY_UNAUTHENTICATED_CONNECTIONS);
    await until(() => requestsFor(appId) === PER_ADDRESS + 2, 'the usual path logged both');
    expect(runtime.node.counters.guardCloses.entries()).toContainEqual([
      'unauthenticated_per_address',
      3,
    ]);

    // One socket goes: the address is under its cap, and the next is let in.
    await opened.pop()!.close();
    await until(
      () => lines.some((l) => l.msg === 'connection closed' && l.app === appId),
      'the closed connection released',
    );
    const next = await openWire(url);
    opened.push(next);
    await until(() => requestsFor(appId) === PER_ADDRESS + 3, 'the new upgrade logged');
    expect(next.socket.readyState).toBe(WebSocket.OPEN);
  });
});

/** How an upgrade ends: open, or the error the client saw. */
function outcomeOf(socket: WebSocket): Promise<string> {
  return new Promise((resolve) => {
    socket.once('open', () => resolve('open'));
    socket.once('error', (error) => resolve(error.message));
  });
}

describe('a closing node', () => {
  let closingStack: Stack | undefined;
  afterAll(async () => closingStack?.close());

  it('accepts no new WebSocket while it waits for its clients, and lets go of the sockets it refused', async () => {
    // Its own node, whose close timeout is longer than the test: a socket
    // left to it would hold the node's close open.
    closingStack = await startStack({
      env: {
        MAX_UNAUTHENTICATED_CONNECTIONS_PER_ADDRESS: String(PER_ADDRESS),
        CONNECTION_CLOSE_TIMEOUT_MS: '600000',
      },
    });
    const appId = await closingStack.createApp();
    const url = `${closingStack.nodeUrl(0)}/${appId}`;
    const node = closingStack.node(0);
    // A client that reads nothing more: the node's close waits for it.
    const held = new WebSocket(url);
    expect(await outcomeOf(held)).toBe('open');
    (held as unknown as { _socket: { pause(): void } })._socket.pause();
    const others: WebSocket[] = [];
    for (let i = 1; i < PER_ADDRESS; i++) {
      others.push(new WebSocket(url));
      expect(await outcomeOf(others.at(-1)!)).toBe('open');
    }
    // Refused at the upgrade: the node ended its socket and reads it no more
    // (its own side lasts until the close timeout).
    const runtime = (await closingStack.runtime(appId))!;
    const refusedBefore = new Map(runtime.node.counters.guardCloses.entries()).get(
      'unauthenticated_per_address',
    );
    const refused = new WebSocket(url);
    expect((await closedOf(refused)).code).toBe(CLOSE_CODES.TOO_MANY_UNAUTHENTICATED_CONNECTIONS);
    expect(
      new Map(runtime.node.counters.guardCloses.entries()).get('unauthenticated_per_address'),
    ).toBe((refusedBefore ?? 0) + 1);

    const closing = node.close();
    // In the node's close, before it stops listening: an upgrade is answered 503.
    const ready = `${closingStack.nodeUrl(0).replace(/^ws/, 'http')}/ready`;
    await until(async () => (await fetch(ready)).status === 503, 'the node closing');
    const late = new WebSocket(url);
    expect(await outcomeOf(late)).toBe('Unexpected server response: 503');
    // The held client goes; the others answered the node's GOING_AWAY. The
    // close then ends: neither the late upgrade's socket nor the refused one
    // (close timeout: 10 minutes) holds it open.
    held.terminate();
    await closing;
    expect(node.server.listening).toBe(false);
    expect(late.readyState).toBe(WebSocket.CLOSED);
    expect(others.every((o) => o.readyState === WebSocket.CLOSED)).toBe(true);
  });
});
