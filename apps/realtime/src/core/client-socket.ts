import type { Message, NamesOverCap } from '@hubstream/protocol';

/**
 * The frames of a client that does not speak protobuf (the 2.x text
 * protocol, gateway/text-codec.ts): what the core would send as protobuf, in
 * the client's own form. Null: the client has no form for that message, and
 * nothing is sent.
 */
export interface FrameCodec {
  encode(message: Message): Uint8Array | null;
  /** A protobuf frame encoded once for a fan-out, in this client's form. */
  translate(frame: Uint8Array): Uint8Array | null;
}

/**
 * What the core needs from a transport: send one frame, close. The gateway
 * adapts a `ws` socket to it; the core never sees ws or fastify.
 */
export interface ClientSocket {
  /** Queues the frame; the same bytes may be handed to many sockets (fan-out), never changed. */
  send(frame: Uint8Array): void;
  /** Set once the client turns out not to speak protobuf: every frame goes through it. */
  readonly codec?: FrameCodec | undefined;
  /** Starts the close handshake; the transport destroys the socket if it does not finish soon. */
  close(code: number, reason: string): void;
  /**
   * After a close that protects the node: read and parse nothing more the
   * client sends (a flood behind the close frame), and end the connection
   * once the close frame is out.
   */
  stopReading?(): void;
  /** Bytes sent and not yet taken by the client (the socket's and the transport's own queue). */
  readonly bufferedBytes: number;
  /** The connection logged in: the transport may lift its pre-login bounds (frame size, counts). */
  loggedIn?(): void;
  /** Stop reading from the client (too much waits to be handled); `resume` reads again. */
  pause?(): void;
  resume?(): void;
}

/** A message as a transport's own decoder gives it (the binary one's DecodeResult fits). */
export type ReceivedMessage =
  | { ok: true; message: Message }
  | {
      ok: false;
      reason: string;
      overCap?: NamesOverCap | undefined;
      /** With INVALID_MESSAGE: the message and the reply refusing it (core/refused.ts). */
      message?: Message | undefined;
      reply?: Message | undefined;
    };
