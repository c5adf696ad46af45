import type { PGlite, Transaction } from '@electric-sql/pglite';
import type pg from 'pg';

/**
 * The little SQL surface the migration runner, health checks and the record
 * stores need, over either driver. Parameters use Postgres' $1 placeholders
 * on both.
 */
export interface SqlSession {
  /**
   * `name`: keep the statement prepared under this name on each connection
   * that runs it, so later runs skip its parse and plan (about half the
   * server's time for a one-row statement). The same name must always come
   * with the same text. PGlite ignores it.
   */
  query<Row = Record<string, unknown>>(
    text: string,
    params?: unknown[],
    name?: string,
  ): Promise<Row[]>;
  /** Runs a script of several statements (no parameters). */
  exec(script: string): Promise<void>;
  /**
   * Runs `work` in a transaction of its own, on one connection: committed
   * when `work` resolves, rolled back when it throws (and the error
   * rethrown). `begin`: statements without parameters (SET LOCAL, advisory
   * locks) sent with the BEGIN, in the same round trip.
   */
  transaction<T>(work: (tx: SqlSession) => Promise<T>, options?: { begin?: string }): Promise<T>;
}

const beginWith = (begin: string | undefined) => (begin ? `BEGIN; ${begin}` : 'BEGIN');

/**
 * A session over one client (the migration runner's, which holds an advisory
 * lock) or over a pool: then each query takes whichever client is free, and
 * a transaction one client for itself.
 */
export function pgSession(client: pg.ClientBase | pg.Pool): SqlSession {
  return {
    async query<Row>(text: string, params: unknown[] = [], name?: string) {
      const result = await client.query(
        name === undefined ? { text, values: params } : { name, text, values: params },
      );
      return result.rows as Row[];
    },
    async exec(script: string) {
      await client.query(script);
    },
    async transaction<T>(work: (tx: SqlSession) => Promise<T>, options: { begin?: string } = {}) {
      if (!('totalCount' in client)) return pgTransaction(client, work, options.begin);
      const own = await client.connect();
      let broken: Error | undefined;
      try {
        return await pgTransaction(own, work, options.begin, (error) => {
          broken = error;
        });
      } finally {
        // A client whose transaction could not end is not given to anyone else.
        own.release(broken);
      }
    },
  };
}

async function pgTransaction<T>(
  client: pg.ClientBase,
  work: (tx: SqlSession) => Promise<T>,
  begin: string | undefined,
  broken: (error: Error) => void = () => {},
): Promise<T> {
  const tx: SqlSession = {
    ...pgSession(client),
    transaction: () => Promise.reject(new Error('Transactions do not nest.')),
  };
  let result: T;
  try {
    await client.query(beginWith(begin));
    result = await work(tx);
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => broken(rollbackError));
    throw error;
  }
  try {
    await client.query('COMMIT');
  } catch (error) {
    broken(error as Error);
    throw error;
  }
  return result;
}

function pgliteStatements(db: PGlite | Transaction) {
  return {
    async query<Row>(text: string, params: unknown[] = []) {
      const result = await db.query<Row>(text, params);
      return result.rows;
    },
    async exec(script: string) {
      await db.exec(script);
    },
  };
}

export function pgliteSession(db: PGlite): SqlSession {
  return {
    ...pgliteStatements(db),
    transaction<T>(work: (tx: SqlSession) => Promise<T>, options: { begin?: string } = {}) {
      return db.transaction(async (transaction) => {
        if (options.begin) await transaction.exec(options.begin);
        return work({
          ...pgliteStatements(transaction),
          transaction: () => Promise.reject(new Error('Transactions do not nest.')),
        });
      });
    },
  };
}
