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
   * with the same text. On PGlite (outside a transaction) the statement is
   * parsed once and then run through PGlite's wire protocol, a quarter of
   * what a query without a name costs it (see pglitePrepared).
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

/**
 * The statements prepared on each PGlite database, by name: their text and
 * their parameters' types (shared by every session over the database, as
 * one Postgres backend keeps them).
 */
const preparedOnPglite = new WeakMap<PGlite, Map<string, Promise<Prepared> | Prepared>>();
type Prepared = { text: string; paramTypes: number[] };
type PgliteModule = typeof import('@electric-sql/pglite');
/** PGlite's protocol helpers, imported once PGlite is in use (never by a Postgres process). */
let pgliteModule: PgliteModule | undefined;

/**
 * A named statement on PGlite: parsed (and its parameter types described)
 * once, then each run is Bind, Describe, Execute and Sync in one call into
 * PGlite's backend. PGlite's query() sends Parse, Describe, Bind, Describe,
 * Execute and Sync as six calls and plans the statement every time: on a
 * one-row upsert about 0.6 ms of this process' CPU against 0.15 ms this way.
 * Same locks (PGlite's transaction and query mutexes) and the same rows (its
 * own result parser) as query(). No syncToFs after the statement: the
 * databases openDatabase makes are on NodeFS (a data directory) or in
 * memory, where PGlite's syncToFs does nothing (Postgres' own writes
 * already went to the files, NodeFS writes through with writeSync) but
 * still takes a mutex and a few turns of the microtask queue, ~15 us of an
 * acknowledged write's ~120 us (only a browser's IndexedDB or OPFS copies
 * files out there). A statement that fails to parse is forgotten, so the
 * next run tries again.
 */
async function pglitePrepared<Row>(
  db: PGlite,
  name: string,
  text: string,
  params: unknown[],
): Promise<Row[]> {
  pgliteModule ??= await import('@electric-sql/pglite');
  const { protocol, parse } = pgliteModule;
  const { serialize } = protocol;
  let statements = preparedOnPglite.get(db);
  if (!statements) {
    statements = new Map();
    preparedOnPglite.set(db, statements);
  }
  let prepared = statements.get(name);
  if (!prepared) {
    const preparing = exclusive(db, async () => {
      const { messages } = await db.execProtocol(
        concat([
          serialize.parse({ name, text }),
          serialize.describe({ type: 'S', name }),
          serialize.sync(),
        ]),
      );
      return { text, paramTypes: parse.parseDescribeStatementResults(messages) };
    });
    statements.set(name, preparing);
    // Once parsed, the statement is at hand without a turn of the microtask queue.
    preparing.then(
      (done) => statements.set(name, done),
      () => statements.delete(name),
    );
    prepared = preparing;
  }
  const { text: preparedText, paramTypes } =
    prepared instanceof Promise ? await prepared : prepared;
  if (preparedText !== text) throw new Error(`Statement ${name} was prepared with another text.`);
  const values = params.map((value, i) => {
    if (value === null || value === undefined) return null;
    const serializer = db.serializers[paramTypes[i] ?? 0];
    return serializer ? serializer(value) : String(value);
  });
  const { messages } = await exclusive(db, () =>
    db.execProtocol(
      concat([
        serialize.bind({ statement: name, values }),
        serialize.describe({ type: 'P' }),
        serialize.execute({}),
        serialize.sync(),
      ]),
      { syncToFs: false },
    ),
  );
  return (parse.parseResults(messages, db.parsers)[0]?.rows ?? []) as Row[];
}

/** What PGlite's query() holds while it runs: no transaction or other statement in between. */
function exclusive<T>(db: PGlite, run: () => Promise<T>): Promise<T> {
  return db._runExclusiveTransaction(() =>
    db._runExclusiveQuery(async () => {
      // query() refuses a closed database itself; execProtocol does not, and
      // would reach into the freed wasm module (a TypeError, left unhandled
      // inside PGlite: seen when the health test stops the database).
      if (db.closed) throw new Error('PGlite is closed');
      return run();
    }),
  );
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function pgliteSession(db: PGlite): SqlSession {
  return {
    ...pgliteStatements(db),
    async query<Row>(text: string, params: unknown[] = [], name?: string) {
      if (name !== undefined) return pglitePrepared<Row>(db, name, text, params);
      const result = await db.query<Row>(text, params);
      return result.rows;
    },
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
