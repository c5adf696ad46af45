import { loadConfigOrExit } from '@hubstream/config';
import { databaseOptionsFor, openDatabase } from '@hubstream/db';
import { createLogger, stopOnSignals } from '@hubstream/service';

// `pnpm start`: the whole of Hubstream in one process.

const config = loadConfigOrExit();

const logger = createLogger({ level: config.LOG_LEVEL, name: 'hubstream' });

// The database starts opening first, and the servers' modules (most of a
// start's module loading) load while it waits on its files and compiles its
// WebAssembly, instead of one after the other. Prisma's query compiler
// (another ~0.25 s of CPU, and nothing before ready queries through Prisma)
// is loaded once the servers listen, below.
const database = openDatabase(databaseOptionsFor(config), { warmUp: false });
// Until startStandalone owns it: a failure to load is reported below, not unhandled.
database.catch(() => {});

// Once handed to startStandalone, the database is its to close on a failure.
let handedOver = false;
try {
  const { startStandalone } = await import('./standalone.ts');
  handedOver = true;
  const standalone = await startStandalone(config, logger, { database });
  stopOnSignals({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS, stop: standalone.stop });
  // The dashboard's first sign-in needs it. A failure is left for that query to report.
  (await database).prisma.$connect().catch(() => {});
} catch (error) {
  logger.fatal({ err: error }, `could not start: ${(error as Error).message}`);
  if (!handedOver) await database.then((db) => db.close()).catch(() => {});
  logger.flush();
  process.exitCode = 1;
}
