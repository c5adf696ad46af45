import type { ConnectionInfo, User } from '@hubstream/auth';
import {
  AUTH_ACTION,
  CLOSE_CODES,
  CONNECTION_ACTION,
  type Message,
  TOPIC,
} from '@hubstream/protocol';
import type { ConnectionHost, ConnectionState } from './connection-host.ts';
import { fire2 } from './lifecycle.ts';
import type { NodeAuthFailureReason } from './node-counters.ts';
import type { Logger } from './types.ts';

/** What the login needs of its connection (core/connection.ts's Connection). */
export interface LoginSubject {
  state: ConnectionState;
  readonly info: ConnectionInfo;
  readonly log: Logger;
  send(message: Message): void;
  close(code: number, reason: string): void;
}

/**
 * A connection's way in: the CHALLENGE (is there room in the app?), then
 * quarantine until a login succeeds, within the app's unauthenticated
 * timeout and number of attempts. Dropped by the connection once it is open,
 * so an open connection carries none of it.
 */
export class Login<C extends LoginSubject> {
  readonly #connection: C;
  readonly #app: ConnectionHost<C>;
  readonly #open: (user: User, clientData: Record<string, unknown>) => void;
  #attempts = 0;
  readonly #timer: NodeJS.Timeout;

  /** `open`: the login succeeded and the app admitted the connection. */
  constructor(
    connection: C,
    app: ConnectionHost<C>,
    open: (user: User, clientData: Record<string, unknown>) => void,
  ) {
    this.#connection = connection;
    this.#app = app;
    this.#open = open;
    this.#timer = setTimeout(() => this.#timeout(), app.unauthenticatedTimeoutMs);
    this.#timer.unref();
  }

  /** The connection closed (or opened): the timeout no longer applies. */
  stop(): void {
    clearTimeout(this.#timer);
  }

  /** A message before the CHALLENGE was accepted. */
  handshake(message: Message): void | Promise<void> {
    if (message.topic === TOPIC.CONNECTION && message.action === CONNECTION_ACTION.CHALLENGE) {
      return this.#challenge();
    }
    if (message.topic === TOPIC.CONNECTION && message.action === CONNECTION_ACTION.PING) return;
    this.#connection.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.INVALID_MESSAGE });
  }

  /**
   * Accepted while the app has room for one more connection across the
   * cluster. The place itself is taken at login: a connection that never
   * logs in never holds one.
   */
  async #challenge() {
    const connection = this.#connection;
    const room = await this.#app.hasRoom();
    if (connection.state === 'closed') return;
    if (!room) {
      // The official client stops on REJECT (CHALLENGE_DENIED) instead of reconnecting at once.
      connection.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.REJECT });
      connection.close(
        CLOSE_CODES.CONNECTION_LIMIT_REACHED,
        "the app's connection limit is reached",
      );
      return;
    }
    connection.state = 'awaiting-auth';
    connection.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.ACCEPT });
  }

  /** A message after the CHALLENGE, before the login succeeded. */
  quarantine(message: Message): void | Promise<void> {
    const connection = this.#connection;
    if (message.topic === TOPIC.CONNECTION) return; // PINGs go unanswered before login.
    if (message.topic !== TOPIC.AUTH) {
      connection.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.INVALID_MESSAGE });
      return;
    }
    if (connection.state === 'authenticating') return; // one login at a time
    let authData: unknown;
    try {
      authData = message.data === undefined ? {} : JSON.parse(message.data);
    } catch {
      authData = undefined;
    }
    const isObject = typeof authData === 'object' && authData !== null && !Array.isArray(authData);
    if (message.action !== AUTH_ACTION.REQUEST || !isObject) {
      this.#failed('invalid_message');
      connection.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.INVALID_MESSAGE_DATA });
      connection.close(CLOSE_CODES.PROTOCOL_VIOLATION, 'invalid auth message');
      return;
    }
    connection.state = 'authenticating';
    return this.#login(authData as Record<string, unknown>);
  }

  async #login(authData: Record<string, unknown>) {
    const connection = this.#connection;
    const result = await this.#app.authenticate(authData, connection.info, connection.log);
    if (connection.state === 'closed') return;
    if (result.ok) {
      // False also when the connection closed meanwhile (close is then a no-op).
      const admitted = await this.#app.admit(connection);
      if (!admitted) {
        // The app filled up while this login was decided. No REJECT: the
        // official client takes it only in answer to its CHALLENGE; it
        // reconnects and is refused there while the app stays full.
        connection.close(
          CLOSE_CODES.CONNECTION_LIMIT_REACHED,
          "the app's connection limit is reached",
        );
        return;
      }
      clearTimeout(this.#timer);
      this.#open(result.user, result.clientData);
      return;
    }
    connection.state = 'awaiting-auth';
    this.#attempts++;
    this.#failed(result.reason);
    // Every attempt is answered, the last one too (as deepstream does): the
    // official client's login() callback fires before TOO_MANY_AUTH_ATTEMPTS.
    connection.send({
      topic: TOPIC.AUTH,
      action: AUTH_ACTION.AUTH_UNSUCCESSFUL,
      ...(result.clientData === undefined ? {} : { data: JSON.stringify(result.clientData) }),
    });
    if (this.#attempts >= this.#app.maxAuthAttempts) {
      connection.send({ topic: TOPIC.AUTH, action: AUTH_ACTION.TOO_MANY_AUTH_ATTEMPTS });
      // A moment for the frames to leave before the close (as deepstream does).
      setTimeout(
        () => connection.close(CLOSE_CODES.TOO_MANY_AUTH_ATTEMPTS, 'too many auth attempts'),
        10,
      );
    }
  }

  #failed(reason: NodeAuthFailureReason) {
    fire2(this.#app.hooks.authFailed, reason, this.#connection);
    this.#connection.log.debug({ reason, attempts: this.#attempts }, 'login failed');
  }

  #timeout() {
    const connection = this.#connection;
    if (connection.state === 'open' || connection.state === 'closed') return;
    this.#failed('timeout');
    connection.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.AUTHENTICATION_TIMEOUT });
    connection.close(CLOSE_CODES.AUTHENTICATION_TIMEOUT, 'authentication timeout');
  }
}
