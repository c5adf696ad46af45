import { type Message, RECORD_ACTION, TOPIC } from '@hubstream/protocol';
import { jsonOf, type KeyedQueue, type RecordChange, type StoredRecord } from '@hubstream/records';
import type { AppScope } from '../core/app-scope.ts';
import type { Connection } from '../core/connection.ts';
import type { SubscriptionRegistry } from '../core/subscriptions.ts';
import { fanOut } from './replies.ts';

// What this node's subscribers of a record are told, whichever node wrote:
// every version once, in order, as the writer's node told its own
// (PROTOCOL.md 4.5): UPDATE, PATCH (an erase is a PATCH without data) or
// DELETED, never to the writer.
//
// Everything here runs in the record's queue (`scope.locks`), after the
// writes and subscriptions queued before it. The store hands other nodes'
// changes over in the order it accepted them. Per record with subscribers
// here, `told` is the version they were last told:
// - a change they know already is dropped;
// - a local write whose version does not follow `told` (versions accepted
//   on other nodes are still on their way) is held until they have been
//   told, so deltas always apply on what the subscriber has;
// - when the next version cannot come (a message lost, the store deaf for a
//   while, a hold that lasts too long), they get the whole record as the
//   store has it now, and every node converges on it.

/** How long a local write waits for earlier versions from other nodes before the whole record goes out. */
const HOLD_LIMIT_MS = 1_000;

/** What delivery needs from the record handler. */
export interface DeliveryScope {
  readonly app: AppScope;
  readonly locks: KeyedQueue;
  readonly subscriptions: SubscriptionRegistry<Connection>;
  /** Tells every subscriber (DELETED) and unsubscribes them all. */
  dropAll(name: string, notice: Message): void;
}

type Held = { message: Message; except: Connection };
type Remote = Exclude<RecordChange, { kind: 'missed' }>;

export function deleted(name: string): Message {
  return { topic: TOPIC.RECORD, action: RECORD_ACTION.DELETED, name };
}

export function wholeUpdate(name: string, version: number, json: string): Message {
  return { topic: TOPIC.RECORD, action: RECORD_ACTION.UPDATE, name, version, data: json };
}

export class RecordDelivery {
  readonly #scope: DeliveryScope;
  /** Per record with subscribers here: the version they were last told (-1: absent). */
  readonly #told = new Map<string, number>();
  /** Local writes waiting for earlier versions, by record and version. */
  readonly #held = new Map<string, Map<number, Held>>();
  readonly #timers = new Map<string, NodeJS.Timeout>();

  constructor(scope: DeliveryScope) {
    this.#scope = scope;
  }

  /** The version the record's subscribers here were last told, if it has any. */
  told(name: string): number | undefined {
    return this.#told.get(name);
  }

  /**
   * A subscription read the record: the first subscriber sets what they
   * know; a read newer than what the others were told is news to them too.
   */
  read(name: string, record: StoredRecord | null, reader: Connection): void {
    const told = this.#told.get(name);
    if (told === undefined) this.#told.set(name, record === null ? -1 : record.version);
    else if (record !== null && record.version > told) {
      this.#whole(name, record.version, jsonOf(record), reader);
    }
  }

  /** This node accepted a write of `version`: `update` tells it, to all but the writer. */
  wrote(name: string, version: number, update: Message, writer: Connection): void {
    const subscribers = this.#scope.subscriptions.subscribers(name);
    const told = this.#told.get(name);
    if (told === undefined || told < 0 || version === told + 1) {
      fanOut(subscribers, update, writer);
      if (told !== undefined) this.#advance(name, version);
      return;
    }
    if (version <= told) return;
    let held = this.#held.get(name);
    if (!held) {
      held = new Map();
      this.#held.set(name, held);
    }
    held.set(version, { message: update, except: writer });
    if (!this.#timers.has(name)) {
      const timer = setTimeout(() => {
        this.#timers.delete(name);
        this.#run(name, () => this.#catchUp(name));
      }, HOLD_LIMIT_MS);
      timer.unref();
      this.#timers.set(name, timer);
    }
  }

