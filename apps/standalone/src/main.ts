import { loadConfigOrExit } from '@hubstream/config';
import { createLogger, stopOnSignals } from '@hubstream/service';
import { startControlPlaneThread } from './thread.ts';

// `pnpm start`: the whole of Hubstream in one process (the control plane,
// the database and the jobs in a thread of their own: standalone.ts).

const config = loadConfigOrExit();

const logger = createLogger({ level: config.LOG_LEVEL, name: 'hubstream' });

// The control plane's thread starts first: it loads its modules and opens
// the database on the other core while this thread loads the realtime
// node's (most of a start), instead of one after the other.
const thread = startControlPlaneThread(config, logger, { openAtOnce: true });

try {
  const { startStandalone } = await import('./standalone.ts');
  const standalone = await startStandalone(config, logger, { thread });
  stopOnSignals({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS, stop: standalone.stop });
} catch (error) {
  logger.fatal({ err: error }, `could not start: ${(error as Error).message}`);
  logger.flush();
  process.exitCode = 1;
  // Started here and never handed over (startStandalone stops what it was given on a failure).
  await thread.stop();
}
