import type { SqlSession } from '@hubstream/db';
import { MAX_RECORDS_PER_BATCH } from '@hubstream/jobs';
import { jsonOf } from './record-json.ts';
import { refusesData, upsertRowsPrepared } from './record-sql.ts';
import type { PersistenceLag, RecordsLogger, StoredRecord } from './record-store.ts';

// The local store's lazy writes: they become visible at once and are
// persisted shortly after, coalesced per record (only the latest version is
// written) and together (one statement and one commit for all that
// gathered, up to MAX_RECORDS_PER_BATCH, a few statements at a time). The
// upsert only ever raises the stored version, so a late or repeated flush
// can never undo a newer write. A failed flush is retried with backoff; one
// record Postgres refuses holds no other back.

/** A record the local store holds in memory. */
export type LocalEntry = {
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

export const needsFlush = (entry: LocalEntry) =>
  entry.record !== null && entry.record.version > entry.persisted;

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;
const CLOSE_FLUSH_ATTEMPTS = 3;

export class LocalFlusher {
  readonly #sql: SqlSession;
  readonly #log: RecordsLogger;
  readonly #asyncCommit: boolean;
  readonly #flushDelayMs: number;
  readonly #flushConcurrency: number;
  /** Files an entry as evictable, or not, once the flusher is done with it. */
  readonly #settle: (entry: LocalEntry) => void;
  readonly #pending = new Set<LocalEntry>();
  /** Since when the pending set has not been empty (the lag metric's oldest write). */
  #pendingSince = 0;
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  #retryMs = 0;
  #stopped = false;

  constructor(options: {
    sql: SqlSession;
    log: RecordsLogger;
    asyncCommit: boolean;
    flushDelayMs: number;
    flushConcurrency: number;
    settle: (entry: LocalEntry) => void;
  }) {
    this.#sql = options.sql;
    this.#log = options.log;
    this.#asyncCommit = options.asyncCommit;
    this.#flushDelayMs = options.flushDelayMs;
    this.#flushConcurrency = options.flushConcurrency;
    this.#settle = options.settle;
  }

  /** Records written but not yet persisted. */
  get size(): number {
    return this.#pending.size;
  }

  has(entry: LocalEntry): boolean {
    return this.#pending.has(entry);
  }

  /** The entry's latest version must reach Postgres. */
  add(entry: LocalEntry): void {
    if (this.#pending.size === 0) this.#pendingSince = Date.now();
    this.#pending.add(entry);
    this.#schedule(this.#retryMs || this.#flushDelayMs);
  }

  /** The entry no longer needs a flush (deleted, or reloaded from Postgres). */
  drop(entry: LocalEntry): void {
    this.#pending.delete(entry);
  }

  /** A delete or reload left the entry: flush it now if it is still pending. */
  thawed(entry: LocalEntry): void {
    if (this.#pending.has(entry)) this.#schedule(0);
  }

  /** Every record written and not persisted yet waits for its own flush. */
  lag(): PersistenceLag {
    const waiting = this.#pending.size;
    return {
      unpersistedRecords: waiting,
      oldestUnpersistedMs: waiting === 0 ? 0 : Date.now() - this.#pendingSince,
      awaitingBatch: waiting,
    };
  }

  /** No more flushes later: the store is closing. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Flushes what is left now (after stop()), a few times if it fails. */
  async close(): Promise<void> {
    this.stop();
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

  #schedule(delayMs: number) {
    if (this.#timer || this.#flushing || this.#stopped) return;
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
      const batches: LocalEntry[][] = [];
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
  async #flushEntries(entries: LocalEntry[]): Promise<number> {
    const taken: { entry: LocalEntry; record: StoredRecord }[] = [];
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
      return upsertRowsPrepared(this.#sql, rows, { asyncCommit: this.#asyncCommit });
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
}
