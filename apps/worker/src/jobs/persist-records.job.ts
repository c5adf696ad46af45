import { createHash } from 'node:crypto';
import { defineJob } from '@hubstream/cluster';
import type { Prisma, PrismaClient } from '@hubstream/db';
import type { Redis } from 'ioredis';
import Type, { type Static } from 'typebox';
import { AppIdSchema } from './purge-app.job.ts';

// Records across nodes (ARCHITECTURE.md "State"): Redis holds the hot copy,
// Postgres the durable one. Realtime nodes change the hot copy only through
// a compare-and-set (apps/realtime's RedisRecordStore) and hand the names
// they wrote to this job in batches. The job reads what Redis holds when it
// runs, not what was written when it was queued, and the upsert only ever
// raises a version: replays, retries and batches run out of order are
// harmless.
//
// This module owns what both sides must agree on: the Redis layout, the
// advisory locks and the version-raising upsert.
//
// Redis layout, every key starting with the app id:
//   {prefix}hs:{appId}:rec:{name}     hash  v  version (-1: known not to exist)
//                                           d  data as JSON (absent when v is -1)
//                                           p  highest version known to be in Postgres
//                                           g  the record's generation: a token that changes
//                                              whenever the record starts anew in Redis (created
//                                              from absent, seeded or reloaded from Postgres),
//                                              so a late "persisted" mark from before a delete
//                                              cannot count for the record created after it
//   {prefix}hs:{appId}:rec-dirty      zset  names written but maybe not persisted,
//                                           scored by the time of the first such write (ms)
//   {prefix}hs:{appId}:rec-changes    channel: every change, published by the script that
//                                           makes it (format: apps/realtime records/record-changes.ts),
//                                           for the nodes' caches and their subscribers

export const PERSIST_RECORDS_JOB = 'persist-records';

/** Records per job; a node splits bigger batches. */
export const MAX_RECORDS_PER_BATCH = 500;

export const recordKeys = {
  record: (prefix: string, appId: string, name: string) => `${prefix}hs:${appId}:rec:${name}`,
  dirty: (prefix: string, appId: string) => `${prefix}hs:${appId}:rec-dirty`,
  changes: (prefix: string, appId: string) => `${prefix}hs:${appId}:rec-changes`,
};

// AppIdSchema: never a ':' (the key layout relies on it) nor a glob character.
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

/** A record as the upsert takes it, its data already serialised. */
export type RecordRow = RecordRef & { version: number; json: string };

/**
 * A version now in Postgres, of the record's generation `generation` (its
 * `g` in Redis when that version was read or written; '' for records
 * stored before generations existed).
 */
export type PersistedVersion = RecordRef & { version: number; generation: string };

type Sql = PrismaClient | Prisma.TransactionClient;

export type RecordPersistence = { redis: Redis; prisma: PrismaClient; keyPrefix: string };

/** Long enough for a batch of MAX_RECORDS_PER_BATCH behind a busy pool. */
export const RECORD_TRANSACTION = { maxWait: 10_000, timeout: 30_000 };

// Deletes and reloads (exclusive) must not interleave with a batch or a
// durable write (shared) on the same record: a batch that read Redis before
// a delete would otherwise bring the record back into Postgres. One lock per
// app and bucket of names keeps the lock table small for big batches; every
// taker locks in ascending id order, so no two can deadlock.
const LOCK_BUCKETS = 64;

const digest = (text: string) => createHash('sha1').update(text).digest();

/** The advisory lock ids of these records, in the order every taker locks them. */
export function recordLockIds(records: readonly RecordRef[]): string[] {
  const ids = new Set<bigint>();
  for (const { appId, name } of records) {
    const bucket = digest(`${appId}\u0000${name}`).readUInt32BE(0) % LOCK_BUCKETS;
    ids.add(digest(`hubstream:records:${appId}:${bucket}`).readBigInt64BE(0));
  }
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
}

/**
 * What a statement adds to its WHERE clause so that its own transaction
 * commits without waiting for the WAL to reach the disk (synchronous_commit
 * off, for that transaction only: set_config's third argument). A record
 * write is then acknowledged once committed: a crash of the node loses
 * nothing acknowledged, a crash of Postgres itself the last moment of it
 * (RECORD_WRITE_DURABILITY in ENVS.md). The function is volatile, so
 * Postgres evaluates it for every row the statement considers; one that
 * considers none writes nothing that would need a flush.
 */
