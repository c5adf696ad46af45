// A database opened in another thread of this process, used from this one.
// `pnpm start` keeps its embedded PGlite (and the control plane) off the
// realtime node's event loop: a statement PGlite runs is WebAssembly on the
// thread that opened it, and every client of every app would wait for it.
// Only that thread may open the data directory, so the realtime node's
// thread uses it through calls: Prisma's through a driver adapter whose
// every call crosses (serveDatabase runs the real adapter) or, lighter,
// model methods forwarded to the owning thread's client (forwardingPrisma),
// and `sql` statement by statement. Transactions stay open in the owning thread
// between calls, by id.

import type { SqlDriverAdapterFactory } from '@prisma/client/runtime/client';
import type { Database } from './database.ts';
import { prismaClient } from './database.ts';
import type { PrismaClient } from './generated/prisma/client.ts';
import type { SqlSession } from './sql.ts';

type Adapter = Awaited<ReturnType<SqlDriverAdapterFactory['connect']>>;
type AdapterTransaction = Awaited<ReturnType<Adapter['startTransaction']>>;
type SqlQuery = Parameters<Adapter['queryRaw']>[0];
type SqlResultSet = Awaited<ReturnType<Adapter['queryRaw']>>;
type IsolationLevel = Parameters<Adapter['startTransaction']>[0];

/** What crosses between the threads (ThreadCalls in @hubstream/service has this shape). */
export type DatabaseCalls = {
  call<T>(method: string, ...args: unknown[]): Promise<T>;
  handle<A extends unknown[]>(method: string, fn: (...args: A) => unknown): void;
};

/** The prefix of every call this module makes. */
const P = 'db.';

/**
 * Offers `db` to the other thread (remoteDatabase there). `adapter` is the
 * driver adapter `db.prisma` was made with. Returns what ends every
 * transaction the other thread left open (it has gone): rolled back.
 */
export function serveDatabase(
  db: Pick<Database, 'sql' | 'ping' | 'prisma'>,
  adapterFactory: SqlDriverAdapterFactory,
  calls: DatabaseCalls,
): { abandon(): Promise<void> } {
  let adapter: Promise<Adapter> | undefined;
  const connected = () => {
    adapter ??= adapterFactory.connect();
    return adapter;
  };
  const prismaTxs = new Map<number, AdapterTransaction>();
  /** An open `sql` transaction: its session, and how to end it (commit on true). */
  const sqlTxs = new Map<number, { tx: SqlSession; end(commit: boolean): Promise<void> }>();
  let nextId = 1;

  const prismaTx = (id: number) => {
    const tx = prismaTxs.get(id);
    if (!tx) throw new Error(`No open transaction ${id}`);
    return tx;
  };
  calls.handle(`${P}queryRaw`, async (query: SqlQuery) => (await connected()).queryRaw(query));
  calls.handle(`${P}executeRaw`, async (query: SqlQuery) => (await connected()).executeRaw(query));
  calls.handle(`${P}executeScript`, async (script: string) =>
    (await connected()).executeScript(script),
  );
  calls.handle(`${P}connectionInfo`, async () => (await connected()).getConnectionInfo?.());
  calls.handle(`${P}startTransaction`, async (isolation: IsolationLevel) => {
    const tx = await (await connected()).startTransaction(isolation);
    const id = nextId++;
    prismaTxs.set(id, tx);
    return { id, options: tx.options };
  });
  calls.handle(`${P}tx.queryRaw`, (id: number, query: SqlQuery) => prismaTx(id).queryRaw(query));
  calls.handle(`${P}tx.executeRaw`, (id: number, query: SqlQuery) =>
    prismaTx(id).executeRaw(query),
  );
  calls.handle(`${P}tx.end`, async (id: number, commit: boolean) => {
    const tx = prismaTx(id);
    prismaTxs.delete(id);
    await (commit ? tx.commit() : tx.rollback());
  });

  calls.handle(`${P}sql.query`, (text: string, params?: unknown[], name?: string) =>
    db.sql.query(text, params, name),
  );
  calls.handle(`${P}sql.exec`, (script: string) => db.sql.exec(script));
  calls.handle(`${P}sql.begin`, (begin?: string) => {
    const id = nextId++;
    // The transaction holds PGlite until `sql.end`: the other thread's work runs meanwhile.
    return new Promise<number>((opened, failed) => {
      let settle: { commit(): void; rollback(error: Error): void } | undefined;
      const ended = db.sql.transaction(
        (tx) =>
          new Promise<void>((commit, rollback) => {
            settle = { commit: () => commit(), rollback };
            sqlTxs.set(id, {
              tx,
              end: async (doCommit) => {
                sqlTxs.delete(id);
                if (doCommit) settle?.commit();
                else settle?.rollback(new Error('rolled back by the other thread'));
                await ended.catch((error: Error) => {
                  if (doCommit) throw error;
                });
              },
            });
            opened(id);
          }),
        begin ? { begin } : {},
      );
      ended.catch(failed);
    });
  });
  const sqlTx = (id: number) => {
    const open = sqlTxs.get(id);
    if (!open) throw new Error(`No open transaction ${id}`);
    return open;
  };
  calls.handle(`${P}sql.tx.query`, (id: number, text: string, params?: unknown[]) =>
    sqlTx(id).tx.query(text, params),
  );
  calls.handle(`${P}sql.tx.exec`, (id: number, script: string) => sqlTx(id).tx.exec(script));
  calls.handle(`${P}sql.end`, (id: number, commit: boolean) => sqlTx(id).end(commit));
  calls.handle(`${P}ping`, () => db.ping());
  // forwardingPrisma's calls: a model's method, run on this thread's client.
  calls.handle(`${P}model`, (model: string, method: string, args: unknown) => {
    const delegate = modelDelegate(db.prisma, model);
    const run = delegate?.[method];
    if (!delegate || !MODEL_METHODS.has(method) || typeof run !== 'function')
      throw new Error(`No Prisma method ${model}.${method}`);
    return run.call(delegate, args);
  });

  return {
    async abandon() {
      const prisma = [...prismaTxs.values()];
      prismaTxs.clear();
      const sql = [...sqlTxs.values()];
      await Promise.allSettled([
        ...prisma.map((tx) => tx.rollback()),
        ...sql.map((open) => open.end(false)),
      ]);
    },
  };
}

