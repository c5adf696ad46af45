/** What the stores log: failures to persist, and lost subscriptions. */
export type RecordsLogger = {
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
};

/**
 * A record as stored: its version and its data (a JSON object or array).
 * Absent records are null, never version -1. Stored data is never mutated:
 * a write replaces it, so it can be read without copying.
 */
export type StoredRecord = { readonly version: number; readonly data: unknown };

/** The outcome of a compare-and-set: on a conflict, what is stored now. */
export type SetResult = { ok: true } | { ok: false; current: StoredRecord | null };

/**
 * What a write changed, in the protocol's terms, so that the other nodes can
 * tell their subscribers what the writer's node told its own (PROTOCOL.md
 * 4.5): the whole data, or one path set or erased.
 */
export type RecordDelta =
  | { kind: 'update' }
  | { kind: 'patch'; path: string; json: string }
  | { kind: 'erase'; path: string };

export type SetOptions = {
  /** Resolve only once the write is durable (a write the client wants acknowledged). */
  durable?: boolean;
  /** How the write is announced to other nodes; the whole data when unset. */
  delta?: RecordDelta;
};

/**
 * A change another node made to a record, as this node hears it, in the
 * order the store accepted the changes. `missed`: changes may have been lost
 * (the store could not listen for a while): read again what matters.
 */
export type RecordChange =
  | { kind: 'update'; appId: string; name: string; version: number; json: string }
  | { kind: 'patch'; appId: string; name: string; version: number; path: string; json: string }
  | { kind: 'erase'; appId: string; name: string; version: number; path: string }
  | { kind: 'deleted'; appId: string; name: string }
  | { kind: 'reloaded'; appId: string; name: string; version: number; json: string }
  | { kind: 'missed' };

/** How far behind Postgres is, for metrics. */
export type PersistenceLag = {
  /** Records of the apps this node wrote to that are not known to be in Postgres yet. */
  unpersistedRecords: number;
  /** Age of the oldest such write; 0 when there is none. */
  oldestUnpersistedMs: number;
  /** Records this node has not handed to the job queue yet. */
  awaitingBatch: number;
};

/**
 * Where records live. The app id is the first argument of every method and
 * part of every key: apps never see each other's records.
 *
 * The local implementation keeps a hot copy in memory and the durable copy
 * in Postgres; the Redis one (cluster issue) keeps the hot copy in Redis
 * behind the same compare-and-set.
 */
export interface RecordStore {
  /** The record, or null when it does not exist. */
  get(appId: string, name: string): Promise<StoredRecord | null>;
  /**
   * The record if this node has it at hand (null: known not to exist), else
   * undefined. Lets permission checks stay synchronous on hot records.
   */
  peek(appId: string, name: string): StoredRecord | null | undefined;
  /**
   * Stores `next` if the stored version is still `expectedVersion` (-1: the
   * record must not exist). Rejects when a durable write could not be
   * persisted; nothing changes then.
   */
  set(
    appId: string,
    name: string,
    expectedVersion: number,
    next: StoredRecord,
    options?: SetOptions,
  ): Promise<SetResult>;
  /** Removes the record durably. Removing a missing record is not an error. */
  delete(appId: string, name: string): Promise<void>;
  /**
   * Forgets what this node holds and reads the durable copy again (the
   * database was changed behind the node's back: NOTIFY).
   */
  reload(appId: string, name: string): Promise<StoredRecord | null>;
  /** The node has subscribers to the record: keep it at hand until released. */
  hold(appId: string, name: string): void;
  release(appId: string, name: string): void;
  /**
   * Calls `listener` with every change other nodes make (nothing when this
   * node is the whole cluster). Returns the function that stops it.
   */
  watch(listener: (change: RecordChange) => void): () => void;
  /** How far behind Postgres is (a metric). */
  persistenceLag(): Promise<PersistenceLag>;
  /** Writes everything still pending, then stops. */
  close(): Promise<void>;
}
