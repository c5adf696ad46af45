import { loadConfigOrExit } from '@hubstream/config';
import { createLogger, stopOnSignals } from '@hubstream/service';

// `pnpm start`: the whole of Hubstream in one process (the control plane and
// the database in a thread of their own: standalone.ts).

const config = loadConfigOrExit();

const logger = createLogger({ level: config.LOG_LEVEL, name: 'hubstream' });

try {
  const { startStandalone } = await import('./standalone.ts');
  const standalone = await startStandalone(config, logger);
  stopOnSignals({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS, stop: standalone.stop });
} catch (error) {
  logger.fatal({ err: error }, `could not start: ${(error as Error).message}`);
  logger.flush();
  process.exitCode = 1;
}