/** The model methods forwardingPrisma forwards (Prisma's, that take one argument object). */
const MODEL_METHODS = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'create',
  'createMany',
  'update',
  'updateMany',
  'upsert',
  'delete',
  'deleteMany',
  'count',
]);

type Delegate = Record<string, ((args: unknown) => Promise<unknown>) | undefined>;

/** `prisma.<model>`, when `model` names one (never a `$` method or an inherited property). */
function modelDelegate(prisma: object, model: string): Delegate | undefined {
  if (model.startsWith('$') || model.startsWith('_')) return undefined;
  const delegate = (prisma as Record<string, unknown>)[model];
  return typeof delegate === 'object' && delegate !== null ? (delegate as Delegate) : undefined;
}

/**
 * A Prisma client whose model methods (`prisma.app.findUnique(args)`) run on
 * the owning thread's client: no query compiler here (Prisma's ~10 MB of
 * WebAssembly and ~0.2 ms of CPU a statement stay in that thread). Only
 * the model methods of MODEL_METHODS; `$connect` and `$disconnect` do
 * nothing; anything else (raw SQL, `$transaction`) throws, naming itself:
 * a thread that needs them uses the adapter kind (remoteDatabase's
 * `prisma: 'adapter'`). A query runs when called, not when awaited.
 */
function forwardingPrisma(calls: DatabaseCalls): PrismaClient {
  const delegates = new Map<string, object>();
  const delegateOf = (model: string) => {
    let delegate = delegates.get(model);
    if (!delegate) {
      delegate = new Proxy(
        {},
        {
          get(_, method) {
            if (typeof method !== 'string' || !MODEL_METHODS.has(method)) return undefined;
            return (args: unknown) => calls.call(`${P}model`, model, method, args);
          },
        },
      );
      delegates.set(model, delegate);
    }
    return delegate;
  };
  return new Proxy(
    {},
    {
      get(_, key) {
        if (key === '$connect' || key === '$disconnect') return async () => {};
        // Not a thenable: `await prisma` is the client itself.
        if (typeof key !== 'string' || key === 'then') return undefined;
        if (key.startsWith('$'))
          return () => {
            throw new Error(`prisma.${key} is not forwarded to the database's thread`);
          };
        return delegateOf(key);
      },
    },
  ) as PrismaClient;
}

