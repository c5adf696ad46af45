import { randomBytes } from 'node:crypto';
import type { SqlSession } from '@hubstream/db';
import { markPersisted } from './persist-records.ts';
import type { PersistenceBatches } from './persistence-batches.ts';
import { replaceAnnouncement, writeAnnouncement } from './record-changes.ts';
import { jsonOf, knownJson } from './record-json.ts';
import { recordKeys } from './record-keys.ts';
import { type LockMode, lockingBegin } from './record-locks.ts';
import { deleteWithValues, SELECT_RECORD, upsertWithValues } from './record-sql.ts';
import type { RecordsLogger, SetOptions, StoredRecord } from './record-store.ts';
import type { RecordCommands } from './redis-record-scripts.ts';

// The Redis record store's round trips: loading a record (a miss in Redis
// loads Postgres' copy), the compare-and-set, durable writes and the
// replacements by Postgres' word (delete, reload). Each change is announced
// by the script that makes it, under `origin`, the store's id.
//
// Postgres is reached through the driver (Database.sql), as in the local
// store: these are on a client's round trip, where Prisma's transaction cost
// milliseconds. A transaction's BEGIN carries its SET LOCAL, its advisory
// lock and, for a durable write or a delete, the record's statement with its
// values written in (one round trip: every Postgres round trip on a loaded
// machine waits for Postgres' process to be scheduled, far longer than the
// statement's parse); then the Redis script, and COMMIT.

/**
 * What a replacement runs on Postgres under the record's exclusive lock:
 * `begin`, sent with the BEGIN, and `run`, its own round trip after it.
 */
export type Replacement = {
  begin?(appId: string, name: string): string;
  run(tx: SqlSession, appId: string, name: string): Promise<StoredRecord | null>;
};

export const REPLACEMENTS = {
  delete: {
    begin: (appId, name) => deleteWithValues({ appId, name }),
    run: async () => null,
  },
  reload: {
    run: async (tx, appId, name) => {
      const [row] = await tx.query<{ version: number; data: unknown }>(
        SELECT_RECORD,
        [appId, name],
        'hs_cluster_record_load',
      );
      return row ? { version: row.version, data: row.data } : null;
    },
  },
} satisfies Record<string, Replacement>;

export type Write = {
  appId: string;
  name: string;
  expected: number;
  next: StoredRecord;
  options: SetOptions;
};

export type Outcome =
  | { kind: 'stored'; generation: string }
  | { kind: 'missing' }
  | { kind: 'conflict'; current: StoredRecord | null };

/** Thrown inside a durable write's transaction to roll it back. */
class Rollback extends Error {
  constructor(readonly outcome: Outcome) {
    super('rolled back');
  }
}

function decode(version: number, json: string | null): StoredRecord | null {
  if (version < 0) return null;
  if (json === null) throw new Error(`A stored record of version ${version} has no data.`);
  return knownJson({ version, data: JSON.parse(json) }, json);
}

export class RedisRecordOperations {
  readonly #redis: RecordCommands;
  readonly #sql: SqlSession;
  readonly #log: RecordsLogger;
  readonly #prefix: string;
  readonly #absentTtlMs: number;
  readonly #origin: string;
  readonly #batches: PersistenceBatches;
  readonly #asyncCommit: boolean;
  /** "persisted" marks sent after acknowledging their writes, until Redis answers. */
  readonly #marks = new Set<Promise<void>>();
  readonly #forget: (appId: string, name: string) => void;
  /** Generation tokens: this store's random prefix and a counter (unique across nodes and restarts). */
  readonly #generationPrefix = randomBytes(6).toString('base64url');
  #generations = 0;

  constructor(options: {
    redis: RecordCommands;
    sql: SqlSession;
    logger: RecordsLogger;
    keyPrefix: string;
    absentTtlMs: number;
    origin: string;
    batches: PersistenceBatches;
    /** Commit without waiting for the WAL flush (RECORD_WRITE_DURABILITY=commit). */
    asyncCommit: boolean;
    /** Drops the local cached copy (its state is unknown after a failed commit). */
    forget: (appId: string, name: string) => void;
  }) {
    this.#redis = options.redis;
    this.#sql = options.sql;
    this.#log = options.logger;
    this.#prefix = options.keyPrefix;
    this.#absentTtlMs = options.absentTtlMs;
    this.#origin = options.origin;
    this.#batches = options.batches;
    this.#asyncCommit = options.asyncCommit;
    this.#forget = options.forget;
  }

