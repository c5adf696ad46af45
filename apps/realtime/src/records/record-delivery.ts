import { type Message, RECORD_ACTION, TOPIC } from '@hubstream/protocol';
import type { RecordChange } from './record-store.ts';
import type { RecordScope } from './record-writes.ts';
import { fanOut, jsonOf } from './replies.ts';

// Changes other nodes made to this app's records, told to this node's
// subscribers as the writer's node told its own (PROTOCOL.md 4.5): UPDATE,
// PATCH (an erase is a PATCH without data) or DELETED.
//
// The store hands changes over in the order it accepted them, and each runs
// alone on its record, after the writes and subscriptions queued before it.
// `scope.told` keeps, per record with subscribers here, the version they
// were last told; a change they already know is dropped, so each version
// reaches them once. When one was missed (a lost message, the store deaf
// for a while), a delta cannot be applied: they get the whole record as it
// is now instead, read from the store, so every node converges on it.

/** What remote changes need from the record handler beyond the write path's scope. */
export interface RemoteScope extends RecordScope {
  /** Tells every subscriber (DELETED) and unsubscribes them all. */
  dropAll(name: string, notice: Message): void;
}

export function deleted(name: string): Message {
  return { topic: TOPIC.RECORD, action: RECORD_ACTION.DELETED, name };
}

export function wholeUpdate(name: string, version: number, json: string): Message {
  return { topic: TOPIC.RECORD, action: RECORD_ACTION.UPDATE, name, version, data: json };
}

export class RemoteChanges {
  readonly #scope: RemoteScope;

  constructor(scope: RemoteScope) {
    this.#scope = scope;
  }

  heard(change: RecordChange): void {
    const scope = this.#scope;
    if (change.kind === 'missed') {
      for (const name of [...scope.subscriptions.names()])
        this.#run(name, () => this.#catchUp(name));
      return;
    }
    // Records no one here subscribes to cost nothing.
    if (!scope.subscriptions.subscribers(change.name)) return;
    this.#run(change.name, () => this.#apply(change));
  }

  #run(name: string, task: () => void | Promise<void>) {
    const scope = this.#scope;
    try {
      const done = scope.locks.run(name, task);
      if (done instanceof Promise) done.catch((error: unknown) => this.#failed(name, error));
    } catch (error) {
      this.#failed(name, error);
    }
  }

  #failed(name: string, error: unknown) {
    const { app } = this.#scope;
    app.log.error({ err: error, app: app.appId, record: name }, 'a remote record change failed');
  }

  #apply(change: Exclude<RecordChange, { kind: 'missed' }>): void | Promise<void> {
    const scope = this.#scope;
    const { name } = change;
    const subscribers = scope.subscriptions.subscribers(name);
    if (!subscribers) return;
    switch (change.kind) {
      case 'deleted':
        scope.dropAll(name, deleted(name));
        return;
      case 'reloaded':
        // Versions may repeat after a reload: always news.
        fanOut(subscribers, wholeUpdate(name, change.version, change.json));
        scope.told.set(name, change.version);
        return;
      case 'update':
      case 'patch':
      case 'erase': {
        const told = scope.told.get(name) ?? -1;
        if (change.version <= told) return;
        if (change.kind === 'update') {
          fanOut(subscribers, wholeUpdate(name, change.version, change.json));
        } else if (change.version === told + 1) {
          fanOut(subscribers, {
            topic: TOPIC.RECORD,
            action: RECORD_ACTION.PATCH,
            name,
            version: change.version,
            path: change.path,
            ...(change.kind === 'patch' ? { data: change.json } : {}),
          });
        } else {
          return this.#catchUp(name);
        }
        scope.told.set(name, change.version);
        return;
      }
      default: {
        const unknown: never = change;
        throw new Error(`Unknown record change ${JSON.stringify(unknown)}`);
      }
    }
  }

  /** Tells the subscribers the record as the store has it now, if that is news to them. */
  async #catchUp(name: string): Promise<void> {
    const scope = this.#scope;
    const { app } = scope;
    if (!scope.subscriptions.subscribers(name)) return;
    const record = await app.node.records.get(app.appId, name);
    const subscribers = scope.subscriptions.subscribers(name);
    if (!subscribers) return;
    const told = scope.told.get(name) ?? -1;
    if (record === null) {
      if (told >= 0) scope.dropAll(name, deleted(name));
      return;
    }
    if (record.version === told) return;
    fanOut(subscribers, wholeUpdate(name, record.version, jsonOf(record)));
    scope.told.set(name, record.version);
  }
}
