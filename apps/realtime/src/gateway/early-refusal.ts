import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

// A WebSocket upgrade the node already knows it will refuse (its address is
// at the cap of connections not logged in) is answered right at the HTTP
// upgrade: the handshake's 101 and a close frame with the refusal's code,
// written in one go by hand. The client sees what it saw before (an open
// socket closed at once with that code), but the node skips Fastify's
// request and routing, ws's handshake and WebSocket (receiver, sender,
// listeners) and the per-connection bookkeeping (bench:attacks, sockets that
// never log in: 968 of 1,000 sockets are refused, in bursts of 50).
//
// The WebSocket plugin does not listen on the HTTP server itself: it listens
// on a gate (its `server` option), which the server's one upgrade listener
// feeds with every upgrade not refused here. The plugin's listener stays its
// own to remove, and a closing server (its preClose removes it) takes the
// gate off the HTTP server in the same call: from then on upgrades are
// handled as with no listener at all (as plain requests: Fastify's 503 while
// it closes), and the sockets refused here are destroyed, not left to their
// close timeout while the server waits for its connections to end.

const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Base64 of 16 bytes, as RFC 6455 requires of Sec-WebSocket-Key. */
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** The gateway's routes: `/<app id>` and `/deepstream` (one segment, any query). */
const ONE_SEGMENT = /^\/[^/?]*(?:\?|$)/;

/** An unfragmented close frame from a server (not masked) with `code` and `reason`. */
export function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason);
  // A control frame's payload is at most 125 bytes: 2 for the code, the rest the reason.
  if (text.length > 123) throw new RangeError('a close reason is at most 123 bytes');
  const frame = Buffer.allocUnsafe(4 + text.length);
  frame[0] = 0x88;
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}

/**
 * The Sec-WebSocket-Key of a well-formed WebSocket upgrade that asks for no
 * subprotocol, or undefined: anything else (a malformed upgrade, one that
 * offers subprotocols, a path the gateway does not serve) takes the usual
 * path, which answers it as it always did.
 */
export function plainUpgradeKey(request: IncomingMessage): string | undefined {
  const { headers } = request;
  if (request.method !== 'GET' || !ONE_SEGMENT.test(request.url ?? '')) return undefined;
  if (headers.upgrade?.toLowerCase() !== 'websocket') return undefined;
  const version = headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') return undefined;
  if (headers['sec-websocket-protocol'] !== undefined) return undefined;
  const key = headers['sec-websocket-key'];
  return key !== undefined && KEY.test(key) ? key : undefined;
}

export type UpgradeGuard = {
  /** Whether to refuse this (well-formed) upgrade at once. */
  refuses(request: IncomingMessage): boolean;
  /** The close frame the refused socket gets (closeFrame). */
  frame: Buffer;
  /** A refused socket the client does not close is destroyed this long after. */
  closeTimeoutMs: number;
  /** Called for each socket refused here (the node's metrics). */
  refused(): void;
};

type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * The emitter to hand the WebSocket plugin as its `server`: it gets every
 * upgrade of `server` that `guard` does not refuse. Once the plugin takes its
 * listener off it (a closing server), the gate is off `server` too.
 */
export function upgradeGate(server: Server, guard: UpgradeGuard): EventEmitter {
  const gate = new EventEmitter();
  /** Sockets refused here and not yet closed. */
  const refused = new Set<Socket>();
  const onUpgrade: UpgradeListener = (request, socket, head) => {
    const key = plainUpgradeKey(request);
    if (key !== undefined && guard.refuses(request)) {
      refuseAtUpgrade(socket as Socket, key, guard, refused);
      return;
    }
    // Nobody to take it (cannot happen while the gate is on the server).
    if (!gate.emit('upgrade', request, socket, head)) socket.destroy();
  };
  server.on('upgrade', onUpgrade);
  gate.on('removeListener', (event: string | symbol) => {
    if (event !== 'upgrade' || gate.listenerCount('upgrade') > 0) return;
    server.removeListener('upgrade', onUpgrade);
    for (const socket of refused) socket.destroy();
    refused.clear();
  });
  return gate;
}

function refuseAtUpgrade(
  socket: Socket,
  key: string,
  guard: UpgradeGuard,
  refused: Set<Socket>,
): void {
  guard.refused();
  const accept = createHash('sha1')
    .update(key + HANDSHAKE_GUID)
    .digest('base64');
  const head =
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${accept}\r\n\r\n`;
  refused.add(socket);
  socket.once('close', () => refused.delete(socket));
  // Nothing more is read from it (as a socket refused after its handshake,
  // ws-reading.ts' stopReading): it is ended now and destroyed at the
  // close timeout, or at once on an error.
  socket.pause();
  socket.on('error', destroy);
  socket.setTimeout(guard.closeTimeoutMs, destroy);
  socket.cork();
  socket.write(head);
  socket.end(guard.frame);
}

function destroy(this: Socket): void {
  this.destroy();
}
