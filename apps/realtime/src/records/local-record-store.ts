import type { SqlSession } from '@hubstream/db';
import { ASYNC_COMMIT_CONDITION, MAX_RECORDS_PER_BATCH, recordUpsert } from '@hubstream/worker';
import type { Logger } from '../core/types.ts';
import { KeyedQueue } from './keyed-queue.ts';
import type {
  PersistenceLag,
  RecordChange,
  RecordStore,
  SetOptions,
  SetResult,
  StoredRecord,
} from './record-store.ts';
import { jsonOf } from './replies.ts';

// Records of every app on this node: a hot copy in memory, the durable copy
// in Postgres.
//
// - Writes to one record are serialised (a queue per record), so the
//   compare-and-set on the version is exact.
// - A durable write is persisted before it becomes visible; if Postgres
//   fails, nothing changes and the caller hears about it. Each durable write
//   and each delete is one statement in a transaction of its own, with
//   `asyncCommit` one that does not wait for the WAL flush (ENVS.md,
//   RECORD_WRITE_DURABILITY).
// - Every statement goes to the driver itself (Database.sql), not through
//   Prisma, prepared once per connection: most of them are on a client's
//   round trip.
// - Other writes become visible at once and are persisted shortly after,
//   coalesced per record (only the latest version is written) and together
//   (one statement and one commit for all that gathered). The upsert
//   only ever raises the stored version, so a late or repeated flush can
//   never undo a newer write.
// - Memory stays bounded: records no one here subscribes to, and that are
//   persisted, are kept in an LRU of `maxIdleRecords` and evicted from it.

type Entry = {
  readonly key: string;
  readonly appId: string;
  readonly name: string;
  record: StoredRecord | null;
  /** The highest version known to be in Postgres; -1 for none. */
  persisted: number;
  flushing: Promise<void> | null;
  /** A delete or reload is running: the flusher must leave the record alone. */
  frozen: boolean;
};

export type LocalRecordStoreOptions = {
  /** Records kept in memory without subscribers, least recently used first out. */
  maxIdleRecords?: number;
  /** How long writes gather before they are flushed together. */
  flushDelayMs?: number;
  /** Flushes running at once (each takes a database connection). */
  flushConcurrency?: number;
  /**
   * Commit record writes and deletes without waiting for the WAL to reach
   * the disk (synchronous_commit off for their transactions). Only where a
   * commit survives the node's crash without that wait: a Postgres server,
   * not the embedded PGlite, whose WAL sits in this process until a
   * synchronous commit writes it out.
   */
  asyncCommit?: boolean;
};

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;
const CLOSE_FLUSH_ATTEMPTS = 3;

// App ids never contain '/', so the first '/' separates the app from the name.
const keyOf = (appId: string, name: string) => `${appId}/${name}`;

/**
 * Postgres refused the data of a statement (SQLSTATE class 22, a data
 * exception, or 23, a constraint), as opposed to failing as a whole. pg and
 * PGlite both give the SQLSTATE as `code`.
 */
