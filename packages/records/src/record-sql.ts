import type { Prisma, PrismaClient, SqlSession } from '@hubstream/db';

// The records table's statements, for both stores and the persist-records
// job: the one "higher version wins" upsert, in the shapes its callers run
// it, and how a record write's transaction commits.
//
// The upsert only ever raises a record's version, so a late, repeated or
// out-of-order write (a flush after a newer durable write, a replayed job)
// can never undo a newer one.

/** A record, by app and name. App ids never contain ':' or '/' (the key layouts rely on it). */
export type RecordRef = { appId: string; name: string };

/** A record as the upsert takes it, its data already serialised. */
export type RecordRow = RecordRef & { version: number; json: string };

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

/**
 * Whether record writes commit without waiting for the WAL flush, from
 * RECORD_WRITE_DURABILITY and the kind of database. Never on the embedded
 * PGlite: it runs as a single Postgres backend with no WAL writer beside it,
 * so an asynchronous commit would stay in this process' memory until some
 * later commit wrote it out, and a crash of the node would lose it.
 */
export function commitsAsynchronously(
  durability: 'commit' | 'fsync',
  databaseKind: 'postgres' | 'pglite' | 'pglite-memory',
): boolean {
  return durability === 'commit' && databaseKind === 'postgres';
}

/**
 * The name a write's statement is prepared under (Database.sql): its text
 * differs with the commit mode, and one name must always mean one text.
 */
export function preparedName(statement: string, { asyncCommit = false }: CommitOptions): string {
  return asyncCommit ? `${statement}_async` : statement;
}

/** The upsert's shape. */
export type UpsertShape = {
  /** One row as $1..$4 (app id, name, version, data JSON), or arrays of them (unnest). */
  rows: 'one' | 'many';
  /**
   * Skip rows of apps deleted meanwhile with an EXISTS on apps (`exists`),
   * or leave that to the foreign key, whose violation the caller ignores
   * (`foreign-key`: on PGlite the subquery is a tenth of a durable write's
   * time).
   */
  deletedApps: 'exists' | 'foreign-key';
} & CommitOptions;

/**
 * The upsert: inserts the rows, or raises a stored record to a row's
 * version and data when the row's version is higher. Every record write of
 * every store and of the job runs this statement, in one of its shapes.
 */
export function upsertSql({ rows, deletedApps, asyncCommit = false }: UpsertShape): string {
  const many = rows === 'many';
  const source = many
    ? `SELECT r.app_id, r.name, r.version, r.data::jsonb, now()
    FROM unnest($1::text[], $2::text[], $3::int[], $4::text[]) AS r(app_id, name, version, data)`
    : 'SELECT $1::text, $2::text, $3::int, $4::jsonb, now()';
  const conditions: string[] = [];
  if (deletedApps === 'exists') {
    conditions.push(
      `EXISTS (SELECT 1 FROM apps WHERE apps.id = ${many ? 'r.app_id' : '$1::text'})`,
    );
  }
  if (asyncCommit) conditions.push(ASYNC_COMMIT_CONDITION);
  const where = conditions.length === 0 ? '' : `\n    WHERE ${conditions.join(' AND ')}`;
  return `
    INSERT INTO records (app_id, name, version, data, updated_at)
    ${source}${where}
    ON CONFLICT (app_id, name) DO UPDATE
      SET version = EXCLUDED.version, data = EXCLUDED.data, updated_at = EXCLUDED.updated_at
      WHERE records.version < EXCLUDED.version`;
}

/**
 * A string as an SQL literal, for the statements a transaction sends with
 * its BEGIN, where there are no parameters. The E'' form escapes the same
 * whatever standard_conforming_strings says. A NUL character is refused:
 * Postgres text cannot hold one (a parameter with one fails too), and a
 * query's text ends at it on the wire.
 */
