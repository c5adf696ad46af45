import type { SqlSession } from '@hubstream/db';
import { MAX_RECORDS_PER_BATCH } from '@hubstream/jobs';
import {
  FOREIGN_KEY_VIOLATION,
  preparedName,
  type RecordRow,
  refusesData,
  upsertRowsPrepared,
  upsertSql,
} from './record-sql.ts';

// Group commit for the local store's durable (acknowledged) writes. The
// writes that arrive in one turn of the event loop, or while the batches in
// flight commit, go out together: one upsert of all their rows, one
// statement and so one transaction and one commit, up to
// MAX_RECORDS_PER_BATCH rows. Up to `concurrency` batches commit at once,
// each on a connection of its own: while Postgres commits one, this process
// answers the writers of another and gathers the next (with one batch in
// flight the two took turns, and acked writes/s were half as many). Each
// writer hears its own outcome once its batch is committed: a batch that
// fails as a whole fails every writer in it; a batch whose data Postgres
// refuses (one bad row fails the statement) is written again row by row, so
// only the refused rows fail. A lone write runs the one-row statement, as
// fast as the store's single write was before batches; one that finds
// nothing committing and nothing waiting goes out at once, not after the
// turn (there is no group to wait for: the writes that follow it in the
// same turn gather as the next batch). That turn was ~30 us of every
// sequential acknowledged write's round trip.
//
// The store serialises the writes of a record, so a record is in at most one
// batch in flight, and its next write waits for the batch its previous one
// is in. Two rows of one record in one statement would fail it ("cannot
// affect row a second time"): should it happen anyway, the later row waits
// for the next batch.

type Waiter = { row: RecordRow; resolve: () => void; reject: (error: unknown) => void };

const rowKey = (row: RecordRow) => `${row.appId}/${row.name}`;

export class DurableWrites {
  readonly #sql: SqlSession;
  readonly #asyncCommit: boolean;
  readonly #upsertOne: string;
  readonly #waiting: Waiter[] = [];
  /** Batches committing at once. */
  readonly #concurrency: number;
  /** Batches committing now; the next one gathers meanwhile. */
  #committing = 0;
  #scheduled = false;

  constructor(
    sql: SqlSession,
    { asyncCommit, concurrency = 4 }: { asyncCommit: boolean; concurrency?: number },
  ) {
    this.#sql = sql;
    this.#asyncCommit = asyncCommit;
    this.#concurrency = concurrency;
    // The app's existence is left to the foreign key (#one).
    this.#upsertOne = upsertSql({ rows: 'one', deletedApps: 'foreign-key', asyncCommit });
  }

  /** Resolves once the row is committed (or its app is gone); rejects if it could not be. */
  write(row: RecordRow): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ row, resolve, reject });
      if (this.#committing === 0 && !this.#scheduled && this.#waiting.length === 1) {
        // Idle: this write is the whole batch.
        void this.#commit(this.#take());
      } else {
        this.#schedule();
      }
    });
  }

  /**
   * Sends the next batch after this turn of the event loop: the writes other
   * sockets' messages make in the same turn, and the next writes of the
   * records whose batch just committed (their writers continue in
   * microtasks), join it.
   */
  #schedule() {
    if (this.#scheduled || this.#committing >= this.#concurrency) return;
    if (this.#waiting.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#committing < this.#concurrency && this.#waiting.length > 0) {
        void this.#commit(this.#take());
        // What the batch left (a record twice, or more than a batch holds).
        this.#schedule();
      }
    });
  }

  /** The next batch: the oldest waiting writes, each record once. */
  #take(): Waiter[] {
    if (this.#waiting.length === 1) return this.#waiting.splice(0, 1);
    const batch: Waiter[] = [];
    const later: Waiter[] = [];
    const keys = new Set<string>();
    for (const waiter of this.#waiting) {
      const key = rowKey(waiter.row);
      if (batch.length >= MAX_RECORDS_PER_BATCH || keys.has(key)) later.push(waiter);
      else {
        keys.add(key);
        batch.push(waiter);
      }
    }
    this.#waiting.length = 0;
    this.#waiting.push(...later);
    return batch;
  }

  async #commit(batch: Waiter[]): Promise<void> {
    this.#committing++;
    try {
      if (batch.length === 1) {
        await this.#settle(batch[0]!, this.#one(batch[0]!.row));
        return;
      }
      try {
        await this.#many(batch.map((w) => w.row));
      } catch (error) {
        if (!refusesData(error)) {
          for (const waiter of batch) waiter.reject(error);
          return;
        }
        // Some row's data was refused: each row on its own, the refused ones fail.
        await Promise.all(batch.map((waiter) => this.#settle(waiter, this.#one(waiter.row))));
        return;
      }
      for (const waiter of batch) waiter.resolve();
    } finally {
      this.#committing--;
      this.#schedule();
    }
  }

  async #settle(waiter: Waiter, done: Promise<void>): Promise<void> {
    try {
      await done;
      waiter.resolve();
    } catch (error) {
      waiter.reject(error);
    }
  }

  /**
   * One row: a record of an app deleted meanwhile is skipped, by the
   * foreign key (on PGlite the EXISTS of the batch's statement is a tenth of
   * a one-row write's time).
   */
  async #one(row: RecordRow): Promise<void> {
    try {
      await this.#sql.query(
        this.#upsertOne,
        [row.appId, row.name, row.version, row.json],
        preparedName('hs_record_upsert', { asyncCommit: this.#asyncCommit }),
      );
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code !== FOREIGN_KEY_VIOLATION) throw error;
    }
  }

  /** Many rows in one statement (the flusher's); rows of apps deleted meanwhile are skipped. */
  #many(rows: RecordRow[]): Promise<void> {
    return upsertRowsPrepared(this.#sql, rows, { asyncCommit: this.#asyncCommit });
  }
}