export const ASYNC_COMMIT_CONDITION = "set_config('synchronous_commit', 'off', true) IS NOT NULL";

/** How a record write's transaction commits: `asyncCommit` as ASYNC_COMMIT_CONDITION says. */
export type CommitOptions = { asyncCommit?: boolean };

/** Takes the records' advisory locks until the end of the transaction `tx`. */
export async function lockRecords(
  tx: Prisma.TransactionClient,
  records: readonly RecordRef[],
  mode: 'shared' | 'exclusive',
  { asyncCommit = false }: CommitOptions = {},
): Promise<void> {
  const ids = recordLockIds(records);
  if (ids.length === 0) return;
  // unnest yields the ids in array order, so the locks are taken in that order.
  const lock = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  const commit = asyncCommit ? `WHERE ${ASYNC_COMMIT_CONDITION}` : '';
  await tx.$executeRawUnsafe(
    `SELECT ${lock}(id::bigint) FROM unnest($1::text[]) AS id ${commit}`,
    ids,
  );
}

const byRecord = (a: RecordRef, b: RecordRef) =>
  a.appId === b.appId
    ? a.name < b.name
      ? -1
      : a.name > b.name
        ? 1
        : 0
    : a.appId < b.appId
      ? -1
      : 1;

/** The records once each, in the one order every writer uses (row locks never cross). */
export function uniqueRecords<T extends RecordRef>(records: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const record of records) seen.set(`${record.appId}\u0000${record.name}`, record);
  return [...seen.values()].sort(byRecord);
}

/**
 * The upsert of upsertRecords as SQL text and its parameters, for a caller
 * that runs it on the driver itself (apps/realtime's local record store).
 */
export function recordUpsert(
  rows: readonly RecordRow[],
  { asyncCommit = false }: CommitOptions = {},
): { text: string; values: unknown[] } {
  const sorted = [...rows].sort(byRecord);
  const text = `
    INSERT INTO records (app_id, name, version, data, updated_at)
    SELECT r.app_id, r.name, r.version, r.data::jsonb, now()
    FROM unnest($1::text[], $2::text[], $3::int[], $4::text[]) AS r(app_id, name, version, data)
    WHERE EXISTS (SELECT 1 FROM apps WHERE apps.id = r.app_id)${asyncCommit ? ` AND ${ASYNC_COMMIT_CONDITION}` : ''}
    ON CONFLICT (app_id, name) DO UPDATE
      SET version = EXCLUDED.version, data = EXCLUDED.data, updated_at = EXCLUDED.updated_at
      WHERE records.version < EXCLUDED.version`;
  return {
    text,
    values: [
      sorted.map((r) => r.appId),
      sorted.map((r) => r.name),
      sorted.map((r) => r.version),
      sorted.map((r) => r.json),
    ],
  };
}

/**
 * Upserts the rows unless Postgres already has their version or a newer one.
 * Rows of apps deleted meanwhile are skipped (no row would satisfy the
 * foreign key). The rows must be unique per record.
 */
export async function upsertRecords(
  sql: Sql,
  rows: readonly RecordRow[],
  options: CommitOptions = {},
): Promise<void> {
  if (rows.length === 0) return;
  const { text, values } = recordUpsert(rows, options);
  await sql.$executeRawUnsafe(text, ...values);
}

// KEYS[1] record hash, KEYS[2] the app's dirty set; ARGV[1] a version now
// in Postgres, ARGV[2] the record's name, ARGV[3] the generation that
// version belongs to. Raises p to ARGV[1] if the record is still of that
// generation and holds at least that version; once p reaches the stored
// version the record is clean. Returns 1 when clean.
//
// The mark is sent after the commit, outside the records' locks, so it can
// land after another node deleted the record and even created it again up
// to the same version. Raising p then would make the persistence batches
// skip the new record's writes: the generation check leaves it alone.
const MARK_PERSISTED = `
local stored = redis.call('HMGET', KEYS[1], 'v', 'p', 'g')
if not stored[1] then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
local version = tonumber(stored[1])
local persisted = tonumber(stored[2] or '-1')
local marked = tonumber(ARGV[1])
if (stored[3] or '') == ARGV[3] and marked <= version and marked > persisted then
  persisted = marked
  redis.call('HSET', KEYS[1], 'p', ARGV[1])
end
if persisted >= version then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
return 0
`;

