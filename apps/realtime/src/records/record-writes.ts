import { type Message, RECORD_ACTION, type RecordWrite, TOPIC } from '@hubstream/protocol';
import {
  andThen,
  jsonOf,
  type KeyedQueue,
  knownJson,
  type MaybePromise,
  type RecordDelta,
  type StoredRecord,
} from '@hubstream/records';
import type { AppScope } from '../core/app-scope.ts';
import type { Connection } from '../core/connection.ts';
import type { PermissionQuestion } from '../core/connection-host.ts';
import type { SubscriptionRegistry } from '../core/subscriptions.ts';
import { authorize } from '../permissions/authorize.ts';
import {
  formatPath,
  hasNulCharacter,
  PathError,
  type PathToken,
  parsePath,
  setPath,
} from './json-path.ts';
import type { RecordDelivery } from './record-delivery.ts';
import { errorReply, sendInvalid } from './replies.ts';

// Writes: UPDATE, PATCH, ERASE and the record-less CREATEANDUPDATE /
// CREATEANDPATCH of setData (PROTOCOL.md 4.4-4.6). Each runs alone on its
// record, from reading the current version through the permission check,
// the compare-and-set and the broadcast, so subscribers see versions in
// order and the rules judge the data the write really replaces.

/** What the record handler shares with the write path. */
export interface RecordScope {
  readonly app: AppScope;
  readonly locks: KeyedQueue;
  readonly subscriptions: SubscriptionRegistry<Connection>;
  /** Tells subscribers here of every version once and in order, whichever node wrote it. */
  readonly delivery: RecordDelivery;
  current(name: string): MaybePromise<StoredRecord | null>;
}

type Write = {
  name: string;
  /** The version the client asks for; -1 means "whatever comes next". */
  version: number;
  /** setData: the record is created first when missing. */
  create: boolean;
  /** null writes the whole record. */
  tokens: PathToken[] | null;
  /** The new data, or the value at the path; undefined erases. */
  value: unknown;
};

/** What setData writes on: the record as its implicit create leaves it. */
const CREATED: StoredRecord = Object.freeze({ version: 0, data: Object.freeze({}) });

/** A conflicting write from another node is retried this often before VERSION_EXISTS. */
const MAX_CONFLICT_RETRIES = 3;

const isContainer = (value: unknown) => typeof value === 'object' && value !== null;

/** Data that is not JSON (or holds a NUL character, which Postgres' jsonb refuses). */
const NOT_JSON = Symbol('not JSON');

function parseData(data: string): unknown {
  if (hasNulCharacter(data)) return NOT_JSON;
  try {
    return JSON.parse(data);
  } catch {
    return NOT_JSON;
  }
}

/**
 * The write a message asks for, or null when its path or data cannot be used.
 * Its fields (name, a version of at least -1, a path where the action takes
 * one, data but for ERASE) were checked by the codec (ClientMessage).
 */
function parseWrite(message: RecordWrite): Write | null {
  const { action, name, version } = message;
  const create =
    action === RECORD_ACTION.CREATEANDUPDATE || action === RECORD_ACTION.CREATEANDPATCH;
  if (message.action === RECORD_ACTION.UPDATE || message.action === RECORD_ACTION.CREATEANDUPDATE) {
    // The whole record: an object or an array.
    const value = parseData(message.data);
    return value === NOT_JSON || !isContainer(value)
      ? null
      : { name, version, create, tokens: null, value };
  }
  const tokens: PathToken[] | null = parsePath(message.path);
  if (tokens === null) return null;
  if (message.action === RECORD_ACTION.ERASE) {
    return { name, version, create, tokens, value: undefined };
  }
  const value = parseData(message.data);
  return value === NOT_JSON ? null : { name, version, create, tokens, value };
}

export class RecordWrites {
  readonly #scope: RecordScope;

  constructor(scope: RecordScope) {
    this.#scope = scope;
  }

  handle(connection: Connection, message: RecordWrite): MaybePromise<void> {
    const write = parseWrite(message);
    if (write === null) return sendInvalid(connection, message);
    const scope = this.#scope;
    const failed = (error: unknown) => this.#failed(connection, message, error);
    try {
      const done = scope.locks.run(write.name, () =>
        andThen(scope.current(write.name), (record) =>
          this.#attempt(connection, message, write, record, 0),
        ),
      );
      return done instanceof Promise ? done.catch(failed) : done;
    } catch (error) {
      failed(error);
    }
  }