  /** The record was read again from Postgres and its subscribers told (NOTIFY). */
  reloaded(name: string, version: number): void {
    if (!this.#told.has(name)) return;
    // Versions may repeat after a reload: nothing held still applies.
    this.#drop(name);
    this.#told.set(name, version);
  }

  /** No subscribers left here. */
  forget(name: string): void {
    this.#told.delete(name);
    this.#drop(name);
  }

  /** Another node changed one of the app's records, or changes were missed. */
  heard(change: RecordChange): void {
    const { subscriptions } = this.#scope;
    if (change.kind === 'missed') {
      for (const name of [...subscriptions.names()]) this.#run(name, () => this.#catchUp(name));
      return;
    }
    // Records no one here subscribes to cost nothing.
    if (!subscriptions.subscribers(change.name)) return;
    this.#run(change.name, () => this.#apply(change));
  }

  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #run(name: string, task: () => void | Promise<void>) {
    const { app, locks } = this.#scope;
    const failed = (error: unknown) =>
      app.log.error({ err: error, app: app.appId, record: name }, 'record delivery failed');
    try {
      const done = locks.run(name, task);
      if (done instanceof Promise) done.catch(failed);
    } catch (error) {
      failed(error);
    }
  }

  #apply(change: Remote): void | Promise<void> {
    const { name } = change;
    const subscribers = this.#scope.subscriptions.subscribers(name);
    if (!subscribers) return;
    switch (change.kind) {
      case 'deleted':
        this.#scope.dropAll(name, deleted(name));
        return;
      case 'reloaded':
        fanOut(subscribers, wholeUpdate(name, change.version, change.json));
        this.reloaded(name, change.version);
        return;
      case 'update':
      case 'patch':
      case 'erase': {
        const told = this.#told.get(name) ?? -1;
        if (change.version <= told) return;
        if (change.kind === 'update') {
          // Whole data applies whatever came before.
          this.#whole(name, change.version, change.json);
        } else if (change.version === told + 1) {
          fanOut(subscribers, {
            topic: TOPIC.RECORD,
            action: RECORD_ACTION.PATCH,
            name,
            version: change.version,
            path: change.path,
            ...(change.kind === 'patch' ? { data: change.json } : {}),
          });
          this.#advance(name, change.version);
        } else {
          return this.#catchUp(name);
        }
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
    const { app, subscriptions } = this.#scope;
    if (!subscriptions.subscribers(name)) return;
    const record = await app.node.records.get(app.appId, name);
    if (!subscriptions.subscribers(name)) return;
    const told = this.#told.get(name) ?? -1;
    if (record === null) {
      if (told >= 0) this.#scope.dropAll(name, deleted(name));
      return;
    }
    if (record.version === told) {
      this.#drop(name);
      return;
    }
    this.#whole(name, record.version, jsonOf(record));
  }

  /** Tells the whole record; what was held up to its version is superseded. */
  #whole(name: string, version: number, json: string, except?: Connection) {
    const told = this.#told.get(name) ?? -1;
    fanOut(this.#scope.subscriptions.subscribers(name), wholeUpdate(name, version, json), except);
    // Lower than told: the store lost versions (Redis restarted); nothing held applies.
    if (version < told) this.#drop(name);
    this.#advance(name, version);
  }

  /** The subscribers now know `version`: held writes that follow it go out, in order. */
  #advance(name: string, version: number) {
    let told = version;
    const held = this.#held.get(name);
    if (held) {
      const subscribers = this.#scope.subscriptions.subscribers(name);
      for (let next = held.get(told + 1); next; next = held.get(told + 1)) {
        held.delete(told + 1);
        fanOut(subscribers, next.message, next.except);
        told++;
      }
      for (const v of held.keys()) if (v <= told) held.delete(v);
      if (held.size === 0) this.#drop(name);
    }
    this.#told.set(name, told);
  }

  #drop(name: string) {
    this.#held.delete(name);
    const timer = this.#timers.get(name);
    if (timer) clearTimeout(timer);
    this.#timers.delete(name);
  }
}
