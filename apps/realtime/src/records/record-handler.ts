import { type Message, RECORD_ACTION, TOPIC } from '@hubstream/protocol';
import type { ValveLoaders } from '@hubstream/valve';
import type { AppRuntime } from '../core/app-runtime.ts';
import type { Connection } from '../core/connection.ts';
import type { TopicHandler } from '../core/types.ts';

/** Records (PROTOCOL.md 4). Filled in by the records work. */
export class RecordHandler implements TopicHandler {
  readonly #app: AppRuntime;
  /** How rules load records for `_()` and oldData: this app's records only. */
  readonly ruleLoaders: ValveLoaders;

  constructor(app: AppRuntime) {
    this.#app = app;
    this.ruleLoaders = {
      loadRecord: async (name: string) => {
        const record = await this.#app.node.records.get(this.#app.appId, name);
        return record ? record.data : null;
      },
    };
  }

  handle(connection: Connection, message: Message): void {
    connection.send({
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.INVALID_MESSAGE_DATA,
      originalAction: message.action,
      isError: true,
    });
  }

  connectionClosed(_connection: Connection): void {}
}
