import type { SqlSession } from '@hubstream/db';
import { DurableWrites } from './durable-writes.ts';
import { KeyedQueue } from './keyed-queue.ts';
import { type LocalEntry, LocalFlusher, needsFlush } from './local-record-flusher.ts';
import { jsonOf } from './record-json.ts';
import { deleteRecordSql, preparedName, SELECT_RECORD } from './record-sql.ts';
import type {
  PersistenceLag,
  RecordChange,
  RecordStore,
  RecordsLogger,
  SetOptions,
  SetResult,
  StoredRecord,
} from './record-store.ts';

// Records of every app on this node: a hot copy in memory, the durable copy
// in Postgres.
//
// - Writes to one record are serialised (a queue per record), so the
//   compare-and-set on the version is exact.
// - A durable write is persisted before it becomes visible; if Postgres
//   fails, nothing changes and the caller hears about it. Durable writes
//   commit in groups: those that arrive together, or while a commit is in
//   flight, are one statement in one transaction (durable-writes.ts). Each
//   delete is one statement in a transaction of its own. With `asyncCommit`
//   a commit does not wait for the WAL flush (ENVS.md,
//   RECORD_WRITE_DURABILITY).
// - Every statement goes to the driver itself (Database.sql), not through
//   Prisma, prepared once per connection: most of them are on a client's
//   round trip.
// - Other writes become visible at once and are persisted shortly after,
//   coalesced per record and together (local-record-flusher.ts).
// - Memory stays bounded: records no one here subscribes to, and that are
//   persisted, are kept in an LRU of `maxIdleRecords` and evicted from it.

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

// App ids never contain '/', so the first '/' separates the app from the name.
const keyOf = (appId: string, name: string) => `${appId}/${name}`;

export class LocalRecordStore implements RecordStore {
  readonly #sql: SqlSession;
  readonly #asyncCommit: boolean;
  readonly #durable: DurableWrites;
  readonly #delete: string;
  readonly #maxIdle: number;
  readonly #entries = new Map<string, LocalEntry>();
  /** Evictable entries in least-recently-used order. */
  readonly #idle = new Map<string, LocalEntry>();
  readonly #loading = new Map<string, Promise<LocalEntry>>();
  /** Why a record must stay in memory: subscribers (hold) and operations in flight. */
  readonly #holds = new Map<string, number>();
  readonly #flusher: LocalFlusher;
  readonly #queue = new KeyedQueue();
  #closed = false;

  constructor(sql: SqlSession, log: RecordsLogger, options: LocalRecordStoreOptions = {}) {
    this.#sql = sql;
    this.#asyncCommit = options.asyncCommit ?? false;
    this.#durable = new DurableWrites(sql, { asyncCommit: this.#asyncCommit });
    this.#delete = deleteRecordSql({ asyncCommit: this.#asyncCommit });
    this.#maxIdle = options.maxIdleRecords ?? 10_000;
    this.#flusher = new LocalFlusher({
      sql,
      log,
      asyncCommit: this.#asyncCommit,
      flushDelayMs: options.flushDelayMs ?? 20,
      flushConcurrency: options.flushConcurrency ?? 4,
      settle: (entry) => this.#settle(entry),
    });
  }

  /** Records in memory (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  /** Records written but not yet persisted. */
  get pendingCount(): number {
    return this.#flusher.size;
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
        await this.#durable.write({ appId, name, version: next.version, json: jsonOf(next) });
        entry.persisted = Math.max(entry.persisted, next.version);
      }
      entry.record = next;
      if (needsFlush(entry)) {
        this.#flusher.add(entry);
        this.#idle.delete(entry.key);
      }
      return { ok: true };
    });
  }

  delete(appId: string, name: string): Promise<void> {
    return this.#exclusive(appId, name, (entry) =>
      this.#frozen(entry, async () => {
        // One plain statement: the delete's round trip is a commit, no more.
        await this.#sql.query(this.#delete, [appId, name], this.#named('hs_record_delete'));
        entry.record = null;
        entry.persisted = -1;
        this.#flusher.drop(entry);
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
        this.#flusher.drop(entry);
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

  async persistenceLag(): Promise<PersistenceLag> {
    return this.#flusher.lag();
  }

  /** This node is the whole cluster: no one else changes its records. */
  watch(_listener: (change: RecordChange) => void): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#flusher.stop();
    await this.#queue.drain();
    await this.#flusher.close();
  }

  #named(statement: string): string {
    return preparedName(statement, { asyncCommit: this.#asyncCommit });
  }

  /** Runs `task` alone on the record, with the record loaded and kept in memory. */
  #exclusive<T>(appId: string, name: string, task: (entry: LocalEntry) => Promise<T>): Promise<T> {
    const key = keyOf(appId, name);
    this.hold(appId, name);
    const run = async () => task(this.#entries.get(key) ?? (await this.#load(appId, name)));
    const done = Promise.resolve(this.#queue.run(key, run));
    return done.finally(() => this.release(appId, name));
  }

  /** Runs `task` with the flusher kept off the record, after its flush in flight. */
  async #frozen<T>(entry: LocalEntry, task: () => Promise<T>): Promise<T> {
    entry.frozen = true;
    try {
      while (entry.flushing) await entry.flushing;
      return await task();
    } finally {
      entry.frozen = false;
      this.#flusher.thawed(entry);
      this.#settle(entry);
    }
  }

  #load(appId: string, name: string): Promise<LocalEntry> {
    const key = keyOf(appId, name);
    let loading = this.#loading.get(key);
    if (loading) return loading;
    // A plain query: a name that is not there yet (every create) costs one
    // round trip and as little work on this event loop as can be.
    loading = this.#sql
      .query<{ version: number; data: unknown }>(SELECT_RECORD, [appId, name], 'hs_record_load')
      .then(([row]) => {
        const entry: LocalEntry = {
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
  #settle(entry: LocalEntry) {
    this.#idle.delete(entry.key);
    const evictable =
      !this.#holds.has(entry.key) &&
      !entry.frozen &&
      entry.flushing === null &&
      !this.#flusher.has(entry);
    if (!evictable || this.#entries.get(entry.key) !== entry) return;
    this.#idle.set(entry.key, entry);
    for (const [key, idle] of this.#idle) {
      if (this.#idle.size <= this.#maxIdle) break;
      this.#idle.delete(key);
      if (this.#entries.get(key) === idle) this.#entries.delete(key);
    }
  }
}