  #attempt(
    connection: Connection,
    message: Message,
    write: Write,
    current: StoredRecord | null,
    retries: number,
  ): MaybePromise<void> {
    const question: PermissionQuestion = {
      action: message.action,
      name: write.name,
      data: write.value,
      // setData checks create, then write against the record the create
      // leaves behind, so `oldData.x` works on a record that did not exist.
      oldData: current !== null ? current.data : write.create ? CREATED.data : null,
      path: write.tokens === null ? undefined : formatPath(write.tokens),
    };
    return andThen(authorize(connection, message, question), (allowed) => {
      if (allowed) return this.#apply(connection, message, write, current, retries);
    });
  }

  #apply(
    connection: Connection,
    message: Message,
    write: Write,
    current: StoredRecord | null,
    retries: number,
  ): MaybePromise<void> {
    const base = current ?? (write.create ? CREATED : null);
    if (base === null) {
      connection.send(errorReply(message, RECORD_ACTION.RECORD_NOT_FOUND));
      return;
    }
    const version = base.version + 1;
    if (write.version !== -1 && write.version !== version) {
      connection.send(
        write.version <= base.version
          ? versionExists(message, base)
          : errorReply(message, RECORD_ACTION.INVALID_VERSION, { version: base.version }),
      );
      return;
    }
    let data: unknown;
    try {
      data = write.tokens === null ? write.value : setPath(base.data, write.tokens, write.value);
    } catch (error) {
      if (!(error instanceof PathError)) throw error;
      sendInvalid(connection, message);
      return;
    }
    const next: StoredRecord =
      write.tokens === null ? knownJson({ version, data }, message.data!) : { version, data };
    const { app } = this.#scope;
    const expected = current === null ? -1 : current.version;
    const durable = message.isWriteAck === true;
    return app.node.records
      .set(app.appId, write.name, expected, next, { durable, delta: deltaOf(message, write) })
      .then((result) => {
        if (result.ok) return this.#written(connection, message, write, next);
        if (retries < MAX_CONFLICT_RETRIES) {
          return this.#attempt(connection, message, write, result.current, retries + 1);
        }
        connection.send(versionExists(message, result.current ?? CREATED));
      });
  }

  /** Tells every other subscriber, then the writer if it asked. */
  #written(connection: Connection, message: Message, write: Write, record: StoredRecord) {
    const { name } = write;
    const { version } = record;
    let update: Message;
    if (write.tokens === null) {
      update = {
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.UPDATE,
        name,
        version,
        data: message.data!,
      };
    } else {
      // An erase travels as a PATCH without data (PROTOCOL.md 4.5).
      update = {
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.PATCH,
        name,
        version,
        path: message.path!,
      };
      if (write.value !== undefined) update.data = message.data!;
    }
    this.#scope.delivery.wrote(name, version, update, connection);
    if (message.isWriteAck) {
      connection.send({
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.WRITE_ACKNOWLEDGEMENT,
        name,
        ...(message.correlationId === undefined ? {} : { correlationId: message.correlationId }),
        isWriteAck: true,
      });
    }
  }

  #failed(connection: Connection, message: Message, error: unknown) {
    this.#scope.app.log.error(
      { err: error, app: this.#scope.app.appId, record: message.name },
      'record write failed',
    );
    connection.send(errorReply(message, RECORD_ACTION.RECORD_UPDATE_ERROR));
  }
}

/** How other nodes tell their subscribers of the write (as #written tells this node's). */
function deltaOf(message: Message, write: Write): RecordDelta {
  if (write.tokens === null) return { kind: 'update' };
  if (write.value === undefined) return { kind: 'erase', path: message.path! };
  return { kind: 'patch', path: message.path!, json: message.data! };
}

/** The conflict reply: the version and data the server has (PROTOCOL.md 4.5). */
function versionExists(message: Message, current: StoredRecord): Message {
  const reply: Message = {
    topic: TOPIC.RECORD,
    action: RECORD_ACTION.VERSION_EXISTS,
    originalAction: message.action,
    name: message.name!,
    version: current.version,
    data: jsonOf(current),
  };
  if (message.correlationId !== undefined) reply.correlationId = message.correlationId;
  if (message.isWriteAck) reply.isWriteAck = true;
  return reply;
}
