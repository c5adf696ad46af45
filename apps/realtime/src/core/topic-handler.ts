import type { Message } from '@hubstream/protocol';
import type { Connection } from './connection.ts';

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
