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
    env: {
      MAX_UNAUTHENTICATED_CONNECTIONS_PER_ADDRESS: String(PER_ADDRESS),
      // How long a closing node waits for a client that does not answer its close.
      CONNECTION_CLOSE_TIMEOUT_MS: '1500',
    },
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
  it('accepts no new WebSocket while it waits for its clients, and finishes closing', async () => {
    const appId = await stack.createApp();
    const url = `${stack.nodeUrl(0)}/${appId}`;
    const node = stack.node(0);
    // A client that reads nothing more: the node's close waits its close timeout for it.
    const held = await openWire(url);
    opened.push(held);
    (held.socket as unknown as { _socket: { pause(): void } })._socket.pause();

    const closing = node.close();
    // In the node's close, before it stops listening: an upgrade is refused,
    // and its socket does not hold the close open.
    const ready = `${stack.nodeUrl(0).replace(/^ws/, 'http')}/ready`;
    await until(async () => (await fetch(ready)).status === 503, 'the node closing');
    const late = new WebSocket(url);
    expect(await outcomeOf(late)).toBe('Unexpected server response: 503');
    await closing;
    expect(node.server.listening).toBe(false);
    expect(late.readyState).toBe(WebSocket.CLOSED);
  });
});
