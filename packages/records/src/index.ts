// Records: where they live and how they reach Postgres. The RecordStore
// interface with its two implementations (a node alone: memory and
// Postgres; a cluster: Redis and Postgres, changes heard from the other
// nodes), and the Postgres persistence the worker's persist-records job
// runs. The protocol side (the record handler) stays in apps/realtime.

export { andThen, KeyedQueue, type MaybePromise } from './keyed-queue.ts';
export { LocalRecordStore, type LocalRecordStoreOptions } from './local-record-store.ts';
export {
  markPersisted,
  type PersistedVersion,
  persistRecords,
  type RecordPersistence,
} from './persist-records.ts';
export { jsonOf, knownJson } from './record-json.ts';
export { recordKeys } from './record-keys.ts';
export { lockRecords, RECORD_TRANSACTION } from './record-locks.ts';
export {
  type CommitOptions,
  commitsAsynchronously,
  type RecordRef,
  type RecordRow,
  upsertRecords,
} from './record-sql.ts';
export type {
  PersistenceLag,
  RecordChange,
  RecordDelta,
  RecordStore,
  RecordsLogger,
  SetOptions,
  SetResult,
  StoredRecord,
} from './record-store.ts';
export { RedisRecordStore, type RedisRecordStoreOptions } from './redis-record-store.ts';
