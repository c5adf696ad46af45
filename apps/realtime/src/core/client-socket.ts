/**
 * What the core needs from a transport: send one binary frame, close. The
 * gateway adapts a `ws` socket to it; the core never sees ws or fastify.
 */
export interface ClientSocket {
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
}

/** What the gateway learned at upgrade time; webhooks receive it as connectionData. */
export type ConnectionInfo = {
  remoteAddress: string;
  headers: Record<string, string>;
};