export function sqlLiteral(text: string): string {
  if (text.includes('\u0000')) throw new RangeError('Postgres text cannot hold a NUL character.');
  return `E'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/**
 * The one-row upsert with the row's values written into its text, for a
 * transaction that sends it with its BEGIN (one round trip for the BEGIN,
 * the lock and the upsert). The rows-'one' shape of upsertSql, parameters
 * replaced by literals.
 */
export function upsertWithValues(row: RecordRow, shape: Omit<UpsertShape, 'rows'>): string {
  if (!Number.isSafeInteger(row.version)) throw new RangeError(`Bad version ${row.version}`);
  const values: Record<string, string> = {
    $1: sqlLiteral(row.appId),
    $2: sqlLiteral(row.name),
    $3: String(row.version),
    $4: sqlLiteral(row.json),
  };
  // One pass: a value's own text (JSON may hold "$2") is never replaced again.
  return upsertSql({ rows: 'one', ...shape }).replace(/\$[1-4]\b/g, (p) => values[p]!);
}

/** A record's durable copy. */
export const SELECT_RECORD = 'SELECT version, data FROM records WHERE app_id = $1 AND name = $2';

/** Removes a record's durable copy. */
export function deleteRecordSql({ asyncCommit = false }: CommitOptions = {}): string {
  return `DELETE FROM records WHERE app_id = $1 AND name = $2${asyncCommit ? ` AND ${ASYNC_COMMIT_CONDITION}` : ''}`;
}

/** deleteRecordSql with the record's app id and name written into its text (upsertWithValues). */
export function deleteWithValues({ appId, name }: RecordRef, options: CommitOptions = {}): string {
  const values: Record<string, string> = { $1: sqlLiteral(appId), $2: sqlLiteral(name) };
  return deleteRecordSql(options).replace(/\$[12]\b/g, (p) => values[p]!);
}

/** SQLSTATE of a foreign key violation: a record of an app deleted meanwhile. */
export const FOREIGN_KEY_VIOLATION = '23503';

/**
 * Postgres refused the data of a statement (SQLSTATE class 22, a data
 * exception, or 23, a constraint), as opposed to failing as a whole. pg and
 * PGlite both give the SQLSTATE as `code`.
 */
export function refusesData(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
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
 * The upsert of many rows as SQL text and its parameters, in the order
 * every writer uses, for a caller that runs it on the driver itself (the
 * local store) or through Prisma (upsertRecords). Rows of apps deleted
 * meanwhile are skipped.
 */
export function recordUpsert(
  rows: readonly RecordRow[],
  { asyncCommit = false }: CommitOptions = {},
): { text: string; values: unknown[] } {
  const sorted = [...rows].sort(byRecord);
  return {
    text: upsertSql({ rows: 'many', deletedApps: 'exists', asyncCommit }),
    values: [
      sorted.map((r) => r.appId),
      sorted.map((r) => r.name),
      sorted.map((r) => r.version),
      sorted.map((r) => r.json),
    ],
  };
}

/**
 * The many-row upsert on the driver itself, prepared once per connection:
 * the local store's flushes and its group commits. Rows of apps deleted
 * meanwhile are skipped; the rows must be unique per record.
 */
export async function upsertRowsPrepared(
  sql: SqlSession,
  rows: readonly RecordRow[],
  commit: CommitOptions,
): Promise<void> {
  const { text, values } = recordUpsert(rows, commit);
  await sql.query(text, values, preparedName('hs_record_upsert_batch', commit));
}

/**
 * Upserts the rows unless Postgres already has their version or a newer one.
 * Rows of apps deleted meanwhile are skipped (no row would satisfy the
 * foreign key). The rows must be unique per record.
 */
export async function upsertRecords(
  sql: PrismaClient | Prisma.TransactionClient,
  rows: readonly RecordRow[],
  options: CommitOptions = {},
): Promise<void> {
  if (rows.length === 0) return;
  const { text, values } = recordUpsert(rows, options);
  await sql.$executeRawUnsafe(text, ...values);
}