  /** A generation token no other record start in the cluster has had. */
  #newGeneration(): string {
    this.#generations++;
    return `${this.#generationPrefix}${this.#generations.toString(36)}`;
  }

  /** What Redis holds, loading Postgres' copy into Redis on a miss. */
  async load(appId: string, name: string): Promise<StoredRecord | null> {
    const recordKey = recordKeys.record(this.#prefix, appId, name);
    const [version, json] = await this.#redis.hmget(recordKey, 'v', 'd');
    if (version != null) return decode(Number(version), json ?? null);
    const [row] = await this.#sql.query<{ version: number; data: unknown }>(
      SELECT_RECORD,
      [appId, name],
      'hs_cluster_record_load',
    );
    const [seeded, seededJson] = await this.#redis.hsRecordSeed(
      recordKey,
      row ? row.version : -1,
      row ? JSON.stringify(row.data) : '',
      this.#absentTtlMs,
      row ? this.#newGeneration() : '',
    );
    return decode(seeded, seededJson);
  }

  /** The compare-and-set; a stored write tells the record's generation. */
  async compareAndSet({ appId, name, expected, next, options }: Write): Promise<Outcome> {
    const { message, appendData } = writeAnnouncement(
      this.#origin,
      name,
      next.version,
      options.delta ?? { kind: 'update' },
    );
    const reply = await this.#redis.hsRecordCas(
      recordKeys.record(this.#prefix, appId, name),
      recordKeys.dirty(this.#prefix, appId),
      expected,
      next.version,
      jsonOf(next),
      name,
      Date.now(),
      recordKeys.changes(this.#prefix, appId),
      message,
      appendData,
      expected === -1 ? this.#newGeneration() : '',
    );
    switch (reply[0]) {
      case 0:
        return { kind: 'missing' };
      case 1:
        this.#batches.wrote(appId);
        return { kind: 'stored', generation: reply[1] };
      case 2:
        return { kind: 'conflict', current: decode(reply[1], reply[2]) };
      default:
        throw new Error(`Unexpected compare-and-set reply ${JSON.stringify(reply)}`);
    }
  }

  /**
   * What a record write's transaction sends with its BEGIN: its commit mode
   * and the record's advisory lock (record-locks.ts: deletes and reloads
   * take it exclusively, writes and batches shared).
   */
  #begin(appId: string, name: string, mode: LockMode): string {
    return lockingBegin({ appId, name }, mode, { asyncCommit: this.#asyncCommit });
  }

  /**
   * Upsert, compare-and-set, commit: Postgres never keeps a version Redis
   * refused. The upsert goes with the BEGIN and the lock (one round trip),
   * so a write costs two Postgres round trips and one to Redis. Resolves
   * once committed; the "persisted" mark that follows is not waited for
   * (settled() is): a mark that never lands only costs a redundant batch.
   */
  async setDurably(write: Write): Promise<Outcome> {
    const { appId, name, next } = write;
    // The record's upsert writes nothing for an app deleted meanwhile; its
    // commit mode is the transaction's (set with its BEGIN), not the statement's.
    const upsert = upsertWithValues(
      { appId, name, version: next.version, json: jsonOf(next) },
      { deletedApps: 'exists' },
    );
    // Set inside the transaction once Redis took the write.
    const stored: { generation: string | null } = { generation: null };
    try {
      await this.#sql.transaction(
        async () => {
          const outcome = await this.compareAndSet(write);
          if (outcome.kind !== 'stored') throw new Rollback(outcome);
          stored.generation = outcome.generation;
        },
        { begin: `${this.#begin(appId, name, 'shared')}; ${upsert}` },
      );
    } catch (error) {
      if (error instanceof Rollback) return error.outcome;
      if (stored.generation !== null) {
        // The commit failed after Redis took the write: whether Postgres has
        // it is unknown, so the writer hears of a failure and a batch makes
        // sure of it.
        this.#batches.add(appId, name);
        this.#forget(appId, name);
      }
      throw error;
    }
    const generation = stored.generation ?? '';
    const marking = markPersisted(this.#redis, this.#prefix, [
      { appId, name, version: next.version, generation },
    ])
      .catch((error: unknown) => {
        // Only the lag metric and a redundant batch suffer.
        this.#log.warn(
          { err: error, app: appId, record: name },
          'marking a record persisted failed',
        );
        this.#batches.add(appId, name);
      })
      .finally(() => this.#marks.delete(marking));
    this.#marks.add(marking);
    return { kind: 'stored', generation };
  }

  /** Resolves once every "persisted" mark sent so far has been answered. */
  async settled(): Promise<void> {
    while (this.#marks.size > 0) await Promise.allSettled([...this.#marks]);
  }

  /**
   * Runs the replacement on Postgres under the record's exclusive lock and makes
   * Redis hold its outcome before the commit, so no batch or durable write
   * can slip in between.
   */
  async replaceFromPostgres(
    appId: string,
    name: string,
    replacement: Replacement,
  ): Promise<StoredRecord | null> {
    const recordKey = recordKeys.record(this.#prefix, appId, name);
    const lock = this.#begin(appId, name, 'exclusive');
    const begin = replacement.begin ? `${lock}; ${replacement.begin(appId, name)}` : lock;
    let replaced = false;
    try {
      return await this.#sql.transaction(
        async (tx) => {
          const record = await replacement.run(tx, appId, name);
          const version = record?.version ?? -1;
          const { message, appendData } = replaceAnnouncement(this.#origin, name, version);
          await this.#redis.hsRecordReplace(
            recordKey,
            recordKeys.dirty(this.#prefix, appId),
            version,
            record ? jsonOf(record) : '',
            this.#absentTtlMs,
            name,
            recordKeys.changes(this.#prefix, appId),
            message,
            appendData,
            record ? this.#newGeneration() : '',
          );
          replaced = true;
          return record;
        },
        { begin },
      );
    } catch (error) {
      // Redis changed but the commit failed: let the next read ask Postgres.
      if (replaced) await this.#redis.del(recordKey).catch(() => {});
      this.#forget(appId, name);
      throw error;
    }
  }
}
