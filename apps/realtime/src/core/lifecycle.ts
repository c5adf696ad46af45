import type { Message } from '@hubstream/protocol';
import type {
  GuardClose,
  LimitName,
  NodeAuthFailureReason,
  ProtocolError,
} from './node-counters.ts';

// Lifecycle hooks, in the manner of hocuspocus's extension hooks: what a
// connection goes through (opened, authenticated, closed) and what happens to
// its messages (received, sent, denied, limited, refused as malformed). The
// connection and the handlers only announce; usage, metrics and limits
// observe (runtime/observers.ts). Generic over the connection so that this
// file, at the very bottom, imports no connection.
//
// Some hooks run once per message or per fan-out copy: each is a plain array
// of functions bound once when an extension is added, called in a `for` loop
// with the arguments the caller has at hand. No EventEmitter, no event
// object, nothing allocated per call.

/** What an extension may observe; every hook is optional. */
export interface Extension<C> {
  /** A transport connected: the handshake has not begun. */
  connectionOpened?(connection: C): void;
  /** Logged in and admitted: the connection is open. */
  connectionAuthenticated?(connection: C): void;
  /** Gone; `wasOpen` when it had logged in. */
  connectionClosed?(connection: C, wasOpen: boolean): void;
  /** A message from a logged-in client, before limits and rules (every topic). */
  messageReceived?(connection: C, topic: number): void;
  /** A frame handed to the client's socket (each copy of a fan-out). */
  messageSent?(connection: C, topic: number): void;
  /** The rules refused (`denied`) or failed on (`error`) a message (for `name`, one of its names). */
  messageDenied?(
    connection: C,
    topic: number,
    verdict: 'denied' | 'error',
    message: Message,
    name: string | undefined,
  ): void;
  /** A client's event passed the rules and went to its subscribers (not one from another node). */
  eventEmitted?(connection: C, name: string, data: string | undefined): void;
  /** A limit or per-connection cap refused something. */
  limited?(limit: LimitName): void;
  /** A frame that could not be taken as a message. */
  protocolError?(connection: C, kind: ProtocolError): void;
  /** A login failed (or never came). */
  authFailed?(reason: NodeAuthFailureReason, connection: C): void;
  /** The node closed a connection (or refused a socket) to protect itself. */
  guardClosed?(reason: GuardClose): void;
  /** A handler threw while handling a message. */
  handlerFailed?(connection: C, error: unknown): void;
}

type Hook<A extends unknown[]> = ((...args: A) => void)[];

/** Each hook's observers, in the order their extensions were added. */
export class Hooks<C> {
  readonly connectionOpened: Hook<[C]> = [];
  readonly connectionAuthenticated: Hook<[C]> = [];
  readonly connectionClosed: Hook<[C, boolean]> = [];
  readonly messageReceived: Hook<[C, number]> = [];
  readonly messageSent: Hook<[C, number]> = [];
  readonly messageDenied: Hook<[C, number, 'denied' | 'error', Message, string | undefined]> = [];
  readonly eventEmitted: Hook<[C, string, string | undefined]> = [];
  readonly limited: Hook<[LimitName]> = [];
  readonly protocolError: Hook<[C, ProtocolError]> = [];
  readonly authFailed: Hook<[NodeAuthFailureReason, C]> = [];
  readonly guardClosed: Hook<[GuardClose]> = [];
  readonly handlerFailed: Hook<[C, unknown]> = [];

  /** Adds every hook `extension` has. */
  use(extension: Extension<C>): this {
    const add = <A extends unknown[]>(hook: Hook<A>, fn: ((...args: A) => void) | undefined) => {
      if (fn) hook.push(fn.bind(extension));
    };
    add(this.connectionOpened, extension.connectionOpened);
    add(this.connectionAuthenticated, extension.connectionAuthenticated);
    add(this.connectionClosed, extension.connectionClosed);
    add(this.messageReceived, extension.messageReceived);
    add(this.messageSent, extension.messageSent);
    add(this.messageDenied, extension.messageDenied);
    add(this.eventEmitted, extension.eventEmitted);
    add(this.limited, extension.limited);
    add(this.protocolError, extension.protocolError);
    add(this.authFailed, extension.authFailed);
    add(this.guardClosed, extension.guardClosed);
    add(this.handlerFailed, extension.handlerFailed);
    return this;
  }
}

/** Calls each observer of a one-argument hook (the rare hooks; the per-message ones loop inline). */
export function fire<A>(hook: Hook<[A]>, a: A): void {
  for (let i = 0; i < hook.length; i++) hook[i]!(a);
}

/** Calls each observer of a two-argument hook. */
export function fire2<A, B>(hook: Hook<[A, B]>, a: A, b: B): void {
  for (let i = 0; i < hook.length; i++) hook[i]!(a, b);
}
