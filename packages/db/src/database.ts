import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { SqlDriverAdapterFactory } from '@prisma/client/runtime/client';
import { lockDataDir } from './data-dir-lock.ts';
import type { PrismaClient } from './generated/prisma/client.ts';
import { lazyPrisma } from './lazy-prisma.ts';
import { applyMigrations, type MigrationReport, readMigrations } from './migrations.ts';
import { extractSnapshotInto, pgliteSnapshot, snapshotForNewDataDir } from './pglite-snapshot.ts';
import { pgliteSession, pgSession, type SqlSession } from './sql.ts';

export type DatabaseOptions =
  | { kind: 'postgres'; url: string; poolSize?: number }
  | { kind: 'pglite'; dataDir: string }
  /** PGlite in memory: for tests and throwaway runs. */
  | { kind: 'pglite-memory' };

export interface Database {
  readonly kind: DatabaseOptions['kind'];
  readonly prisma: PrismaClient;
  /**
   * The driver itself, beside Prisma, for the few statements on a client's
   * round trip (record loads and acknowledged writes): Prisma's query engine
   * adds ~0.2 ms of this process' CPU to every statement, as much as
   * Postgres takes to run them. Same connections as `prisma`.
   */
  readonly sql: SqlSession;
  /**
   * PGlite only: the driver adapter `prisma` was made with, for
   * serveDatabase (remote.ts) to run another thread's Prisma queries on.
   */
  readonly driverAdapter?: SqlDriverAdapterFactory;
  /** Applies pending migrations (idempotent; safe from several processes at once). */
  migrate(): Promise<MigrationReport>;
  /** Resolves when the database answers a trivial query; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Chooses the embedded database when no URL is configured. */
export function databaseOptionsFor(config: {
  DATABASE_URL?: string | undefined;
  DATA_DIR: string;
}): DatabaseOptions {
  return config.DATABASE_URL
    ? { kind: 'postgres', url: config.DATABASE_URL }
    : { kind: 'pglite', dataDir: config.DATA_DIR };
}

// Each kind's driver is imported when that kind is opened: a process uses
// one of them, and loading the other (pg and its adapter, or PGlite and
// its) is start-up time for nothing.

export type OpenOptions = {
  /**
   * Load Prisma's client and start its connect at once (the default; see
   * prismaClient). False leaves both to the first Prisma query or to the
   * caller's own `prisma.$connect()` (`prisma` is a stand-in until then,
   * lazy-prisma.ts): a realtime node calls it once it listens, so loading
   * Prisma's modules and compiling its query compiler (~0.3 s of CPU) are
   * not spent before the node is ready.
   */
  warmUp?: boolean;
};

export async function openDatabase(
  options: DatabaseOptions,
  { warmUp = true }: OpenOptions = {},
): Promise<Database> {
  switch (options.kind) {
    case 'postgres':
      return openPostgres(options.url, options.poolSize ?? 10, warmUp);
    case 'pglite':
      return openPglite(options.dataDir, warmUp);
    case 'pglite-memory':
      return openPglite(undefined, warmUp);
    default: {
      const unknown: never = options;
      throw new Error(`Unknown database kind: ${JSON.stringify(unknown)}`);
    }
  }
}

/** Prisma's generated client, loaded on first use (see OpenOptions.warmUp). */
const loadPrismaClient = async () => (await import('./generated/prisma/client.ts')).PrismaClient;

/**
 * The client, made by `make` from Prisma's module. With warmUp, loaded and
 * connecting now, without waiting for the connect: it loads and compiles
 * Prisma's query compiler (WebAssembly), which otherwise happens on the
 * first query. A process then does it while it waits for its migrations,
 * not while its first request waits. A failure of the connect is left for
 * the first query to report.
 */
export async function prismaClient(
  make: (Client: typeof PrismaClient) => PrismaClient | Promise<PrismaClient>,
  warmUp: boolean,
): Promise<PrismaClient> {
  const { client, load } = lazyPrisma(async () => make(await loadPrismaClient()));
  if (warmUp) {
    // Made before the database is handed out: the stand-in then only forwards.
    const prisma = await load();
    prisma.$connect().catch(() => {});
  }
  return client;
}

async function openPostgres(url: string, poolSize: number, warmUp: boolean): Promise<Database> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client that loses its server must not crash the process; the
  // next query reports the problem instead.
  pool.on('error', () => {});
  // Prisma's driver adapter comes with its client: the pool serves `sql` without it.
  const prisma = await prismaClient(
    async (Client) =>
      new Client({ adapter: new (await import('@prisma/adapter-pg')).PrismaPg(pool) }),
    warmUp,
  );
  return {
    kind: 'postgres',
    prisma,
    sql: pgSession(pool),
    async migrate() {
      // The advisory lock is per connection, so one client holds it throughout.
      const client = await pool.connect();
      try {
        return await applyMigrations(pgSession(client), await readMigrations());
      } finally {
        client.release();
      }
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/**
 * PGlite's start parameters, with a smaller buffer cache: Postgres' default
 * 128MB of shared buffers are initialised inside WebAssembly on every start,
 * about half of PGlite's start-up time, and stay resident (WebAssembly
 * memory is never returned): 8MB instead of 32MB took ~25 MB off `pnpm
 * start`'s idle memory (issue 17, bench:idle-rss). 8MB (1024 pages) is
 * plenty for one developer's database; the operating system caches its
 * files as well.
 */
const PGLITE_EXTRA_START_PARAMS = ['-c', 'shared_buffers=8MB'];

async function openPglite(dataDir: string | undefined, warmUp: boolean): Promise<Database> {
  const [{ PGlite }, { PrismaPGlite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('pglite-prisma-adapter'),
  ]);
  const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, ...PGLITE_EXTRA_START_PARAMS];
  const unlock = dataDir ? await lockDataDir(dataDir) : async () => {};
  let db: PGlite;
  try {
    if (dataDir) {
      const pgdata = path.join(dataDir, 'pgdata');
      // A new data directory from the snapshot, written here (extractSnapshotInto);
      // should that fail, PGlite loads the snapshot itself.
      try {
        extractSnapshotInto(pgdata);
      } catch {}
      const snapshot = snapshotForNewDataDir(pgdata);
      db = new PGlite(pgdata, {
        startParams: PGLITE_START_PARAMS,
        ...(snapshot ? { loadDataDir: snapshot } : {}),
      });
    } else {
      const snapshot = pgliteSnapshot();
      db = new PGlite({
        startParams: PGLITE_START_PARAMS,
        ...(snapshot ? { loadDataDir: snapshot } : {}),
      });
    }
    await db.waitReady;
  } catch (error) {
    await unlock();
    throw error;
  }
  const driverAdapter = new PrismaPGlite(db);
  const prisma = await prismaClient((Client) => new Client({ adapter: driverAdapter }), warmUp);
  return {
    kind: dataDir ? 'pglite' : 'pglite-memory',
    prisma,
    driverAdapter,
    sql: pgliteSession(db),
    async migrate() {
      return applyMigrations(pgliteSession(db), await readMigrations());
    },
    async ping() {
      await db.query('SELECT 1');
    },
    async close() {
      await prisma.$disconnect();
      await db.close();
      await unlock();
    },
  };
}
