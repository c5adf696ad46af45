import { createHash } from 'node:crypto';
import type { Prisma } from '@hubstream/db';
import { ASYNC_COMMIT_CONDITION, type CommitOptions, type RecordRef } from './record-sql.ts';

// Deletes and reloads (exclusive) must not interleave with a batch or a
// durable write (shared) on the same record: a batch that read Redis before
// a delete would otherwise bring the record back into Postgres. One lock per
// app and bucket of names keeps the lock table small for big batches; every
// taker locks in ascending id order, so no two can deadlock.

const LOCK_BUCKETS = 64;

/** Long enough for a batch of MAX_RECORDS_PER_BATCH behind a busy pool. */
export const RECORD_TRANSACTION = { maxWait: 10_000, timeout: 30_000 };

export type LockMode = 'shared' | 'exclusive';

const digest = (text: string) => createHash('sha1').update(text).digest();

const lockFunction = (mode: LockMode) =>
  mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';

/** The advisory lock ids of these records, in the order every taker locks them. */
export function recordLockIds(records: readonly RecordRef[]): string[] {
  const ids = new Set<bigint>();
  for (const { appId, name } of records) {
    const bucket = digest(`${appId}\u0000${name}`).readUInt32BE(0) % LOCK_BUCKETS;
    ids.add(digest(`hubstream:records:${appId}:${bucket}`).readBigInt64BE(0));
  }
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
}

/** Takes the records' advisory locks until the end of the transaction `tx`. */
export async function lockRecords(
  tx: Prisma.TransactionClient,
  records: readonly RecordRef[],
  mode: LockMode,
  { asyncCommit = false }: CommitOptions = {},
): Promise<void> {
  const ids = recordLockIds(records);
  if (ids.length === 0) return;
  // unnest yields the ids in array order, so the locks are taken in that order.
  const commit = asyncCommit ? `WHERE ${ASYNC_COMMIT_CONDITION}` : '';
  await tx.$executeRawUnsafe(
    `SELECT ${lockFunction(mode)}(id::bigint) FROM unnest($1::text[]) AS id ${commit}`,
    ids,
  );
}

/**
 * What a record write's transaction sends with its BEGIN (SqlSession's
 * `begin`, one round trip): its commit mode and the record's advisory lock.
 * The lock id is a number computed here, never input, so it can be inlined.
 */
export function lockingBegin(
  record: RecordRef,
  mode: LockMode,
  { asyncCommit = false }: CommitOptions = {},
): string {
  const [id] = recordLockIds([record]);
  if (id === undefined || !/^-?\d+$/.test(id)) throw new Error(`Bad lock id ${String(id)}`);
  const commit = asyncCommit ? 'SET LOCAL synchronous_commit TO off; ' : '';
  return `${commit}SELECT ${lockFunction(mode)}(${id})`;
}
