import { type Message, PRESENCE_ACTION, TOPIC } from '@hubstream/protocol';
import type { AppRuntime } from '../core/app-runtime.ts';
import type { Connection } from '../core/connection.ts';
import type { TopicHandler } from '../core/types.ts';

/** Presence (PROTOCOL.md 6). Filled in by the presence work. */
export class PresenceHandler implements TopicHandler {
  readonly #app: AppRuntime;

  constructor(app: AppRuntime) {
    this.#app = app;
  }

  /** A connection logged in: its user may have come online. */
  userJoined(_connection: Connection): void {
    void this.#app;
  }

  handle(connection: Connection, message: Message): void {
    connection.send({
      topic: TOPIC.PRESENCE,
      action: PRESENCE_ACTION.INVALID_PRESENCE_USERS,
      originalAction: message.action,
      isError: true,
    });
  }

  connectionClosed(_connection: Connection): void {}
}
