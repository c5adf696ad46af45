import Type, { type Static } from 'typebox';
import { AppIdSchema } from './app-id.ts';
import { defineContract } from './contract.ts';

export const PERSIST_RECORDS_JOB = 'persist-records';

/** Records per job; a node splits bigger batches. */
export const MAX_RECORDS_PER_BATCH = 500;

// AppIdSchema: never a ':' (the Redis key layout relies on it) nor a glob character.
export const RecordRef = Type.Object(
  { appId: AppIdSchema, name: Type.String({ minLength: 1 }) },
  { additionalProperties: false },
);
export type RecordRef = Static<typeof RecordRef>;

export const PersistRecordsPayload = Type.Object(
  { records: Type.Array(RecordRef, { minItems: 1, maxItems: MAX_RECORDS_PER_BATCH }) },
  { additionalProperties: false },
);
export type PersistRecords = Static<typeof PersistRecordsPayload>;

/**
 * A batch of record names a realtime node wrote to Redis; the job copies
 * what Redis holds when it runs into Postgres. Enqueued by realtime nodes.
 */
export const persistRecordsContract = defineContract({
  name: PERSIST_RECORDS_JOB,
  payload: PersistRecordsPayload,
  attempts: 10,
  backoffMs: 1_000,
});
