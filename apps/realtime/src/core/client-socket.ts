/**
 * What the core needs from a transport: send one binary frame, close. The
 * gateway adapts a `ws` socket to it; the core never sees ws or fastify.
 */
export interface ClientSocket {
  /** Queues the frame; the same bytes may be handed to many sockets (fan-out), never changed. */
  send(frame: Uint8Array): void;
  /** Starts the close handshake; the transport destroys the socket if it does not finish soon. */
  close(code: number, reason: string): void;
  /** Bytes sent and not yet taken by the client (the socket's and the transport's own queue). */
  readonly bufferedBytes: number;
  /** The connection logged in: the transport may lift its pre-login bounds (frame size, counts). */
  loggedIn?(): void;
  /** Stop reading from the client (too much waits to be handled); `resume` reads again. */
  pause?(): void;
  resume?(): void;
}

/** What the gateway learned at upgrade time; webhooks receive it as connectionData. */
export type ConnectionInfo = {
  remoteAddress: string;
  headers: Record<string, string>;
};