type MarkCommand = {
  hsRecordPersisted(
    record: string,
    dirty: string,
    version: number,
    name: string,
    generation: string,
  ): Promise<number>;
};

function withMark(redis: Redis): Redis & MarkCommand {
  if (!('hsRecordPersisted' in redis)) {
    redis.defineCommand('hsRecordPersisted', { numberOfKeys: 2, lua: MARK_PERSISTED });
  }
  return redis as Redis & MarkCommand;
}

/** Tells Redis these versions are in Postgres (after the commit that put them there). */
export async function markPersisted(
  redis: Redis,
  keyPrefix: string,
  rows: readonly PersistedVersion[],
): Promise<void> {
  if (rows.length === 0) return;
  const pipeline = withMark(redis).pipeline() as ReturnType<Redis['pipeline']> & MarkCommand;
  for (const { appId, name, version, generation } of rows) {
    pipeline.hsRecordPersisted(
      recordKeys.record(keyPrefix, appId, name),
      recordKeys.dirty(keyPrefix, appId),
      version,
      name,
      generation,
    );
  }
  checkPipeline(await pipeline.exec());
}

function checkPipeline(results: [Error | null, unknown][] | null): unknown[] {
  if (results === null) throw new Error('The Redis pipeline was discarded.');
  return results.map(([error, result]) => {
    if (error) throw error;
    return result;
  });
}

/**
 * Writes what Redis holds now for these records to Postgres, under the
 * records' shared locks. Records Redis does not have, knows to be absent,
 * or knows to be persisted already are skipped.
 */
export async function persistRecords(
  { redis, prisma, keyPrefix }: RecordPersistence,
  records: readonly RecordRef[],
): Promise<{ written: number; skipped: number }> {
  const refs = uniqueRecords(records);
  if (refs.length === 0) return { written: 0, skipped: 0 };
  const rows = await prisma.$transaction(async (tx) => {
    await lockRecords(tx, refs, 'shared');
    // Read under the locks: a delete or reload of these records waits for
    // this transaction, or this one waits for it and reads its outcome.
    const pipeline = redis.pipeline();
    for (const { appId, name } of refs) {
      pipeline.hmget(recordKeys.record(keyPrefix, appId, name), 'v', 'd', 'p', 'g');
    }
    const stored = checkPipeline(await pipeline.exec()) as (string | null)[][];
    const dirty: (RecordRow & PersistedVersion)[] = [];
    refs.forEach((ref, i) => {
      const [v, d, p, g] = stored[i] ?? [];
      if (v == null || d == null) return;
      const version = Number(v);
      if (version < 0 || version <= Number(p ?? -1)) return;
      dirty.push({ ...ref, version, json: d, generation: g ?? '' });
    });
    await upsertRecords(tx, dirty);
    return dirty;
  }, RECORD_TRANSACTION);
  await markPersisted(redis, keyPrefix, rows);
  return { written: rows.length, skipped: refs.length - rows.length };
}

/**
 * Persists a batch of records a realtime node wrote. Idempotent. Defined in
 * every process (enqueueing validates against it); only one that runs it
 * needs Redis and the database.
 */
export function persistRecordsJob(options: {
  redis: Redis | undefined;
  prisma: PrismaClient | undefined;
  keyPrefix: string;
}) {
  const { redis, prisma, keyPrefix } = options;
  return defineJob({
    name: PERSIST_RECORDS_JOB,
    payload: PersistRecordsPayload,
    attempts: 10,
    backoffMs: 1_000,
    async handle(payload) {
      if (!redis || !prisma) {
        throw new Error(
          `${PERSIST_RECORDS_JOB} needs Redis and the database, which this process lacks.`,
        );
      }
      await persistRecords({ redis, prisma, keyPrefix }, payload.records);
    },
  });
}
