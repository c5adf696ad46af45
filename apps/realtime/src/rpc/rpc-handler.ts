import { type Message, RPC_ACTION, TOPIC } from '@hubstream/protocol';
import type { AppRuntime } from '../core/app-runtime.ts';
import type { Connection } from '../core/connection.ts';
import type { TopicHandler } from '../core/types.ts';

/** RPC (PROTOCOL.md 5). Filled in by the RPC work. */
export class RpcHandler implements TopicHandler {
  readonly #app: AppRuntime;

  constructor(app: AppRuntime) {
    this.#app = app;
  }

  handle(connection: Connection, message: Message): void {
    connection.send({
      topic: TOPIC.RPC,
      action: RPC_ACTION.INVALID_MESSAGE_DATA,
      originalAction: message.action,
      isError: true,
    });
  }

  connectionClosed(_connection: Connection): void {
    void this.#app;
  }
}
