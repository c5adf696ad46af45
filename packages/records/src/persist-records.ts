import type { PrismaClient } from '@hubstream/db';
import type { Redis } from 'ioredis';
import { recordKeys } from './record-keys.ts';
import { lockRecords, RECORD_TRANSACTION } from './record-locks.ts';
import { type RecordRef, type RecordRow, uniqueRecords, upsertRecords } from './record-sql.ts';
import { type RecordScripts, withRecordCommands } from './redis-record-scripts.ts';

// What the worker's persist-records job runs (and a realtime node at close,
// for the batches it has not handed over yet): the names a node wrote to
// Redis, copied to Postgres. It reads what Redis holds when it runs, not
// what was written when it was queued, and the upsert only ever raises a
// version: replays, retries and batches run out of order are harmless.

/**
 * A version now in Postgres, of the record's generation `generation` (its
 * `g` in Redis when that version was read or written; '' for records
 * stored before generations existed).
 */
export type PersistedVersion = RecordRef & { version: number; generation: string };

export type RecordPersistence = { redis: Redis; prisma: PrismaClient; keyPrefix: string };

function checkPipeline(results: [Error | null, unknown][] | null): unknown[] {
  if (results === null) throw new Error('The Redis pipeline was discarded.');
  return results.map(([error, result]) => {
    if (error) throw error;
    return result;
  });
}

/** Tells Redis these versions are in Postgres (after the commit that put them there). */
export async function markPersisted(
  redis: Redis,
  keyPrefix: string,
  rows: readonly PersistedVersion[],
): Promise<void> {
  if (rows.length === 0) return;
  const pipeline = withRecordCommands(redis).pipeline() as ReturnType<Redis['pipeline']> &
    RecordScripts;
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
