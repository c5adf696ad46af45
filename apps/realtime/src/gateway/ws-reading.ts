import type { WebSocket } from 'ws';

// What the gateway changes in how ws reads a client: the size of the frames
// it buffers, where it stops, and how cheap its protocol errors are. ws has
// no public per-socket setting for these; where its objects are not as
// expected each does nothing (the core's own checks still refuse).

/** ws's frame parser (lib/receiver.js), the fields used here. */
type Receiver = {
  _maxPayload?: unknown;
  _buffers?: unknown;
  _bufferedBytes?: unknown;
  createError?: unknown;
};

type TcpSocket = { end?(): void; destroyed?: boolean };

function receiverOf(socket: WebSocket): Receiver | undefined {
  return (socket as unknown as { _receiver?: Receiver })._receiver;
}

/** Caps the size of the next frames ws will buffer for this socket. */
export function limitFrames(socket: WebSocket, bytes: number): void {
  const receiver = receiverOf(socket);
  if (receiver && typeof receiver._maxPayload === 'number') receiver._maxPayload = bytes;
}

/**
 * After a close that protects the node (a flood of frames before login, a
 * crowd of sockets not logged in): nothing more is read or parsed. ws itself,
 * once it has sent its close frame, reads and parses everything the client
 * sends until the client's own close frame, which a flooding client sends
 * behind megabytes of frames: in bench:attacks (frames while login pending)
 * that kept node A's event loop 75% busy for every app. Here the TCP socket
 * stops reading, the frames ws already holds are dropped (its parser finds
 * nothing left once the current frame's 'message' returns), and the socket
 * is ended once the close frame is written; ws's close timeout destroys it
 * if the client never ends its side.
 */
export function stopReading(socket: WebSocket): void {
  socket.pause();
  const receiver = receiverOf(socket);
  if (receiver && Array.isArray(receiver._buffers) && typeof receiver._bufferedBytes === 'number') {
    receiver._buffers.length = 0;
    receiver._bufferedBytes = 0;
  }
  const tcp = (socket as unknown as { _socket?: TcpSocket })._socket;
  if (tcp && !tcp.destroyed) tcp.end?.();
}

let plainErrors = false;

/**
 * ws's protocol errors (a frame over the size cap, a bad opcode, invalid
 * UTF-8: the client's fault) carry a plain `stack` ("RangeError: Max payload
 * size exceeded"), never a formatted one. Node's stream touches every write
 * error's stack (Writable's onwrite), and the process's first formatted stack
 * makes node (--enable-source-maps) parse the bundle's source map: one 250 ms
 * task (#parseMap and the GC after it) with the event loop stopped for every
 * app on the node (bench:attacks, frames while login pending: the first
 * pre-login frame over the cap). A stack of ws's parser says nothing about
 * the client. Patched once, on the prototype of the first socket's parser.
 */
export function plainProtocolErrors(socket: WebSocket): void {
  if (plainErrors) return;
  const receiver = receiverOf(socket);
  const prototype = receiver ? (Object.getPrototypeOf(receiver) as Receiver | null) : null;
  const create = prototype?.createError;
  if (!prototype || typeof create !== 'function') return;
  plainErrors = true;
  prototype.createError = function createPlainError(this: unknown, ...args: unknown[]): Error {
    const error = (create as (...a: unknown[]) => Error).apply(this, args);
    // Assigned, not defined: V8 formats the stack it replaces on defineProperty.
    error.stack = `${error.name}: ${error.message}`;
    return error;
  };
}
