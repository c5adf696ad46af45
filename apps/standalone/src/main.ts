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

const starting = import('./standalone.ts').then(({ startStandalone }) =>
  startStandalone(config, logger, { thread }),
);
// Signals are ours from here on: one that comes during the start stops
// Hubstream cleanly once it is up. Installed after the start, a Ctrl-C or a
// SIGTERM in its last milliseconds (/ready already answering) took Node's
// default action: the process ended at once, without the clean stop.
stopOnSignals({
  logger,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  stop: async () => (await starting).stop(),
});

try {
  await starting;
} catch (error) {
  logger.fatal({ err: error }, `could not start: ${(error as Error).message}`);
  logger.flush();
  process.exitCode = 1;
  // Started here and never handed over (startStandalone stops what it was given on a failure).
  await thread.stop();
}