/** Prisma's driver adapter over the calls: each of its methods runs in the owning thread. */
function remoteAdapterFactory(calls: DatabaseCalls): SqlDriverAdapterFactory {
  const queryable = (prefix: string, ...head: unknown[]) => ({
    provider: 'postgres' as const,
    adapterName: 'hubstream-remote-pglite',
    queryRaw: (query: SqlQuery) => calls.call<SqlResultSet>(`${prefix}queryRaw`, ...head, query),
    executeRaw: (query: SqlQuery) => calls.call<number>(`${prefix}executeRaw`, ...head, query),
  });
  return {
    provider: 'postgres',
    adapterName: 'hubstream-remote-pglite',
    async connect(): Promise<Adapter> {
      const info = await calls.call<ReturnType<NonNullable<Adapter['getConnectionInfo']>>>(
        `${P}connectionInfo`,
      );
      return {
        ...queryable(P),
        executeScript: (script: string) => calls.call<void>(`${P}executeScript`, script),
        getConnectionInfo: () => info,
        async startTransaction(isolation?: IsolationLevel): Promise<AdapterTransaction> {
          const { id, options } = await calls.call<{
            id: number;
            options: AdapterTransaction['options'];
          }>(`${P}startTransaction`, isolation);
          return {
            ...queryable(`${P}tx.`, id),
            options,
            commit: () => calls.call<void>(`${P}tx.end`, id, true),
            rollback: () => calls.call<void>(`${P}tx.end`, id, false),
          };
        },
        async dispose() {},
      };
    },
  };
}

/** `sql` over the calls. A transaction is opened in the owning thread and ended from here. */
function remoteSession(calls: DatabaseCalls): SqlSession {
  return {
    query: <Row>(text: string, params?: unknown[], name?: string) =>
      calls.call<Row[]>(`${P}sql.query`, text, params, name),
    exec: (script: string) => calls.call<void>(`${P}sql.exec`, script),
    async transaction<T>(work: (tx: SqlSession) => Promise<T>, options: { begin?: string } = {}) {
      const id = await calls.call<number>(`${P}sql.begin`, options.begin);
      let result: T;
      try {
        result = await work({
          query: <Row>(text: string, params?: unknown[]) =>
            calls.call<Row[]>(`${P}sql.tx.query`, id, text, params),
          exec: (script: string) => calls.call<void>(`${P}sql.tx.exec`, id, script),
          transaction: () => Promise.reject(new Error('Transactions do not nest.')),
        });
      } catch (error) {
        await calls.call(`${P}sql.end`, id, false).catch(() => {});
        throw error;
      }
      await calls.call(`${P}sql.end`, id, true);
      return result;
    },
  };
}

/**
 * The database served by the other thread (serveDatabase), as this thread's
 * Database. `kind` is the served database's. It never migrates (the owning
 * thread did) and closing it leaves the database open: the owner closes it.
 */
export async function remoteDatabase(
  calls: DatabaseCalls,
  kind: Database['kind'],
  options: {
    warmUp?: boolean;
    /**
     * `adapter` (the default): a Prisma client of this thread's own, over
     * a driver adapter whose calls cross (all of Prisma). `forward`: only
     * model methods, run on the owning thread's client (forwardingPrisma).
     */
    prisma?: 'adapter' | 'forward';
  } = {},
): Promise<Database> {
  const { warmUp = true } = options;
  const prisma =
    options.prisma === 'forward'
      ? forwardingPrisma(calls)
      : await prismaClient(
          (Client) => new Client({ adapter: remoteAdapterFactory(calls) }),
          warmUp,
        );
  return {
    kind,
    prisma,
    sql: remoteSession(calls),
    migrate: () => Promise.reject(new Error('The thread that opened the database migrates it.')),
    ping: () => calls.call<void>(`${P}ping`),
    async close() {
      await prisma.$disconnect();
    },
  };
}
