import type { Message } from '@hubstream/protocol';
import type { Connection } from './connection.ts';

/**
 * The user as the node and the rules see it (VALVE.md "Users in rules"):
 * `strategy` says which auth strategy let them in.
 */
export type User = {
  id: string;
  isAuthenticated: boolean;
  strategy: 'open' | 'email' | 'webhook';
  data: unknown;
};

/** One topic's logic for one app. */
export interface TopicHandler {
  handle(connection: Connection, message: Message): void | Promise<void>;
  /** The connection is gone: drop everything it held. */
  connectionClosed(connection: Connection): void;
  /** The app's permissions changed: drop what the new rules no longer allow. */
  permissionsChanged?(): Promise<void>;
  /** The app is going away (deleted, or the node stops): release timers. */
  close?(): void;
}

export type Logger = {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
};

/** `log` with `fields` (a connection's and its app's ids) on every line. */
export function logWith(log: Logger, fields: object): Logger {
  return {
    debug: (object, message) => log.debug({ ...fields, ...object }, message),
    info: (object, message) => log.info({ ...fields, ...object }, message),
    warn: (object, message) => log.warn({ ...fields, ...object }, message),
    error: (object, message) => log.error({ ...fields, ...object }, message),
  };
}