function refusesData(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

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

const FOREIGN_KEY_VIOLATION = '23503';

const SELECT_RECORD = 'SELECT version, data FROM records WHERE app_id = $1 AND name = $2';

const needsFlush = (entry: Entry) =>
  entry.record !== null && entry.record.version > entry.persisted;

export class LocalRecordStore implements RecordStore {
  readonly #sql: SqlSession;
  readonly #log: Logger;
  /** The WHERE condition that makes a write's commit asynchronous, or nothing. */
  readonly #commit: string;
  readonly #asyncCommit: boolean;
  /** A durable write's statement. */
  readonly #upsertOne: string;
  readonly #maxIdle: number;
  readonly #flushDelayMs: number;
  readonly #flushConcurrency: number;
  readonly #entries = new Map<string, Entry>();
  /** Evictable entries in least-recently-used order. */
  readonly #idle = new Map<string, Entry>();
  readonly #loading = new Map<string, Promise<Entry>>();
  /** Why a record must stay in memory: subscribers (hold) and operations in flight. */
  readonly #holds = new Map<string, number>();
  readonly #pending = new Set<Entry>();
  /** Since when the pending set has not been empty (the lag metric's oldest write). */
  #pendingSince = 0;
  readonly #queue = new KeyedQueue();
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  #retryMs = 0;
  #closed = false;

  constructor(sql: SqlSession, log: Logger, options: LocalRecordStoreOptions = {}) {
    this.#sql = sql;
    this.#log = log;
    this.#asyncCommit = options.asyncCommit ?? false;
    this.#commit = this.#asyncCommit ? ` AND ${ASYNC_COMMIT_CONDITION}` : '';
    this.#upsertOne = `
      INSERT INTO records (app_id, name, version, data, updated_at)
      SELECT $1::text, $2::text, $3::int, $4::jsonb, now()
      ${this.#asyncCommit ? `WHERE ${ASYNC_COMMIT_CONDITION}` : ''}
      ON CONFLICT (app_id, name) DO UPDATE
        SET version = EXCLUDED.version, data = EXCLUDED.data, updated_at = EXCLUDED.updated_at
        WHERE records.version < EXCLUDED.version`;
    this.#maxIdle = options.maxIdleRecords ?? 10_000;
    this.#flushDelayMs = options.flushDelayMs ?? 20;
    this.#flushConcurrency = options.flushConcurrency ?? 4;
  }

  /** Records in memory (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  /** Records written but not yet persisted. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  get(appId: string, name: string): Promise<StoredRecord | null> {
    const hot = this.peek(appId, name);
    if (hot !== undefined) return Promise.resolve(hot);
    return this.#load(appId, name).then((entry) => entry.record);
  }

  peek(appId: string, name: string): StoredRecord | null | undefined {
    const entry = this.#entries.get(keyOf(appId, name));
    if (!entry) return undefined;
    if (this.#idle.delete(entry.key)) this.#idle.set(entry.key, entry);
    return entry.record;
  }

  set(
    appId: string,
    name: string,
    expectedVersion: number,
    next: StoredRecord,
    options: SetOptions = {},
  ): Promise<SetResult> {
    return this.#exclusive(appId, name, async (entry): Promise<SetResult> => {
      const current = entry.record;
      if ((current === null ? -1 : current.version) !== expectedVersion) {
        return { ok: false, current };
      }
      // Once closing, nothing flushes later: a straggling write goes straight through.
      if (options.durable || this.#closed) {
        await this.#persist(appId, name, next);
        entry.persisted = Math.max(entry.persisted, next.version);
      }
      entry.record = next;
      if (needsFlush(entry)) this.#markPending(entry);
      return { ok: true };
    });
  }

  delete(appId: string, name: string): Promise<void> {
    return this.#exclusive(appId, name, (entry) =>
      this.#frozen(entry, async () => {
        // One plain statement: the delete's round trip is a commit, no more.
        await this.#sql.query(
          `DELETE FROM records WHERE app_id = $1 AND name = $2${this.#commit}`,
          [appId, name],
          this.#named('hs_record_delete'),
        );
        entry.record = null;
        entry.persisted = -1;
        this.#pending.delete(entry);
      }),
    );
  }

  reload(appId: string, name: string): Promise<StoredRecord | null> {
    return this.#exclusive(appId, name, (entry) =>
      this.#frozen(entry, async () => {
        const [row] = await this.#sql.query<{ version: number; data: unknown }>(
          SELECT_RECORD,
          [appId, name],
          'hs_record_load',
        );
        // The database wins: writes not yet flushed are dropped.
        entry.record = row ? { version: row.version, data: row.data } : null;
        entry.persisted = row ? row.version : -1;
        this.#pending.delete(entry);
        return entry.record;
      }),
    );
  }

  hold(appId: string, name: string): void {
    const key = keyOf(appId, name);
    this.#holds.set(key, (this.#holds.get(key) ?? 0) + 1);
    this.#idle.delete(key);
  }

  release(appId: string, name: string): void {
    const key = keyOf(appId, name);
    const count = (this.#holds.get(key) ?? 0) - 1;
    if (count > 0) {
      this.#holds.set(key, count);
      return;
    }
    this.#holds.delete(key);
    const entry = this.#entries.get(key);
    if (entry) this.#settle(entry);
  }

  /** Every record this node wrote and has not persisted yet waits for its own flush. */
  async persistenceLag(): Promise<PersistenceLag> {
    const waiting = this.#pending.size;
    return {
      unpersistedRecords: waiting,
      oldestUnpersistedMs: waiting === 0 ? 0 : Date.now() - this.#pendingSince,
      awaitingBatch: waiting,
    };
  }

  /** This node is the whole cluster: no one else changes its records. */
  watch(_listener: (change: RecordChange) => void): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue.drain();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (let attempt = 0; attempt < CLOSE_FLUSH_ATTEMPTS; attempt++) {
      await this.#flushing;
      if (this.#pending.size === 0) return;
      await this.#flush();
    }
    await this.#flushing;
    if (this.#pending.size > 0) {
      this.#log.error({ records: this.#pending.size }, 'records not persisted at shutdown');
    }
  }

  /**
   * The name a write's statement is prepared under (Database.sql): its text
   * differs with the commit mode, and one name must always mean one text.
   */
  #named(statement: string): string {
    return this.#asyncCommit ? `${statement}_async` : statement;
  }

  /** Runs `task` alone on the record, with the record loaded and kept in memory. */
  #exclusive<T>(appId: string, name: string, task: (entry: Entry) => Promise<T>): Promise<T> {
    const key = keyOf(appId, name);
    this.hold(appId, name);
    const run = async () => task(this.#entries.get(key) ?? (await this.#load(appId, name)));
    const done = Promise.resolve(this.#queue.run(key, run));
    return done.finally(() => this.release(appId, name));
  }

  /** Runs `task` with the flusher kept off the record, after its flush in flight. */
  async #frozen<T>(entry: Entry, task: () => Promise<T>): Promise<T> {
    entry.frozen = true;
    try {
      while (entry.flushing) await entry.flushing;
      return await task();
    } finally {
      entry.frozen = false;
      if (this.#pending.has(entry)) this.#schedule(0);
      this.#settle(entry);
    }
  }

  #load(appId: string, name: string): Promise<Entry> {
    const key = keyOf(appId, name);
    let loading = this.#loading.get(key);
    if (loading) return loading;
    // A plain query: a name that is not there yet (every create) costs one
    // round trip and as little work on this event loop as can be.
    loading = this.#sql
      .query<{ version: number; data: unknown }>(SELECT_RECORD, [appId, name], 'hs_record_load')
      .then(([row]) => {
        const entry: Entry = {
          key,
          appId,
          name,
          record: row ? { version: row.version, data: row.data } : null,
          persisted: row ? row.version : -1,
          flushing: null,
          frozen: false,
        };
        this.#entries.set(key, entry);
        this.#settle(entry);
        return entry;
      })
      .finally(() => this.#loading.delete(key));
    this.#loading.set(key, loading);
    return loading;
  }

  /** Files the entry as evictable, or not, and trims the idle set. */
  #settle(entry: Entry) {
    this.#idle.delete(entry.key);
    const evictable =
      !this.#holds.has(entry.key) &&
      !entry.frozen &&
      entry.flushing === null &&
      !this.#pending.has(entry);
    if (!evictable || this.#entries.get(entry.key) !== entry) return;
    this.#idle.set(entry.key, entry);
    for (const [key, idle] of this.#idle) {
      if (this.#idle.size <= this.#maxIdle) break;
      this.#idle.delete(key);
      if (this.#entries.get(key) === idle) this.#entries.delete(key);
    }
  }

  #markPending(entry: Entry) {
    if (this.#pending.size === 0) this.#pendingSince = Date.now();
    this.#pending.add(entry);
    this.#idle.delete(entry.key);
    this.#schedule(this.#retryMs || this.#flushDelayMs);
  }

  #schedule(delayMs: number) {
    if (this.#timer || this.#flushing || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#flush();
    }, delayMs);
    this.#timer.unref();
  }

  /**
   * Persists the latest version of every pending record: up to
   * MAX_RECORDS_PER_BATCH in one statement (one commit), a few statements at
   * a time.
   */
  #flush(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    const run = async () => {
      const ready = [...this.#pending].filter((e) => !e.frozen && e.flushing === null);
      const batches: Entry[][] = [];
      for (let i = 0; i < ready.length; i += MAX_RECORDS_PER_BATCH)
        batches.push(ready.slice(i, i + MAX_RECORDS_PER_BATCH));
      let failed = 0;
      const worker = async () => {
        for (let batch = batches.shift(); batch; batch = batches.shift()) {
          failed += await this.#flushEntries(batch);
        }
      };
      await Promise.all(Array.from({ length: this.#flushConcurrency }, worker));
      this.#retryMs = failed === 0 ? 0 : Math.min(RETRY_MAX_MS, this.#retryMs * 2 || RETRY_MIN_MS);
    };
    this.#flushing = run().finally(() => {
      this.#flushing = null;
      if (this.#pending.size > 0) this.#schedule(this.#retryMs || this.#flushDelayMs);
    });
    return this.#flushing;
  }

  /** Persists the entries' latest versions together; returns how many failed. */
  async #flushEntries(entries: Entry[]): Promise<number> {
    const taken: { entry: Entry; record: StoredRecord }[] = [];
    for (const entry of entries) {
      // Frozen after the batch was taken: the delete or reload decides.
      if (entry.frozen || entry.flushing) continue;
      const record = entry.record;
      this.#pending.delete(entry);
      if (record === null || record.version <= entry.persisted) continue;
      taken.push({ entry, record });
    }
    if (taken.length === 0) return 0;
    let resolve = () => {};
    const flushing = new Promise<void>((r) => {
      resolve = r;
    });
    for (const { entry } of taken) entry.flushing = flushing;
    const upsert = (list: typeof taken) => {
      const rows = list.map(({ entry, record }) => ({
        appId: entry.appId,
        name: entry.name,
        version: record.version,
        json: jsonOf(record),
      }));
      const { text, values } = recordUpsert(rows, { asyncCommit: this.#asyncCommit });
      return this.#sql.query(text, values, this.#named('hs_record_upsert_batch'));
    };
    const persisted = (list: typeof taken) => {
      for (const { entry, record } of list)
        entry.persisted = Math.max(entry.persisted, record.version);
    };
    let failed = 0;
    try {
      await upsert(taken);
      persisted(taken);
    } catch (error) {
      this.#log.error(
        { err: error, records: taken.length },
        'persisting records failed; will retry',
      );
      // One record the database refuses must not hold the others back; when
      // the database itself fails, the whole batch waits for the retry.
      if (taken.length > 1 && refusesData(error)) {
        for (const one of taken) {
          try {
            await upsert([one]);
            persisted([one]);
          } catch {
            failed++;
          }
        }
      } else {
        failed = 1;
      }
    } finally {
      for (const { entry } of taken) entry.flushing = null;
      resolve();
      for (const { entry } of taken) {
        if (needsFlush(entry)) this.#pending.add(entry);
        this.#settle(entry);
      }
    }
    return failed;
  }

  /**
   * Upserts the record unless Postgres already has this version or a newer
   * one, in one statement. A record of an app that was deleted meanwhile is
   * skipped: its row would break the foreign key. (Checked by the key, not by
   * a subquery as in the batch's statement: on PGlite the subquery is a
   * tenth of a durable write's time.)
   */
  async #persist(appId: string, name: string, record: StoredRecord): Promise<void> {
    try {
      await this.#sql.query(
        this.#upsertOne,
        [appId, name, record.version, jsonOf(record)],
        this.#named('hs_record_upsert'),
      );
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code !== FOREIGN_KEY_VIOLATION) throw error;
    }
  }
}
